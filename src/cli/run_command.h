#pragma once

// `freshet run --config FILE`: runs every pipeline of the configuration in the foreground, with
// the HTTP server (/metrics, /healthz, /readyz; server.http, default 127.0.0.1:8080) and the
// SQL gateway when server.pgwire is set. SIGTERM and SIGINT flush every pipeline and exit.
//
// `freshet status --config FILE [--json]`: what the lake, the watermark log and the slots say
// about each pipeline, without running it.
//
// `freshet resnapshot --config FILE [--pipeline NAME] TABLE...`: asks the pipeline to copy the
// tables anew (pipeline/resnapshot.h); the running `freshet run` serves the request within a
// second or two, a stopped one when it starts.

#include <string>
#include <vector>

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

struct ResnapshotArgs {
  std::string config_file;
  std::string pipeline;  // empty: the one pipeline whose tables include each table
  std::vector<std::string> tables;
};

CLI::App* AddResnapshotCommand(CLI::App& app, ResnapshotArgs& args);
int RunResnapshot(const ResnapshotArgs& args);

}  // namespace freshet::cli
