#include "cli/generate_command.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/password.h"
#include "common/shutdown.h"
#include "workload/generator.h"

namespace freshet::cli {

CLI::App* AddGenerateCommand(CLI::App& app, GenerateArgs& args) {
  CLI::App* generate = app.add_subcommand(
      "generate", "Run an OLTP-like workload (customers, products, orders) against PostgreSQL");
  generate->add_option("--dsn", args.dsn, "PostgreSQL connection string")->required();
  generate->add_option("--password-file", args.password_file, "read the password from this file");
  generate->add_option("--rate", args.rate, "row changes per second (0: as fast as possible)")
      ->capture_default_str();
  generate->add_option("--duration", args.duration_seconds, "seconds to run (0: until Ctrl-C)")
      ->capture_default_str();
  generate->add_option("--max-changes", args.max_changes, "stop after this many row changes");
  generate->add_option("--seed", args.seed, "random seed (same seed, same data)")
      ->capture_default_str();
  generate->add_option("--scale", args.scale, "seed 1000 customers and 200 products per unit")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  generate->add_flag("--no-schema", args.no_schema, "do not create or seed the tables");
  return generate;
}

int RunGenerate(const GenerateArgs& args) {
  auto password = ReadPassword(args.password_file);
  if (!password.ok()) {
    fmt::print(stderr, "freshet generate: {}\n", password.status().message());
    return 2;
  }
  auto shutdown = ShutdownSignal::Install();
  if (!shutdown.ok()) {
    fmt::print(stderr, "freshet generate: {}\n", shutdown.status().message());
    return 1;
  }
  workload::GeneratorOptions options;
  options.connection.dsn = args.dsn;
  options.connection.password = *password;
  options.connection.application_name = "freshet generate";
  options.changes_per_second = args.rate;
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(args.duration_seconds * 1000));
  options.max_changes = args.max_changes;
  options.seed = args.seed;
  options.scale = args.scale;
  options.create_schema = !args.no_schema;
  auto report = [](std::string_view prefix, const workload::GeneratorStats& stats) {
    double seconds = std::max(0.001, static_cast<double>(stats.elapsed.count()) / 1000.0);
    fmt::print(stderr,
               "{} {} changes in {:.1f} s ({:.0f}/s): {} inserts, {} updates, {} deletes, "
               "{} transactions\n",
               prefix, stats.changes(), seconds, static_cast<double>(stats.changes()) / seconds,
               stats.inserts, stats.updates, stats.deletes, stats.transactions);
  };
  auto stats = workload::RunGenerator(
      options, [&] { return (*shutdown)->Requested(); },
      [&](const workload::GeneratorStats& s) { report("generate:", s); });
  if (!stats.ok()) {
    fmt::print(stderr, "freshet generate: {}\n", stats.status().message());
    return 1;
  }
  report("generate: done,", *stats);
  return 0;
}

}  // namespace freshet::cli
