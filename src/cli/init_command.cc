#include "cli/init_command.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/app_config.h"

namespace freshet::cli {

CLI::App* AddInitCommand(CLI::App& app, InitArgs& args) {
  CLI::App* init = app.add_subcommand("init", "Write a commented example configuration file");
  init->add_option("-o,--output", args.output, "where to write it")->capture_default_str();
  init->add_flag("--force", args.force, "overwrite an existing file");
  return init;
}

CLI::App* AddValidateCommand(CLI::App& app, std::string& config_path) {
  CLI::App* validate =
      app.add_subcommand("validate", "Check a configuration file without connecting anywhere");
  validate->add_option("--config", config_path, "the configuration file")->required();
  return validate;
}

int RunValidate(const std::string& config_path) {
  auto config = LoadAppConfig(config_path);
  if (!config.ok()) {
    fmt::print(stderr, "freshet validate: {}\n", config.status().message());
    return 1;
  }
  fmt::print("{}: valid; {} pipeline(s)\n", config_path, config->pipelines.size());
  for (const auto& pipeline : config->pipelines) {
    fmt::print("  {}: slot {}, publication {}, {} table pattern(s), snapshot {}, lake {}\n",
               pipeline.name, pipeline.source.slot, pipeline.source.publication,
               pipeline.source.tables.size(), pipeline::SnapshotModeName(pipeline.source.snapshot),
               pipeline.lake.root);
  }
  return 0;
}

int RunInit(const InitArgs& args) {
  if (args.output == "-") {
    fmt::print("{}", ExampleConfig());
    return 0;
  }
  std::error_code ec;
  if (std::filesystem::exists(args.output, ec) && !args.force) {
    fmt::print(stderr, "freshet init: {} exists; pass --force to overwrite it\n", args.output);
    return 1;
  }
  std::ofstream out(args.output, std::ios::trunc);
  out << ExampleConfig();
  out.close();
  if (!out) {
    fmt::print(stderr, "freshet init: cannot write {}\n", args.output);
    return 1;
  }
  fmt::print(
      "wrote {0}; edit the DSN, then check it with: freshet validate --config {0}; "
      "and the server with: freshet doctor --dsn ...\n",
      args.output);
  return 0;
}

}  // namespace freshet::cli
