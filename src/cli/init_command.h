#pragma once

// `freshet init` writes a commented example freshet.yaml; `freshet validate` checks one.

#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct InitArgs {
  std::string output = "freshet.yaml";
  bool force = false;
};

CLI::App* AddInitCommand(CLI::App& app, InitArgs& args);
int RunInit(const InitArgs& args);

CLI::App* AddValidateCommand(CLI::App& app, std::string& config_path);
int RunValidate(const std::string& config_path);

}  // namespace freshet::cli
