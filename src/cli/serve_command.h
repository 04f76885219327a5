#pragma once

// `freshet serve --config FILE`: runs the PostgreSQL-wire SQL gateway (no pipelines) until
// SIGINT or SIGTERM, then stops it gracefully. `freshet passwd`: prints a SCRAM-SHA-256
// verifier for a password read from stdin (or --password-file), for `server.pgwire.users`.

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct ServeArgs {
  std::string config_file;
};

struct PasswdArgs {
  std::optional<std::string> password_file;
  int iterations = 4096;
};

CLI::App* AddServeCommand(CLI::App& app, ServeArgs& args);
int RunServe(const ServeArgs& args);

CLI::App* AddPasswdCommand(CLI::App& app, PasswdArgs& args);
int RunPasswd(const PasswdArgs& args);

}  // namespace freshet::cli
