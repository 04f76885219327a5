#include "common/logging.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <nlohmann/json.hpp>

namespace freshet {
namespace {

// "2026-11-21T18:42:11.123Z": UTC with milliseconds, the form log shippers parse without help.
void AppendUtcTimestamp(spdlog::log_clock::time_point time, spdlog::memory_buf_t& out) {
  auto since_epoch = time.time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis.count());
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    dest.append(std::string_view(R"({"ts":")"));
    AppendUtcTimestamp(msg.time, dest);
    auto level = spdlog::level::to_string_view(msg.level);
    fmt::format_to(std::back_inserter(dest), R"(","level":"{}")",
                   std::string_view(level.data(), level.size()));
    if (msg.logger_name.size() > 0) {
      std::string name(msg.logger_name.data(), msg.logger_name.size());
      fmt::format_to(std::back_inserter(dest), R"(,"logger":{})", nlohmann::json(name).dump());
    }
    std::string text(msg.payload.data(), msg.payload.size());
    // Replace invalid UTF-8 rather than throw: a log line must never take the process down.
    std::string escaped =
        nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    fmt::format_to(std::back_inserter(dest), R"(,"msg":{}}})", escaped);
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

class UtcTimeFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/,
              spdlog::memory_buf_t& dest) override {
    AppendUtcTimestamp(msg.time, dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<UtcTimeFlag>();
  }
};

}  // namespace

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text) {
  for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                     spdlog::level::warn, spdlog::level::err, spdlog::level::off}) {
    auto name = spdlog::level::to_string_view(level);
    if (text == std::string_view(name.data(), name.size())) return level;
  }
  if (text == "error" || text == "err") return spdlog::level::err;
  if (text == "warning") return spdlog::level::warn;
  return Status::InvalidArgument(
      "unknown log level '{}'; use one of trace, debug, info, warn, error, off", text);
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return Status::InvalidArgument("unknown log format '{}'; use text or json", text);
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>();
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<UtcTimeFlag>('*').set_pattern("%* %-5l %v");
  return formatter;
}

void ConfigureLogging(const LogOptions& options) {
  auto logger =
      std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(MakeLogFormatter(options.format));
  logger->set_level(options.level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace freshet
