#pragma once

// Logging setup. freshet logs through spdlog's default logger, to stderr; only cli/ calls
// ConfigureLogging, once at start, before other threads exist. Domain code logs with
// spdlog::info(...) and friends and never configures sinks itself.
//
// Text format:  2026-11-21T18:42:11.123Z info  slot freshet_shop created at 0/1A2B3C
// JSON format:  {"ts":"2026-11-21T18:42:11.123Z","level":"info","msg":"slot freshet_shop ..."}
// one object per line, for log shippers.

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

#include "common/result.h"

namespace freshet {

enum class LogFormat { kText, kJson };

struct LogOptions {
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::kText;
};

// "trace", "debug", "info", "warn", "error", "off"; InvalidArgument naming the choices.
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text);
// "text" or "json".
Result<LogFormat> ParseLogFormat(std::string_view text);

// Makes the default logger write to stderr at `options.level` in `options.format`.
void ConfigureLogging(const LogOptions& options);

// The formatter ConfigureLogging installs; exposed so tests can check lines on other sinks.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

}  // namespace freshet
