#pragma once

// freshet.yaml as a whole: the top-level sections, each parsed by the domain that owns it.
//
//   log:       {level: info, format: text}
//   pipelines: [...]            see pipeline/pipeline_config.h (each may hold `sinks:`, see
//                               sink/sink_config.h)
//   server:    {http: 127.0.0.1:8080, pgwire: {...}}   see server/pgwire/config.h
//
// Unknown keys at any level are errors naming the file and line.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/logging.h"
#include "pipeline/pipeline_config.h"
#include "server/pgwire/config.h"
#include "sink/sink_config.h"

namespace freshet::cli {

struct ServerConfig {
  // HTTP API, /metrics, /healthz; `freshet run` listens on 127.0.0.1:8080 when unset.
  std::optional<std::string> http_listen;
  std::optional<server::pgwire::PgwireConfig> pgwire;  // the SQL gateway, when configured
};

struct AppConfig {
  LogOptions log;
  std::vector<pipeline::PipelineConfig> pipelines;
  // Each pipeline's `sinks:` list, by pipeline name (absent: no sinks).
  std::map<std::string, std::vector<sink::PostgresSinkConfig>> sinks;
  ServerConfig server;
};

// `base_dir` resolves relative paths in the file (TLS certificates, table files).
Result<AppConfig> ParseAppConfig(const ConfigNode& root, const std::filesystem::path& base_dir);
Result<AppConfig> LoadAppConfig(const std::filesystem::path& path);

// The commented example that `freshet init` writes.
std::string_view ExampleConfig();

}  // namespace freshet::cli
