#include "cli/run_command.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/app_config.h"
#include "cli/password.h"
#include "cli/serve_command.h"
#include "common/metrics.h"
#include "common/shutdown.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"
#include "pg/connection.h"
#include "pg/preflight.h"
#include "pg/replication_setup.h"
#include "pipeline/pipeline.h"
#include "pipeline/resnapshot.h"
#include "server/http/http_server.h"
#include "server/pgwire/server.h"
#include "server/table_catalog.h"
#include "sink/postgres_sink.h"

namespace freshet::cli {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDefaultHttp = "127.0.0.1:8080";

// The first problem `freshet doctor` would report for the pipeline's server, as one line with
// its fix; empty when there is none.
std::string PreflightProblem(const pipeline::PipelineConfig& config,
                             const std::optional<std::string>& password) {
  pg::PreflightOptions options;
  options.connection.dsn = config.source.dsn;
  options.connection.password = password;
  options.connection.application_name = "freshet run";
  options.slot_prefix = config.source.slot;
  pg::PreflightReport report = pg::RunPreflight(options);
  for (const pg::CheckResult& check : report.checks) {
    if (check.state != pg::CheckState::kProblem) continue;
    return fmt::format("{}: {}{}", check.name, check.message,
                       check.fix.empty() ? "" : "; fix: " + check.fix);
  }
  return "";
}

struct RunningPipeline {
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::thread thread;
  std::atomic<bool> done{false};
  Status status;
};

}  // namespace

CLI::App* AddRunCommand(CLI::App& app, RunArgs& args) {
  CLI::App* run = app.add_subcommand(
      "run", "Run the CDC pipelines of a configuration (PostgreSQL -> lake tables) until stopped");
  run->add_option("--config", args.config_file, "YAML configuration file")->required();
  return run;
}

int RunRun(const RunArgs& args) {
  auto app_config = LoadAppConfig(args.config_file);
  if (!app_config.ok()) {
    fmt::print(stderr, "freshet run: {}\n", app_config.status().message());
    return 2;
  }
  if (app_config->pipelines.empty()) {
    fmt::print(stderr,
               "freshet run: {} has no pipelines; add a `pipelines:` section (`freshet init` "
               "writes an example)\n",
               args.config_file);
    return 2;
  }
  std::vector<std::optional<std::string>> passwords;
  for (const pipeline::PipelineConfig& config : app_config->pipelines) {
    auto password = ReadPassword(config.source.password_file);
    if (!password.ok()) {
      fmt::print(stderr, "freshet run: pipeline {}: {}\n", config.name,
                 password.status().message());
      return 2;
    }
    passwords.push_back(*password);
    std::string problem = PreflightProblem(config, *password);
    if (!problem.empty()) {
      fmt::print(stderr, "freshet run: pipeline {}: {} (dsn {})\n", config.name, problem,
                 pg::RedactDsn(config.source.dsn));
      return 1;
    }
  }
  auto shutdown = ShutdownSignal::Install();
  if (!shutdown.ok()) {
    fmt::print(stderr, "freshet run: {}\n", shutdown.status().message());
    return 1;
  }

  MetricsRegistry metrics;
  std::vector<std::unique_ptr<RunningPipeline>> running;
  for (size_t index = 0; index < app_config->pipelines.size(); ++index) {
    auto entry = std::make_unique<RunningPipeline>();
    entry->pipeline = std::make_unique<pipeline::Pipeline>(
        app_config->pipelines[index],
        pipeline::PipelineRunOptions{.password = passwords[index], .metrics = &metrics});
    running.push_back(std::move(entry));
  }
  auto readiness = [&running]() -> std::string {
    for (const auto& entry : running) {
      pipeline::PipelineState state = entry->pipeline->state();
      if (state != pipeline::PipelineState::kStreaming) {
        return fmt::format("pipeline {} is {}", entry->pipeline->config().name,
                           pipeline::PipelineStateName(state));
      }
    }
    return "";
  };
  std::string listen = app_config->server.http_listen.value_or(kDefaultHttp);
  auto http = server::HttpServer::Start(listen, metrics, readiness);
  if (!http.ok()) {
    fmt::print(stderr, "freshet run: {}; fix: set server.http to a free host:port in {}\n",
               http.status().message(), args.config_file);
    return 1;
  }
  spdlog::info("freshet run: HTTP on {} (/metrics, /healthz, /readyz)", listen);
  // The gateway serves the lake tables the pipelines write (and any configured Parquet files).
  lake::LocalFileSystem gateway_fs;
  std::unique_ptr<server::LakeTableCatalog> catalog;
  std::unique_ptr<server::pgwire::PgwireServer> gateway;
  if (app_config->server.pgwire) {
    auto opened = OpenGatewayCatalog(*app_config, gateway_fs);
    if (!opened.ok()) {
      fmt::print(stderr, "freshet run: {}\n", opened.status().message());
      return 1;
    }
    catalog = std::move(opened).value();
    auto started =
        server::pgwire::PgwireServer::Start(app_config->server.pgwire->options, *catalog);
    if (!started.ok()) {
      fmt::print(stderr, "freshet run: {}\n", started.status().message());
      return 1;
    }
    gateway = std::move(started).value();
    spdlog::info("freshet run: SQL gateway on {}:{}", app_config->server.pgwire->options.host,
                 gateway->port());
  }

  std::atomic<bool> stop{false};
  for (auto& entry : running) {
    RunningPipeline* raw = entry.get();
    raw->thread = std::thread([raw, &stop] {
      raw->status = raw->pipeline->Run([&stop] { return stop.load(); });
      raw->done = true;
    });
  }
  // One sink worker per sinks: entry; they only read committed lake versions.
  std::vector<std::unique_ptr<sink::PostgresSink>> sinks;
  for (const auto& config : app_config->pipelines) {
    auto entries = app_config->sinks.find(config.name);
    if (entries == app_config->sinks.end()) continue;
    for (const auto& entry : entries->second) {
      auto started = sink::PostgresSink::Start(entry, config.lake.root, config.name, metrics);
      if (!started.ok()) {
        spdlog::error("freshet run: pipeline {}: {}", config.name, started.status().message());
        continue;
      }
      sinks.push_back(std::move(started).value());
    }
  }
  spdlog::info("freshet run: {} pipeline(s) started; Ctrl-C or SIGTERM stops", running.size());

  int exit_code = 0;
  for (;;) {
    bool requested = (*shutdown)->WaitFor(100ms);
    bool failed = false;
    bool all_done = true;
    for (const auto& entry : running) {
      if (entry->done && !entry->status.ok()) failed = true;
      if (!entry->done) all_done = false;
    }
    if (requested || failed || all_done) {
      if (requested) spdlog::info("freshet run: stopping: flushing every pipeline");
      if (failed) exit_code = 1;
      break;
    }
  }
  stop = true;
  for (auto& entry : running) {
    entry->thread.join();
    if (!entry->status.ok() && !entry->status.Is(Code::kCancelled)) {
      fmt::print(stderr, "freshet run: pipeline {}: {}\n", entry->pipeline->config().name,
                 entry->status.message());
      exit_code = 1;
    }
  }
  for (auto& worker : sinks) worker->Stop();
  if (gateway) gateway->Stop();
  (*http)->Stop();
  spdlog::info("freshet run: stopped");
  return exit_code;
}

CLI::App* AddStatusCommand(CLI::App& app, StatusArgs& args) {
  CLI::App* status = app.add_subcommand(
      "status", "Show each pipeline's state: slot lag, and per table the last commit and rows");
  status->add_option("--config", args.config_file, "YAML configuration file")->required();
  status->add_flag("--json", args.json, "print JSON");
  return status;
}

namespace {

// The newest watermark file of `pipeline` in the lake root, parsed; null when there is none.
nlohmann::json LatestWatermark(lake::FileSystem& fs, const std::string& root,
                               const std::string& pipeline) {
  auto files = fs.ListNames(pipeline::WatermarkFolder(root));
  if (!files.ok()) return nullptr;
  for (auto file = files->rbegin(); file != files->rend(); ++file) {
    auto text = fs.Get(file->path);
    if (!text.ok()) continue;
    auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_object() && json.value("pipeline", "") == pipeline) return json;
  }
  return nullptr;
}

nlohmann::json PipelineStatus(const pipeline::PipelineConfig& config,
                              const std::optional<std::string>& password,
                              engine::Connection& engine) {
  nlohmann::json out{
      {"name", config.name}, {"slot", config.source.slot}, {"lake_root", config.lake.root}};
  lake::LocalFileSystem fs;
  auto state = fs.Get(pipeline::SnapshotStatePath(config.lake.root, config.name));
  bool snapshot_complete = false;
  if (state.ok()) {
    auto json = nlohmann::json::parse(*state, nullptr, false);
    snapshot_complete = json.is_object() && json.value("complete", false);
  }
  out["snapshot"] = !state.ok() ? "not started" : snapshot_complete ? "complete" : "in progress";
  auto sql = pg::Connection::Open({.dsn = config.source.dsn,
                                   .password = password,
                                   .application_name = "freshet status",
                                   .connect_timeout = std::chrono::seconds(5)});
  std::string pipeline_state = "unknown";
  if (!sql.ok()) {
    out["source_error"] = sql.status().message();
  } else {
    auto slot = pg::GetSlot(*sql, config.source.slot);
    if (slot.ok()) {
      pipeline_state =
          slot->active ? (snapshot_complete ? "streaming" : "snapshotting") : "stopped";
      out["slot_confirmed_lsn"] = slot->confirmed_flush_lsn.ToString();
      out["slot_active"] = slot->active;
      auto lag = sql->Query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint",
                            {slot->confirmed_flush_lsn.ToString()});
      if (lag.ok()) out["slot_lag_bytes"] = *lag->GetInt(0, 0);
    } else {
      pipeline_state = "not created";
    }
  }
  out["state"] = pipeline_state;
  nlohmann::json watermark = LatestWatermark(fs, config.lake.root, config.name);
  nlohmann::json tables = nlohmann::json::array();
  if (watermark.is_object()) {
    out["watermark_lsn"] = watermark["lsn"];
    for (const auto& [name, version] : watermark["tables"].items()) {
      size_t dot = name.find('.');
      std::string path =
          pipeline::TablePath(config.lake.root, name.substr(0, dot), name.substr(dot + 1));
      nlohmann::json table{{"table", name}, {"path", path}};
      auto snapshot = lake::Snapshot::Load(fs, engine, path);
      if (!snapshot.ok()) {
        table["error"] = snapshot.status().message();
      } else {
        int64_t rows = 0;
        for (const lake::AddFile& file : snapshot->files()) {
          rows += file.NumRecords().value_or(0) -
                  (file.deletion_vector ? file.deletion_vector->cardinality : 0);
        }
        table["version"] = snapshot->version();
        table["rows"] = rows;
        table["last_commit_ms"] = snapshot->timestamp_ms();
        table["freshness_seconds"] = (std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count() -
                                      snapshot->timestamp_ms()) /
                                     1000.0;
        auto lsn = snapshot->AppVersion(config.AppId());
        table["lsn"] = Lsn(static_cast<uint64_t>(lsn.value_or(0))).ToString();
      }
      tables.push_back(table);
    }
  }
  out["tables"] = tables;
  nlohmann::json backfill = nlohmann::json::array();
  if (auto text = fs.Get(pipeline::BackfillStatePath(config.lake.root, config.name)); text.ok()) {
    auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_object() && json["tables"].is_array()) backfill = json["tables"];
  }
  out["backfill"] = backfill;
  auto requested = pipeline::PendingResnapshots(fs, config.lake.root, config.name);
  out["resnapshot_requests"] = requested.ok() ? *requested : std::vector<std::string>{};
  return out;
}

}  // namespace

int RunStatus(const StatusArgs& args) {
  auto app_config = LoadAppConfig(args.config_file);
  if (!app_config.ok()) {
    fmt::print(stderr, "freshet status: {}\n", app_config.status().message());
    return 2;
  }
  auto database = engine::Database::Open("", {.threads = 1});
  if (!database.ok()) {
    fmt::print(stderr, "freshet status: {}\n", database.status().message());
    return 1;
  }
  auto engine = database->Connect();
  if (!engine.ok()) {
    fmt::print(stderr, "freshet status: {}\n", engine.status().message());
    return 1;
  }
  nlohmann::json all = nlohmann::json::array();
  for (const pipeline::PipelineConfig& config : app_config->pipelines) {
    auto password = ReadPassword(config.source.password_file);
    all.push_back(PipelineStatus(config, password.ok() ? *password : std::nullopt, *engine));
  }
  if (args.json) {
    fmt::print("{}\n", nlohmann::json{{"pipelines", all}}.dump(2));
    return 0;
  }
  for (const auto& p : all) {
    fmt::print("pipeline {}: {} (snapshot {}), slot {}", p["name"].get<std::string>(),
               p["state"].get<std::string>(), p["snapshot"].get<std::string>(),
               p["slot"].get<std::string>());
    if (p.contains("slot_lag_bytes")) {
      fmt::print(" at {}, lag {}", p["slot_confirmed_lsn"].get<std::string>(),
                 pg::FormatBytes(p["slot_lag_bytes"].get<int64_t>()));
    }
    if (p.contains("source_error")) {
      fmt::print(" (source unreachable: {})", p["source_error"].get<std::string>());
    }
    fmt::print("\n");
    if (p["tables"].empty())
      fmt::print("  no lake commits yet under {}\n", p["lake_root"].get<std::string>());
    for (const auto& t : p["tables"]) {
      if (t.contains("error")) {
        fmt::print("  {:<28} {}\n", t["table"].get<std::string>(), t["error"].get<std::string>());
        continue;
      }
      fmt::print("  {:<28} version {:>6}  lsn {:>12}  rows {:>10}  last commit {:.1f}s ago\n",
                 t["table"].get<std::string>(), t["version"].get<int64_t>(),
                 t["lsn"].get<std::string>(), t["rows"].get<int64_t>(),
                 t["freshness_seconds"].get<double>());
    }
    auto list = [](const nlohmann::json& names) {
      std::vector<std::string> out;
      for (const auto& name : names) out.push_back(name.get<std::string>());
      return fmt::format("{}", fmt::join(out, ", "));
    };
    if (!p["backfill"].empty()) fmt::print("  rows being copied: {}\n", list(p["backfill"]));
    if (!p["resnapshot_requests"].empty()) {
      fmt::print("  re-snapshot requested: {}\n", list(p["resnapshot_requests"]));
    }
  }
  return 0;
}

CLI::App* AddResnapshotCommand(CLI::App& app, ResnapshotArgs& args) {
  CLI::App* command = app.add_subcommand(
      "resnapshot",
      "Copy tables anew from the source while the others stream (resumes a paused table)");
  command->add_option("--config", args.config_file, "YAML configuration file")->required();
  command->add_option("--pipeline", args.pipeline,
                      "the pipeline (default: the one whose tables include each table)");
  command->add_option("tables", args.tables, "schema.table ...")->required();
  return command;
}

int RunResnapshot(const ResnapshotArgs& args) {
  auto app_config = LoadAppConfig(args.config_file);
  if (!app_config.ok()) {
    fmt::print(stderr, "freshet resnapshot: {}\n", app_config.status().message());
    return 2;
  }
  lake::LocalFileSystem fs;
  for (const std::string& table : args.tables) {
    std::vector<const pipeline::PipelineConfig*> matching;
    for (const pipeline::PipelineConfig& config : app_config->pipelines) {
      if ((args.pipeline.empty() || config.name == args.pipeline) && config.Includes(table)) {
        matching.push_back(&config);
      }
    }
    if (matching.size() != 1) {
      std::vector<std::string> names;
      for (const auto* config : matching) names.push_back(config->name);
      fmt::print(stderr, "freshet resnapshot: {}\n",
                 matching.empty()
                     ? fmt::format("no pipeline{} of {} includes table {}; fix: give it as "
                                   "schema.table, as its source.postgres.tables patterns match",
                                   args.pipeline.empty() ? "" : " " + args.pipeline,
                                   args.config_file, table)
                     : fmt::format("table {} is in pipelines {}; choose one with --pipeline", table,
                                   fmt::join(names, ", ")));
      return 2;
    }
    const pipeline::PipelineConfig& config = *matching[0];
    Status requested = pipeline::RequestResnapshot(fs, config.lake.root, config.name, table);
    if (!requested.ok()) {
      fmt::print(stderr, "freshet resnapshot: {}\n", requested.message());
      return 1;
    }
    fmt::print(
        "re-snapshot of {} requested (pipeline {}): a running freshet run serves it within a "
        "second or two, a stopped one when it starts; freshet status shows it until then\n",
        table, config.name);
  }
  return 0;
}

}  // namespace freshet::cli
