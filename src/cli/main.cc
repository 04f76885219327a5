// freshet: change-data-capture lakehouse in one binary. This file parses the command line,
// sets up logging and dispatches to a subcommand; each subcommand lives in its own file.

#include <cstdio>
#include <exception>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/doctor_command.h"
#include "cli/generate_command.h"
#include "cli/init_command.h"
#include "cli/run_command.h"
#include "cli/serve_command.h"
#include "cli/sink_command.h"
#include "cli/table_command.h"
#include "common/logging.h"
#include "engine/database.h"
#include "pg/connection.h"

namespace {

std::string VersionText() {
  return fmt::format("freshet {} (DuckDB {}, libpq {})", FRESHET_VERSION,
                     freshet::engine::DuckDbVersion(), freshet::pg::LibpqVersion());
}

int Run(int argc, char** argv) {
  CLI::App app{
      "freshet: change data capture from PostgreSQL into Delta Lake tables, in one "
      "binary"};
  app.set_version_flag("--version", VersionText());

  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json (one JSON object per line)")
      ->capture_default_str();

  freshet::cli::SinkArgs sink_args;
  CLI::App* sink = freshet::cli::AddSinkCommand(app, sink_args);
  freshet::cli::DoctorArgs doctor_args;
  CLI::App* doctor = freshet::cli::AddDoctorCommand(app, doctor_args);
  freshet::cli::GenerateArgs generate_args;
  CLI::App* generate = freshet::cli::AddGenerateCommand(app, generate_args);
  freshet::cli::InitArgs init_args;
  CLI::App* init = freshet::cli::AddInitCommand(app, init_args);
  std::string validate_config;
  CLI::App* validate = freshet::cli::AddValidateCommand(app, validate_config);
  freshet::cli::TableArgs table_args;
  CLI::App* table = freshet::cli::AddTableCommand(app, table_args);
  freshet::cli::ServeArgs serve_args;
  CLI::App* serve = freshet::cli::AddServeCommand(app, serve_args);
  freshet::cli::RunArgs run_args;
  CLI::App* run = freshet::cli::AddRunCommand(app, run_args);
  freshet::cli::StatusArgs status_args;
  CLI::App* status = freshet::cli::AddStatusCommand(app, status_args);
  freshet::cli::ResnapshotArgs resnapshot_args;
  CLI::App* resnapshot = freshet::cli::AddResnapshotCommand(app, resnapshot_args);
  freshet::cli::PasswdArgs passwd_args;
  CLI::App* passwd = freshet::cli::AddPasswdCommand(app, passwd_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto level = freshet::ParseLogLevel(log_level);
  auto format = freshet::ParseLogFormat(log_format);
  if (!level.ok() || !format.ok()) {
    fmt::print(stderr, "freshet: {}\n", (!level.ok() ? level.status() : format.status()).message());
    return 2;
  }
  freshet::ConfigureLogging({*level, *format});

  if (sink->parsed()) return freshet::cli::RunSink(*sink, sink_args);
  if (doctor->parsed()) return freshet::cli::RunDoctor(doctor_args);
  if (generate->parsed()) return freshet::cli::RunGenerate(generate_args);
  if (init->parsed()) return freshet::cli::RunInit(init_args);
  if (validate->parsed()) return freshet::cli::RunValidate(validate_config);
  if (table->parsed()) return freshet::cli::RunTable(*table, table_args);
  if (serve->parsed()) return freshet::cli::RunServe(serve_args);
  if (run->parsed()) return freshet::cli::RunRun(run_args);
  if (status->parsed()) return freshet::cli::RunStatus(status_args);
  if (resnapshot->parsed()) return freshet::cli::RunResnapshot(resnapshot_args);
  if (passwd->parsed()) return freshet::cli::RunPasswd(passwd_args);
  fmt::print(stderr, "{}", app.help());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // freshet code returns Status values; this is the one last-resort handler for exceptions
  // escaping third-party code, so that even a bug ends in one readable line.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "freshet: internal error: %s\n", e.what());
    return 70;
  }
}
