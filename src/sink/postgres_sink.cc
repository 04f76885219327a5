#include "sink/postgres_sink.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "engine/database.h"
#include "pg/connection.h"
#include "sink/destination.h"

namespace freshet::sink {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct PostgresSink::TableState {
  QualifiedName lake_name;
  std::optional<TableSync> sync;  // empty when the table cannot be synced at all
  SinkTableStatus status;
  Clock::time_point next_attempt{};
  std::chrono::milliseconds backoff{0};
  std::string last_logged;
  GaugeMetric* applied_version = nullptr;
  GaugeMetric* lag_versions = nullptr;
  GaugeMetric* lag_seconds = nullptr;
  GaugeMetric* rows_per_second = nullptr;
  GaugeMetric* paused = nullptr;
  CounterMetric* rows_total = nullptr;
  CounterMetric* transactions_total = nullptr;
};

struct PostgresSink::Worker {
  std::optional<engine::Database> database;
  std::optional<engine::Connection> duck;
  std::optional<pg::Connection> pg;
  std::map<std::string, TableState> tables;  // by lake schema.table
  std::set<std::string> destinations;
  CounterMetric* errors_total = nullptr;
  GaugeMetric* connected = nullptr;
  std::string last_logged_error;
};

PostgresSink::PostgresSink(PostgresSinkConfig config, std::string lake_root, std::string pipeline,
                           MetricsRegistry& metrics, SinkOptions options)
    : config_(std::move(config)),
      lake_root_(std::move(lake_root)),
      pipeline_(std::move(pipeline)),
      metrics_(metrics),
      options_(std::move(options)),
      worker_(std::make_unique<Worker>()) {}

PostgresSink::~PostgresSink() { Stop(); }

Result<std::unique_ptr<PostgresSink>> PostgresSink::Create(PostgresSinkConfig config,
                                                           std::string lake_root,
                                                           std::string pipeline,
                                                           MetricsRegistry& metrics,
                                                           SinkOptions options) {
  std::unique_ptr<PostgresSink> sink(new PostgresSink(
      std::move(config), std::move(lake_root), std::move(pipeline), metrics, std::move(options)));
  FRESHET_RETURN_IF_ERROR(sink->Init());
  return sink;
}

Result<std::unique_ptr<PostgresSink>> PostgresSink::Start(PostgresSinkConfig config,
                                                          std::string lake_root,
                                                          std::string pipeline,
                                                          MetricsRegistry& metrics,
                                                          SinkOptions options) {
  FRESHET_ASSIGN_OR_RETURN(auto sink, Create(std::move(config), std::move(lake_root),
                                             std::move(pipeline), metrics, std::move(options)));
  sink->thread_ = std::thread([raw = sink.get()] { raw->Run(); });
  return sink;
}

namespace {

// Batch files are named freshet-sink-<pid>-...; a worker killed mid-step leaves its file
// behind. Files of processes that no longer exist are removed at start.
void RemoveStaleBatchFiles(const std::string& temp_dir) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(temp_dir, error)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("freshet-sink-") || !name.ends_with(".csv")) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(name.c_str() + 13, nullptr, 10));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == -1 && errno == ESRCH) std::filesystem::remove(entry.path(), error);
  }
}

}  // namespace

Status PostgresSink::Init() {
  if (options_.temp_dir.empty()) options_.temp_dir = std::filesystem::temp_directory_path();
  RemoveStaleBatchFiles(options_.temp_dir);
  FRESHET_RETURN_IF_ERROR(pg::ValidateDsn(config_.dsn).WithContext("sink " + config_.name));
  FRESHET_ASSIGN_OR_RETURN(password_, SinkPassword(config_));
  if (options_.fs == nullptr) {
    owned_fs_ = std::make_unique<lake::LocalFileSystem>();
    fs_ = owned_fs_.get();
  } else {
    fs_ = options_.fs;
  }
  // A small DuckDB of its own: the sink must not take the cores the pipeline needs.
  FRESHET_ASSIGN_OR_RETURN(auto database,
                           engine::Database::Open("", engine::DatabaseOptions{.threads = 2}));
  worker_->database.emplace(std::move(database));
  FRESHET_ASSIGN_OR_RETURN(auto duck, worker_->database->Connect());
  worker_->duck.emplace(std::move(duck));
  MetricLabels labels = {{"pipeline", pipeline_}, {"sink", config_.name}};
  worker_->errors_total = &metrics_.Counter("freshet_sink_errors_total",
                                            "Failed sink steps and connection attempts", labels);
  worker_->connected = &metrics_.Gauge("freshet_sink_connected",
                                       "1 while the sink holds a destination connection", labels);
  std::lock_guard lock(status_mu_);
  status_.name = config_.name;
  status_.destination = pg::RedactDsn(config_.dsn);
  return Status::Ok();
}

void PostgresSink::Stop() {
  stopping_ = true;
  {
    std::lock_guard lock(wake_mu_);
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

SinkStatus PostgresSink::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

void PostgresSink::SleepFor(std::chrono::milliseconds duration) {
  std::unique_lock lock(wake_mu_);
  wake_.wait_for(lock, duration, [this] { return stopping_.load(); });
}

void PostgresSink::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (!stopping_) {
    Result<bool> behind = RunPass();
    if (!behind.ok()) {
      if (behind.status().ToString() != worker_->last_logged_error) {
        worker_->last_logged_error = behind.status().ToString();
        spdlog::warn("sink {}: {}; retrying in {} ms", config_.name, behind.status(),
                     backoff.count());
      }
      SleepFor(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    if (!worker_->last_logged_error.empty()) {
      spdlog::info("sink {}: destination reachable again", config_.name);
      worker_->last_logged_error.clear();
    }
    backoff = options_.min_backoff;
    if (!*behind) SleepFor(config_.poll_interval);
  }
}

Status PostgresSink::Connect() {
  pg::ConnectOptions options{.dsn = config_.dsn, .password = password_};
  options.application_name = "freshet-sink-" + config_.name;
  FRESHET_ASSIGN_OR_RETURN(pg::Connection connection, pg::Connection::Open(options));
  // CREATE ... IF NOT EXISTS notices are noise in freshet's log.
  FRESHET_RETURN_IF_ERROR(connection.Execute("SET client_min_messages = warning"));
  FRESHET_RETURN_IF_ERROR(EnsureOffsetsTable(connection));
  worker_->pg.emplace(std::move(connection));
  return Status::Ok();
}

Status PostgresSink::Discover() {
  auto schemas = fs_->ListNames(lake_root_);
  if (!schemas.ok()) {
    // No lake yet: the pipeline has not created a table.
    if (schemas.status().Is(Code::kNotFound)) return Status::Ok();
    return schemas.status();
  }
  for (const auto& schema : *schemas) {
    if (!schema.is_directory || schema.name.starts_with('_') || schema.name.starts_with('.')) {
      continue;
    }
    FRESHET_ASSIGN_OR_RETURN(auto tables, fs_->ListNames(schema.path));
    for (const auto& table : tables) {
      if (!table.is_directory) continue;
      QualifiedName lake_name{schema.name, table.name};
      std::string key = lake_name.ToString();
      if (worker_->tables.contains(key)) continue;
      const SinkTableConfig* entry = config_.EntryFor(key);
      if (entry == nullptr) continue;
      auto log = fs_->ListNames(table.path + "/_delta_log");
      if (!log.ok() || log->empty()) continue;  // not a table (yet)

      TableState state;
      state.lake_name = lake_name;
      state.status.lake_table = key;
      state.status.mode = entry->mode;
      state.status.state = "copying";
      MetricLabels labels = {{"pipeline", pipeline_}, {"sink", config_.name}, {"table", key}};
      state.applied_version = &metrics_.Gauge(
          "freshet_sink_applied_version", "Last lake version applied to the destination", labels);
      state.lag_versions =
          &metrics_.Gauge("freshet_sink_lag_versions", "Lake versions not yet applied", labels);
      state.lag_seconds = &metrics_.Gauge("freshet_sink_lag_seconds",
                                          "Age of the oldest lake commit not yet applied", labels);
      state.rows_per_second = &metrics_.Gauge("freshet_sink_rows_per_second",
                                              "Rows per second of the last transaction", labels);
      state.paused = &metrics_.Gauge("freshet_sink_paused",
                                     "1 while the table waits for a schema fix", labels);
      state.rows_total =
          &metrics_.Counter("freshet_sink_rows_total", "Rows copied to the destination", labels);
      state.transactions_total = &metrics_.Counter("freshet_sink_transactions_total",
                                                   "Destination transactions committed", labels);

      auto destination = DestinationName(entry->to, lake_name);
      if (!destination.ok()) {
        state.status.state = "paused";
        state.status.message = destination.status().message();
      } else if (worker_->destinations.contains(destination->ToString())) {
        state.status.destination = destination->ToString();
        state.status.state = "paused";
        state.status.message = fmt::format(
            "another lake table already goes to {}; give {} its own `to` in the sink config",
            destination->ToString(), key);
      } else {
        state.status.destination = destination->ToString();
        worker_->destinations.insert(destination->ToString());
        TableSyncOptions sync_options{
            .max_versions_per_transaction = config_.max_versions_per_transaction,
            .temp_dir = options_.temp_dir,
            .TEST_before_commit = options_.TEST_before_commit};
        state.sync.emplace(*fs_, table.path, lake_name, *destination, entry->mode,
                           std::move(sync_options));
      }
      if (!state.status.message.empty()) {
        spdlog::warn("sink {}: {} is paused: {}", config_.name, key, state.status.message);
        state.paused->Set(1);
      }
      worker_->tables.emplace(key, std::move(state));
    }
  }
  return Status::Ok();
}

void PostgresSink::StepTable(TableState& table) {
  Clock::time_point started = Clock::now();
  Result<StepResult> step = table.sync->Step(*worker_->duck, *worker_->pg);
  SinkTableStatus& status = table.status;
  if (!step.ok()) {
    worker_->errors_total->Increment();
    // A failure that is the connection's, not the table's: drop it; RunPass reconnects.
    if (step.status().IsRetryable() || !worker_->pg->Execute("SELECT 1").ok()) {
      worker_->pg.reset();
      return;
    }
    status.state = "error";
    status.message = step.status().ToString();
    table.backoff =
        std::min(std::max(table.backoff * 2, options_.min_backoff), options_.max_backoff);
    table.next_attempt = Clock::now() + table.backoff;
    if (status.message != table.last_logged) {
      spdlog::warn("sink {}: {}: {}; retrying in {} ms", config_.name, status.lake_table,
                   status.message, table.backoff.count());
      table.last_logged = status.message;
    }
    return;
  }
  table.backoff = std::chrono::milliseconds(0);
  status.latest_version = step->latest_version;
  status.applied_version = step->offset;
  if (step->paused) {
    status.state = "paused";
    status.message = *step->paused;
    table.next_attempt = Clock::now() + options_.paused_recheck;
    table.paused->Set(1);
    if (status.message != table.last_logged) {
      spdlog::warn("sink {}: {} is paused: {}", config_.name, status.lake_table, status.message);
      table.last_logged = status.message;
    }
    return;
  }
  if (!table.last_logged.empty()) {
    spdlog::info("sink {}: {} resumed", config_.name, status.lake_table);
    table.last_logged.clear();
  }
  table.paused->Set(0);
  status.message.clear();
  int64_t applied = step->offset.value_or(-1);
  status.lag_versions = step->latest_version - applied;
  status.lag_seconds = step->first_pending_commit_ms > 0
                           ? std::max<double>(0, (NowMs() - step->first_pending_commit_ms) / 1000.0)
                           : 0;
  status.state = status.lag_versions > 0 ? "following" : "caught up";
  if (step->applied) {
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    status.rows_applied += step->rows;
    status.rows_per_second = seconds > 0 ? step->rows / seconds : 0;
    table.rows_total->Increment(static_cast<double>(step->rows));
    table.transactions_total->Increment();
    table.rows_per_second->Set(status.rows_per_second);
  }
  table.applied_version->Set(static_cast<double>(applied));
  table.lag_versions->Set(static_cast<double>(status.lag_versions));
  table.lag_seconds->Set(status.lag_seconds);
}

Result<bool> PostgresSink::RunPass() {
  if (!worker_->pg) {
    Status connected = Connect();
    if (!connected.ok()) {
      worker_->errors_total->Increment();
      worker_->connected->Set(0);
      {
        std::lock_guard lock(status_mu_);
        status_.connected = false;
        status_.last_error = connected.ToString();
      }
      return connected;
    }
    worker_->connected->Set(1);
  }
  FRESHET_RETURN_IF_ERROR(Discover());
  bool behind = false;
  for (auto& [key, table] : worker_->tables) {
    if (stopping_) break;
    if (!table.sync || Clock::now() < table.next_attempt) continue;
    StepTable(table);
    if (!worker_->pg) {
      worker_->connected->Set(0);
      UpdateStatus();
      std::lock_guard lock(status_mu_);
      status_.connected = false;
      status_.last_error = "lost the destination connection";
      return Status::Unavailable("sink {}: lost the connection to {}", config_.name,
                                 pg::RedactDsn(config_.dsn));
    }
    const SinkTableStatus& status = table.status;
    if ((status.state == "following" || status.state == "copying") && status.lag_versions > 0) {
      behind = true;
    }
  }
  UpdateStatus();
  return behind;
}

void PostgresSink::UpdateStatus() {
  std::vector<SinkTableStatus> tables;
  for (const auto& [key, table] : worker_->tables) tables.push_back(table.status);
  std::lock_guard lock(status_mu_);
  status_.connected = worker_->pg.has_value();
  if (status_.connected) status_.last_error.clear();
  status_.tables = std::move(tables);
}

std::string FormatSinkStatus(const SinkStatus& status) {
  std::string out = fmt::format("sink {} -> {} ({})\n", status.name, status.destination,
                                status.connected ? "connected" : "not connected");
  if (!status.last_error.empty()) out += "  last error: " + status.last_error + "\n";
  out += fmt::format("  {:<28} {:<28} {:<8} {:>8} {:>8} {:>9} {:>10}  {}\n", "lake table",
                     "destination", "mode", "applied", "lag", "lag s", "rows/s", "state");
  for (const auto& table : status.tables) {
    out += fmt::format("  {:<28} {:<28} {:<8} {:>8} {:>8} {:>9.1f} {:>10.0f}  {}{}\n",
                       table.lake_table, table.destination, SinkModeName(table.mode),
                       table.applied_version ? std::to_string(*table.applied_version) : "-",
                       table.lag_versions, table.lag_seconds, table.rows_per_second, table.state,
                       table.message.empty() ? "" : ": " + table.message);
  }
  return out;
}

}  // namespace freshet::sink
