#pragma once

// freshet.yaml as a whole: the top-level sections, each parsed by the domain that owns it.
//
//   log:       {level: info, format: text}
//   pipelines: [...]            see pipeline/pipeline_config.h
//   server:    {http: 127.0.0.1:8080}
//
// Unknown keys at any level are errors naming the file and line.

#include <filesystem>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/logging.h"
#include "pipeline/pipeline_config.h"

namespace freshet::cli {

struct ServerConfig {
  std::string http_listen = "127.0.0.1:8080";  // HTTP API, /metrics, /healthz
};

struct AppConfig {
  LogOptions log;
  std::vector<pipeline::PipelineConfig> pipelines;
  ServerConfig server;
};

Result<AppConfig> ParseAppConfig(const ConfigNode& root);
Result<AppConfig> LoadAppConfig(const std::filesystem::path& path);

// The commented example that `freshet init` writes.
std::string_view ExampleConfig();

}  // namespace freshet::cli
