#include "cli/sink_command.h"

#include <chrono>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app_config.h"
#include "common/metrics.h"
#include "common/shutdown.h"
#include "lake/fs/file_system.h"
#include "sink/inspect.h"
#include "sink/postgres_sink.h"

namespace freshet::cli {
namespace {

struct SinkEntry {
  std::string pipeline;
  std::string lake_root;
  sink::PostgresSinkConfig config;
};

Result<std::vector<SinkEntry>> SelectSinks(const SinkArgs& args) {
  FRESHET_ASSIGN_OR_RETURN(AppConfig config, LoadAppConfig(args.config_file));
  std::vector<SinkEntry> out;
  bool pipeline_found = args.pipeline.empty();
  for (const auto& pipeline : config.pipelines) {
    if (!args.pipeline.empty() && pipeline.name != args.pipeline) continue;
    pipeline_found = true;
    auto sinks = config.sinks.find(pipeline.name);
    if (sinks == config.sinks.end()) continue;
    for (const auto& entry : sinks->second)
      out.push_back({pipeline.name, pipeline.lake.root, entry});
  }
  if (!pipeline_found) {
    return Status::NotFound("{} has no pipeline '{}'", args.config_file, args.pipeline);
  }
  if (out.empty()) {
    return Status::NotFound("{} has no sinks; add a sinks: list to a pipeline (see docs/sink.md)",
                            args.config_file);
  }
  return out;
}

nlohmann::json ToJson(const sink::SinkStatus& status) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& table : status.tables) {
    tables.push_back(
        {{"lake_table", table.lake_table},
         {"destination", table.destination},
         {"mode", sink::SinkModeName(table.mode)},
         {"applied_version",
          table.applied_version ? nlohmann::json(*table.applied_version) : nlohmann::json(nullptr)},
         {"latest_version", table.latest_version},
         {"lag_versions", table.lag_versions},
         {"lag_seconds", table.lag_seconds},
         {"state", table.state},
         {"message", table.message}});
  }
  return {{"name", status.name},
          {"destination", status.destination},
          {"connected", status.connected},
          {"last_error", status.last_error},
          {"tables", tables}};
}

int RunStatus(const SinkArgs& args, const std::vector<SinkEntry>& sinks) {
  lake::LocalFileSystem fs;
  nlohmann::json all = nlohmann::json::array();
  int exit_code = 0;
  for (const auto& entry : sinks) {
    auto status = sink::InspectSink(entry.config, fs, entry.lake_root);
    if (!status.ok()) {
      fmt::print(stderr, "freshet sink status: pipeline {}, sink {}: {}\n", entry.pipeline,
                 entry.config.name, status.status().message());
      exit_code = 1;
      continue;
    }
    if (args.json) {
      nlohmann::json item = ToJson(*status);
      item["pipeline"] = entry.pipeline;
      all.push_back(std::move(item));
    } else {
      fmt::print("pipeline {}: {}", entry.pipeline, sink::FormatSinkStatus(*status));
    }
  }
  if (args.json) fmt::print("{}\n", all.dump(2));
  return exit_code;
}

int RunOnce(const std::vector<SinkEntry>& sinks) {
  MetricsRegistry metrics;
  int exit_code = 0;
  for (const auto& entry : sinks) {
    auto worker =
        sink::PostgresSink::Create(entry.config, entry.lake_root, entry.pipeline, metrics);
    if (!worker.ok()) {
      fmt::print(stderr, "freshet sink run: {}\n", worker.status().message());
      return 1;
    }
    for (;;) {
      auto behind = (*worker)->RunPass();
      if (!behind.ok()) {
        fmt::print(stderr, "freshet sink run: sink {}: {}\n", entry.config.name,
                   behind.status().message());
        return 1;
      }
      if (!*behind) break;
    }
    sink::SinkStatus status = (*worker)->status();
    fmt::print("pipeline {}: {}", entry.pipeline, sink::FormatSinkStatus(status));
    for (const auto& table : status.tables) {
      if (table.state == "paused" || table.state == "error") exit_code = 1;
    }
  }
  return exit_code;
}

int RunForever(const std::vector<SinkEntry>& sinks) {
  auto shutdown = ShutdownSignal::Install();
  if (!shutdown.ok()) {
    fmt::print(stderr, "freshet sink run: {}\n", shutdown.status().message());
    return 1;
  }
  MetricsRegistry metrics;
  std::vector<std::unique_ptr<sink::PostgresSink>> workers;
  for (const auto& entry : sinks) {
    auto worker = sink::PostgresSink::Start(entry.config, entry.lake_root, entry.pipeline, metrics);
    if (!worker.ok()) {
      fmt::print(stderr, "freshet sink run: {}\n", worker.status().message());
      return 1;
    }
    workers.push_back(std::move(worker).value());
  }
  spdlog::info("freshet sink run: {} sink(s) started; Ctrl-C or SIGTERM stops", workers.size());
  (*shutdown)->WaitFor(std::chrono::hours(24 * 365 * 100));
  for (auto& worker : workers) worker->Stop();
  for (auto& worker : workers) fmt::print("{}", sink::FormatSinkStatus(worker->status()));
  return 0;
}

}  // namespace

CLI::App* AddSinkCommand(CLI::App& app, SinkArgs& args) {
  CLI::App* command = app.add_subcommand(
      "sink", "Run the destination sinks of freshet.yaml, or show how far they are");
  command->require_subcommand(1);
  CLI::App* run = command->add_subcommand("run", "Apply the lake tables to the destinations");
  run->add_option("--config", args.config_file, "YAML configuration file")->required();
  run->add_option("--pipeline", args.pipeline, "only this pipeline's sinks");
  run->add_flag("--once", args.once, "apply until caught up, print the status and exit");
  CLI::App* status = command->add_subcommand(
      "status", "Each sink table's applied and latest lake version (from the destination)");
  status->add_option("--config", args.config_file, "YAML configuration file")->required();
  status->add_option("--pipeline", args.pipeline, "only this pipeline's sinks");
  status->add_flag("--json", args.json, "print JSON");
  return command;
}

int RunSink(CLI::App& command, const SinkArgs& args) {
  auto sinks = SelectSinks(args);
  if (!sinks.ok()) {
    fmt::print(stderr, "freshet sink: {}\n", sinks.status().message());
    return 1;
  }
  if (command.got_subcommand("status")) return RunStatus(args, *sinks);
  return args.once ? RunOnce(*sinks) : RunForever(*sinks);
}

}  // namespace freshet::cli
