#pragma once

// `freshet doctor`: checks a PostgreSQL server for change capture and prints one line per
// check. Exit code 0 when nothing would stop capture, 1 otherwise.

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct DoctorArgs {
  std::string dsn;
  std::optional<std::string> publication;
  std::optional<std::string> password_file;
  std::string slot_prefix = "freshet";
  int connect_timeout_seconds = 10;
  bool json = false;
};

// Adds the `doctor` subcommand to `app`; `args` receives its options and must outlive `app`.
CLI::App* AddDoctorCommand(CLI::App& app, DoctorArgs& args);

int RunDoctor(const DoctorArgs& args);

}  // namespace freshet::cli
