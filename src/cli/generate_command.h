#pragma once

// `freshet generate`: an OLTP-like workload against a PostgreSQL database (workload/).

#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct GenerateArgs {
  std::string dsn;
  std::optional<std::string> password_file;
  double rate = 1000;
  double duration_seconds = 10;
  uint64_t max_changes = 0;
  uint64_t seed = 42;
  int scale = 1;
  bool no_schema = false;
};

CLI::App* AddGenerateCommand(CLI::App& app, GenerateArgs& args);
int RunGenerate(const GenerateArgs& args);

}  // namespace freshet::cli
