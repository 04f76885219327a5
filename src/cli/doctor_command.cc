#include "cli/doctor_command.h"

#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/password.h"
#include "pg/preflight.h"

namespace freshet::cli {
namespace {

void PrintText(const pg::PreflightReport& report) {
  size_t name_width = 0;
  for (const auto& check : report.checks) name_width = std::max(name_width, check.name.size());
  for (const auto& check : report.checks) {
    std::string line = fmt::format("{:<4}  {:<{}}  {}", pg::CheckStateName(check.state), check.name,
                                   name_width, check.message);
    if (!check.fix.empty()) line += " -- fix: " + check.fix;
    fmt::print("{}\n", line);
  }
  if (report.checks.size() > 1) {
    size_t problems = 0;
    size_t warnings = 0;
    for (const auto& check : report.checks) {
      problems += check.state == pg::CheckState::kProblem ? 1 : 0;
      warnings += check.state == pg::CheckState::kWarning ? 1 : 0;
    }
    if (problems > 0) {
      fmt::print("{} problem(s) would stop change capture; fix them and run doctor again\n",
                 problems);
    } else {
      fmt::print("ready for change capture{}\n",
                 warnings > 0 ? fmt::format(" ({} warning(s) worth a look)", warnings) : "");
    }
  }
}

void PrintJson(const pg::PreflightReport& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& check : report.checks) {
    checks.push_back({{"name", check.name},
                      {"state", check.state == pg::CheckState::kOk        ? "ok"
                                : check.state == pg::CheckState::kWarning ? "warning"
                                                                          : "problem"},
                      {"message", check.message},
                      {"fix", check.fix}});
  }
  nlohmann::json out = {{"ready", !report.HasProblems()}, {"checks", checks}};
  fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

CLI::App* AddDoctorCommand(CLI::App& app, DoctorArgs& args) {
  CLI::App* doctor =
      app.add_subcommand("doctor", "Check that a PostgreSQL server is ready for change capture");
  doctor
      ->add_option("--dsn", args.dsn,
                   "PostgreSQL connection string, e.g. postgres://user@host:5432/db "
                   "(password: FRESHET_PASSWORD, --password-file, PGPASSWORD or ~/.pgpass)")
      ->required();
  doctor->add_option("--publication", args.publication,
                     "also check the tables of this publication for primary keys");
  doctor->add_option("--password-file", args.password_file, "read the password from this file");
  doctor->add_option("--slot-prefix", args.slot_prefix, "names of freshet's slots start with this")
      ->capture_default_str();
  doctor->add_option("--connect-timeout", args.connect_timeout_seconds, "seconds")
      ->capture_default_str();
  doctor->add_flag("--json", args.json, "print the checks as JSON");
  return doctor;
}

int RunDoctor(const DoctorArgs& args) {
  auto password = ReadPassword(args.password_file);
  if (!password.ok()) {
    fmt::print(stderr, "freshet doctor: {}\n", password.status().message());
    return 2;
  }
  pg::PreflightOptions options;
  options.connection.dsn = args.dsn;
  options.connection.password = *password;
  options.connection.application_name = "freshet doctor";
  options.connection.connect_timeout = std::chrono::seconds(args.connect_timeout_seconds);
  options.publication = args.publication;
  options.slot_prefix = args.slot_prefix;
  pg::PreflightReport report = pg::RunPreflight(options);
  if (args.json) {
    PrintJson(report);
  } else {
    PrintText(report);
  }
  return report.HasProblems() ? 1 : 0;
}

}  // namespace freshet::cli
