#pragma once

// `freshet run --config FILE`: runs every pipeline of the configuration in the foreground, with
// the HTTP server (/metrics, /healthz, /readyz; server.http, default 127.0.0.1:8080) and the
// SQL gateway when server.pgwire is set. SIGTERM and SIGINT flush every pipeline and exit.
//
// `freshet status --config FILE [--json]`: what the lake, the watermark log and the slots say
// about each pipeline, without running it.

#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct RunArgs {
  std::string config_file;
};

CLI::App* AddRunCommand(CLI::App& app, RunArgs& args);
int RunRun(const RunArgs& args);

struct StatusArgs {
  std::string config_file;
  bool json = false;
};

CLI::App* AddStatusCommand(CLI::App& app, StatusArgs& args);
int RunStatus(const StatusArgs& args);

}  // namespace freshet::cli
