#pragma once

// `freshet sink run` runs the destination sinks of freshet.yaml on their own (the lake is
// written elsewhere, e.g. by another `freshet run`); `--once` applies until caught up and
// exits. `freshet sink status` prints each sink table's applied and latest lake version, read
// from the destination's freshet_sink_offsets.

#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct SinkArgs {
  std::string config_file;
  std::string pipeline;  // empty: every pipeline with sinks
  bool once = false;
  bool json = false;
};

CLI::App* AddSinkCommand(CLI::App& app, SinkArgs& args);
int RunSink(CLI::App& command, const SinkArgs& args);

}  // namespace freshet::cli
