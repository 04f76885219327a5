#include "pipeline/pipeline.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "engine/database.h"
#include "lake/actions.h"
#include "lake/change_feed.h"
#include "lake/fs/file_system.h"
#include "lake/schema_change.h"
#include "lake/snapshot.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"
#include "pg/capture.h"
#include "pg/capture_setup.h"
#include "pg/connection.h"
#include "pg/snapshot_reader.h"
#include "pg/types.h"
#include "pipeline/backfill.h"
#include "pipeline/column_diff.h"
#include "pipeline/convert.h"
#include "pipeline/flush_worker.h"
#include "pipeline/log_maintenance.h"
#include "pipeline/resnapshot.h"

namespace freshet::pipeline {

std::string_view PipelineStateName(PipelineState state) {
  switch (state) {
    case PipelineState::kStarting:
      return "starting";
    case PipelineState::kSnapshotting:
      return "snapshotting";
    case PipelineState::kStreaming:
      return "streaming";
    case PipelineState::kStopped:
      return "stopped";
    case PipelineState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string WatermarkFolder(const std::string& lake_root) {
  return lake_root + "/_freshet/watermarks";
}

std::string SnapshotStatePath(const std::string& lake_root, const std::string& pipeline) {
  return lake_root + "/_freshet/pipelines/" + pipeline + "/snapshot.json";
}

std::string BackfillStatePath(const std::string& lake_root, const std::string& pipeline) {
  return lake_root + "/_freshet/pipelines/" + pipeline + "/backfill.json";
}

std::string TablePath(const std::string& lake_root, const std::string& schema,
                      const std::string& table) {
  return lake_root + "/" + schema + "/" + table;
}

namespace {

using Clock = std::chrono::steady_clock;

// Table property of a lake table whose source table was dropped (its value: when).
constexpr const char* kSourceDroppedKey = "freshet.sourceDropped";
using namespace std::chrono_literals;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t CommitTimeMs(const pg::TransactionInfo& info) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(info.commit_time.time_since_epoch())
      .count();
}

// What a change costs in the buffers once converted: its values' bytes plus an engine::Value
// (about 64 bytes with its allocation) per cell and the RowChange around them. Flush limits and
// the memory limit count this, so they bound memory rather than wire bytes.
uint64_t BufferedBytes(const pg::Change& change) {
  constexpr uint64_t kPerCell = 64;
  constexpr uint64_t kPerChange = 128;
  uint64_t bytes = kPerChange;
  for (const pg::Value& value : change.new_tuple) bytes += value.bytes.size() + kPerCell;
  for (const pg::Value& value : change.old_tuple) bytes += value.bytes.size() + kPerCell;
  return bytes;
}

pg::SnapshotMode ToPgMode(SnapshotMode mode) {
  switch (mode) {
    case SnapshotMode::kInitial:
      return pg::SnapshotMode::kInitial;
    case SnapshotMode::kNever:
      return pg::SnapshotMode::kNever;
    case SnapshotMode::kInitialOnly:
      return pg::SnapshotMode::kInitialOnly;
  }
  return pg::SnapshotMode::kInitial;
}

// The durable record of an initial snapshot: whether it finished, and its finished chunks.
struct SnapshotState {
  bool complete = false;
  std::set<pg::SnapshotChunk> chunks;
};

std::string SnapshotStateJson(const SnapshotState& state) {
  nlohmann::json chunks = nlohmann::json::array();
  for (const pg::SnapshotChunk& chunk : state.chunks) {
    chunks.push_back({chunk.table, chunk.first_page,
                      chunk.end_page ? nlohmann::json(*chunk.end_page) : nlohmann::json()});
  }
  return nlohmann::json{{"complete", state.complete}, {"chunks", chunks}}.dump();
}

Result<SnapshotState> ParseSnapshotState(const std::string& path, const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("complete")) {
    return Status::Corruption("{} is not a snapshot state file; delete it to snapshot again", path);
  }
  SnapshotState state;
  state.complete = json.value("complete", false);
  for (const auto& chunk : json.value("chunks", nlohmann::json::array())) {
    if (!chunk.is_array() || chunk.size() != 3) continue;
    pg::SnapshotChunk parsed{.table = chunk[0].get<size_t>(),
                             .first_page = chunk[1].get<uint32_t>()};
    if (!chunk[2].is_null()) parsed.end_page = chunk[2].get<uint32_t>();
    state.chunks.insert(parsed);
  }
  return state;
}

std::string KeyJson(const std::vector<std::string>& key) { return nlohmann::json(key).dump(); }

pg::UnrepresentableRule ToPgRule(UnrepresentableValues rule) {
  switch (rule) {
    case UnrepresentableValues::kFail:
      return pg::UnrepresentableRule::kFail;
    case UnrepresentableValues::kNull:
      return pg::UnrepresentableRule::kNull;
    case UnrepresentableValues::kClamp:
      return pg::UnrepresentableRule::kClamp;
  }
  return pg::UnrepresentableRule::kFail;
}

}  // namespace

class Pipeline::Impl : public pg::ChangeSink, public pg::SnapshotSink {
 public:
  Impl(const PipelineConfig& config, PipelineRunOptions options, std::atomic<PipelineState>& state)
      : config_(config), options_(std::move(options)), state_(state) {
    connect_.dsn = config_.source.dsn;
    connect_.password = options_.password;
    connect_.application_name = "freshet-" + config_.name;
    if (options_.metrics == nullptr) {
      owned_metrics_ = std::make_unique<MetricsRegistry>();
      options_.metrics = owned_metrics_.get();
    }
    MetricsRegistry& m = *options_.metrics;
    MetricLabels labels{{"pipeline", config_.name}};
    lag_bytes_ =
        &m.Gauge("freshet_pipeline_lag_bytes",
                 "WAL bytes between the server's current position and the confirmed one", labels);
    lag_seconds_ = &m.Gauge(
        "freshet_pipeline_lag_seconds",
        "Age of the oldest source transaction received but not yet committed to the lake", labels);
    buffer_bytes_ = &m.Gauge("freshet_pipeline_buffer_bytes",
                             "Bytes of changes buffered, not yet committed", labels);
    snapshot_percent_ = &m.Gauge("freshet_pipeline_snapshot_progress_percent",
                                 "Initial snapshot progress (100 when done or not needed)", labels);
    backfill_tables_ = &m.Gauge(
        "freshet_pipeline_backfill_tables",
        "Tables that joined after the initial snapshot whose rows are still being copied", labels);
    errors_ =
        &m.Counter("freshet_pipeline_errors_total", "Errors that stopped the pipeline", labels);
    flushes_ = &m.Counter("freshet_pipeline_flushes_total",
                          "Flushes (commits of every touched "
                          "table, then a confirmed LSN)",
                          labels);
    confirmed_lsn_ = &m.Gauge("freshet_pipeline_confirmed_lsn",
                              "The LSN last confirmed to PostgreSQL, as an integer", labels);
    freshness_ = &m.Histogram("freshet_pipeline_freshness_seconds",
                              "Source commit to lake commit, per flushed transaction",
                              {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60}, labels);
    flush_seconds_ = &m.Histogram("freshet_pipeline_flush_seconds",
                                  "A flush's lake commits (side by side) and watermark write",
                                  {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10}, labels);
    flush_wait_seconds_ = &m.Histogram(
        "freshet_pipeline_flush_wait_seconds",
        "Age of a flush's oldest transaction when the flush started (buffered, and waiting for "
        "the flush before)",
        {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10}, labels);
  }

  Status Run(const std::function<bool()>& stop) {
    // glibc gives each thread that allocates its own heap arena (up to eight per core): the
    // reader, the flush worker, the maintenance thread and DuckDB's threads each kept tens of
    // MB of freed memory, about 90 MB of peak RSS in pipeline_bench's freshness run. Two arenas
    // hold the same work.
    mallopt(M_ARENA_MAX, 2);
    Status status = RunInner(stop);
    if (!status.ok()) {
      errors_->Increment();
      // A flush still under way finishes (its commits are whole); its LSN is not confirmed.
      (void)worker_.Wait();
      in_flight_.reset();
    }
    // The slot is free for the next run as soon as this one returns.
    capture_.reset();
    return status;
  }

  // pg::ChangeSink
  Status OnBegin(const pg::TransactionInfo& info) override;
  Status OnSchemaEvent(const pg::SchemaEvent& event) override;
  Status OnChange(pg::Change&& change) override;
  // A row copied by the backfill (ChangeKind::kRead).
  Status OnCopiedRow(pg::Change&& change);
  Status OnMessage(pg::LogicalMessage&&) override { return Status::Ok(); }
  Status OnCommit(const pg::TransactionInfo& info) override;
  Status OnRestart() override {
    staged_.clear();
    staged_bytes_ = 0;
    return Status::Ok();
  }

  // pg::SnapshotSink
  Status OnChunkStart(const pg::SnapshotChunk&) override { return Status::Ok(); }
  Status OnRow(const pg::SnapshotChunk& chunk, pg::Change&& change) override;
  Status OnChunkDone(const pg::SnapshotChunk& chunk) override;

 private:
  struct Table {
    std::string qualified;  // schema.table
    std::string path;
    std::optional<lake::UpsertWriter> writer;
    // The writer's own DuckDB connection, so the tables of one flush commit side by side.
    std::optional<engine::Connection> engine;
    std::vector<LakeColumn> columns;     // data columns, in order
    std::map<std::string, int> attnums;  // column name -> source attnum, where recorded
    bool append_only = false;
    int64_t committed_lsn = 0;  // AppVersion of this pipeline
    lake::Version version = -1;
    int64_t checkpoint_interval = 10;  // delta.checkpointInterval, else the lake's default
    // Held around the writer's commits; maintenance_ holds it while it compacts the table.
    std::shared_ptr<std::mutex> writer_lock = std::make_shared<std::mutex>();
    // The relation the converter was built for; kept alive so the pointer stays unique.
    std::shared_ptr<const pg::Relation> relation;
    std::unique_ptr<RowConverter> converter;
    // Rows a backfill copies come with the catalog's relation: their converter, while that
    // relation matches the lake table (null when it does not: the copy starts again).
    std::shared_ptr<const pg::Relation> copy_relation;
    std::unique_ptr<RowConverter> copy_converter;
    lake::ChangeBatch pending;
    uint64_t pending_bytes = 0;
    int64_t pending_last_lsn = 0;
    bool paused = false;
    // The source table's oid (freshet.sourceOid; 0 for tables created before it was recorded):
    // a relation with another oid is a table created again under the same name.
    uint32_t source_oid = 0;
    bool dropped = false;  // marked with freshet.sourceDropped
    // The WAL insert position when the source table was seen gone: it is marked once
    // everything up to there is in the lake.
    std::optional<Lsn> gone_at;
    CounterMetric* rows = nullptr;
    CounterMetric* commits = nullptr;
    CounterMetric* bytes = nullptr;
    CounterMetric* skipped = nullptr;
    GaugeMetric* buffer_bytes = nullptr;
    GaugeMetric* version_gauge = nullptr;
    GaugeMetric* freshness = nullptr;
    GaugeMetric* last_commit_ms = nullptr;
    HistogramMetric* commit_seconds = nullptr;
    CounterMetric* compactions = nullptr;
  };

  Status RunInner(const std::function<bool()>& stop);
  Status OpenPublishedTables();
  // While streaming: tables newly in the publication join (every few seconds), and the backfill
  // copies the rows of those that joined.
  Status MaintainTables();
  Status MarkDropped(Table& table);
  Result<lake::Snapshot> SetChangeFeed(const Table& table, bool enabled);
  Status SetProperties(const Table& table, const std::function<void(lake::SchemaChange&)>& edit);
  // Serves the re-snapshot requests waiting (pipeline/resnapshot.h).
  Status ServeResnapshotRequests();
  Status Resnapshot(const std::string& qualified);
  // The lake schema and key of a table as `relation` describes it: its columns with their
  // source types and attnums (and an append-only table's change columns); the configured key,
  // else the relation's (none for REPLICA IDENTITY FULL: whole-row identity).
  Status DefinitionOf(const Table& table, const pg::Relation& relation, lake::Schema* schema,
                      std::vector<std::string>* key);
  Result<Lsn> WalInsertPosition();
  Status Prepare();
  Status CheckTables(pg::Connection& sql, std::vector<std::string>* published);
  Result<Table*> TableFor(const std::shared_ptr<const pg::Relation>& relation,
                          bool follow_relation = true);
  Status OpenTable(Table& table, const pg::Relation& relation);
  Status CreateLakeTable(Table& table, const pg::Relation& relation);
  Status PrepareConverter(Table& table, const std::shared_ptr<const pg::Relation>& relation);
  Status StageRow(Table& table, const RowConverter* converter, const pg::Change& change);
  // Loads the catalog entries of the relation's column types that the registry lacks.
  Status LoadTypes(const pg::Relation& relation);
  // The relation's columns with their lake types (the types' catalog entries loaded first).
  Result<std::vector<LakeColumn>> LakeColumnsOf(const pg::Relation& relation);
  Status EvolveTable(Table& table, const pg::Relation& relation, const ColumnDiff& diff);
  Result<std::vector<std::string>> SourceTypes(const pg::Relation& relation,
                                               std::vector<int>* attnums = nullptr);
  void PauseForType(Table& table, const std::string& column, const lake::DataType& from,
                    const lake::DataType& to);
  pg::UnrepresentableRule UnrepresentableRule() const {
    return ToPgRule(config_.unrepresentable_values);
  }
  // Flushing (see "Flush policy" in README.md). A flush takes every table's buffered
  // changes into a FlushJob; the FlushWorker commits its tables (side by side) and writes the
  // watermark while this thread receives the next transactions; FinishJob, back on this
  // thread, records the versions and only then confirms the LSN. One flush at a time.
  struct FlushJob;
  std::unique_ptr<FlushJob> TakeJob(bool snapshot);
  Status ExecuteJob(FlushJob& job);
  Status FinishJob(FlushJob& job);
  void LogFlush(const FlushJob& job) const;
  // REQUIRES: no flush under way. Starts a flush of everything buffered (or, when nothing is
  // buffered, confirms what is due at once).
  Status StartFlush();
  // Finishes the flush under way if it is done (or, with `wait`, once it is).
  Status CollectFlush(bool wait);
  // Everything buffered committed, its watermark written and its LSN confirmed.
  Status Flush();
  // Snapshot rows: committed at once, txn version 0 (older than every streamed transaction).
  Status FlushSnapshot();
  // Whether the buffers must be flushed now for their size, or may be for their age.
  bool FlushFull() const;
  bool FlushDue(Clock::time_point now) const;
  Status MaybeFlush();
  std::map<std::string, lake::Version> TableVersions() const;
  Status WriteWatermark(Lsn lsn, int64_t commit_time_ms,
                        const std::map<std::string, lake::Version>& versions);
  Status SaveSnapshotState();
  void UpdateLag();
  void SetState(PipelineState state, std::string_view why);

  PipelineConfig config_;
  PipelineRunOptions options_;
  std::atomic<PipelineState>& state_;
  std::unique_ptr<MetricsRegistry> owned_metrics_;
  pg::ConnectOptions connect_;

  // Data files become durable with the commit that references them (LocalFileSystemOptions).
  lake::LocalFileSystem fs_{lake::LocalFileSystemOptions{.defer_data_sync = true}};
  std::optional<engine::Database> database_;
  std::optional<engine::Connection> engine_;
  // An eighth of memory_limit for the upsert writers' row caches, shared by all tables.
  std::shared_ptr<lake::RowCacheBudget> row_cache_budget_;
  std::optional<pg::Connection> sql_;
  pg::TypeRegistry registry_;
  std::map<std::string, std::unique_ptr<Table>> tables_;

  std::unique_ptr<pg::ChangeCapture> capture_;
  // Copies the rows of tables that join after the initial snapshot; the stream's sink.
  std::unique_ptr<Backfill> backfill_;
  bool backfill_joining_ = false;  // tables created from now on get a backfill
  Clock::time_point next_publication_check_;
  Clock::time_point next_request_check_;
  std::function<bool()> stop_;

  // The open transaction.
  pg::TransactionInfo current_;
  std::vector<std::pair<Table*, lake::RowChange>> staged_;
  uint64_t staged_bytes_ = 0;
  Table* last_table_ = nullptr;  // OnChange's last table (tables are never removed)

  // Buffered, committed source transactions.
  uint64_t pending_rows_ = 0;
  uint64_t pending_bytes_ = 0;
  std::optional<Clock::time_point> oldest_pending_;
  std::vector<int64_t> pending_commit_times_ms_;
  Lsn last_commit_lsn_;
  int64_t last_commit_time_ms_ = 0;
  std::optional<Lsn> unconfirmed_end_;
  std::atomic<uint64_t> flush_count_{0};
  uint64_t commits_seen_ = 0;  // source transactions received, to tell when the reader is idle
  // How long recent flushes took to commit (a moving average), taken from the latency budget.
  Clock::duration expected_commit_{0};

  // Snapshot.
  SnapshotState snapshot_state_;
  uint64_t snapshot_rows_since_check_ = 0;
  pg::SnapshotProgress progress_;
  Clock::time_point next_lag_update_;

  GaugeMetric* lag_bytes_;
  GaugeMetric* lag_seconds_;
  GaugeMetric* buffer_bytes_;
  GaugeMetric* snapshot_percent_;
  GaugeMetric* backfill_tables_;
  CounterMetric* errors_;
  CounterMetric* flushes_;
  GaugeMetric* confirmed_lsn_;
  HistogramMetric* freshness_;
  HistogramMetric* flush_seconds_;
  HistogramMetric* flush_wait_seconds_;

  // Checkpoints and compaction of the tables (uses database_ and fs_: declared after them,
  // destroyed first).
  std::unique_ptr<LogMaintenance> maintenance_;

  // The flush under way on worker_ (declared last: destroyed first, after its work ends).
  std::unique_ptr<FlushJob> in_flight_;
  uint64_t in_flight_bytes_ = 0;
  FlushWorker worker_;
};

struct Pipeline::Impl::FlushJob {
  struct Part {
    Table* table = nullptr;
    lake::ChangeBatch batch;
    uint64_t rows = 0;
    uint64_t bytes = 0;
    lake::Version version = -1;  // after the commit
    Clock::duration took{0};     // the commit
    lake::ApplyStats stats;      // where the commit's time went
    Clock::duration locked{0};   // waiting for the writer lock (a compaction holds it)
  };
  bool snapshot = false;
  std::vector<Part> parts;
  uint64_t bytes = 0;
  // Streaming flushes: the watermark (every table's version), the LSN to confirm once it is
  // durable, and the commit times of the transactions it makes visible.
  bool watermark = false;
  Lsn lsn;
  int64_t commit_time_ms = 0;
  std::optional<Lsn> confirm;
  std::vector<int64_t> commit_times_ms;
  std::map<std::string, lake::Version> versions;
  std::optional<Clock::time_point> oldest;  // when its oldest transaction arrived
  Clock::time_point started;                // when the worker was given the job
  Clock::duration queued{0};                // from due (latency budget spent) to started
  // Results.
  int64_t visible_ms = 0;
  Clock::duration took{0};
  Clock::duration committed{0};  // of `took`: the tables' commits, side by side
};

void Pipeline::Impl::SetState(PipelineState state, std::string_view why) {
  if (state_.exchange(state) != state) {
    spdlog::info("pipeline {}: {} ({})", config_.name, PipelineStateName(state), why);
  }
}

// Resolves the table patterns against the catalog and refuses tables whose updates and deletes
// PostgreSQL cannot publish.
Status Pipeline::Impl::CheckTables(pg::Connection& sql, std::vector<std::string>* published) {
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows rows,
      sql.Query("SELECT n.nspname, c.relname, c.relreplident, "
                "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2"));
  std::vector<std::string> matched;
  for (int row = 0; row < rows.size(); ++row) {
    std::string qualified = fmt::format("{}.{}", *rows.Get(row, 0), *rows.Get(row, 1));
    if (!config_.Includes(qualified)) continue;
    std::string_view identity = *rows.Get(row, 2);
    FRESHET_ASSIGN_OR_RETURN(bool has_key, rows.GetBool(row, 3));
    const TableOverride* override = config_.OverrideFor(qualified);
    bool append_only = override != nullptr && override->mode == TableMode::kAppendOnly;
    if (!append_only && (identity == "n" || (identity == "d" && !has_key))) {
      return Status::InvalidArgument(
          "table {} has no primary key, so PostgreSQL cannot publish its updates and deletes; "
          "fix: add a primary key, or run ALTER TABLE {} REPLICA IDENTITY FULL, or exclude it "
          "(pipelines[{}].source.postgres.exclude)",
          qualified, qualified, config_.name);
    }
    matched.push_back(pg::ExactTablePattern(*rows.Get(row, 0), *rows.Get(row, 1)));
  }
  bool schema_patterns_only =
      config_.source.exclude.empty() &&
      std::all_of(config_.source.tables.begin(), config_.source.tables.end(), [](auto& p) {
        return p.size() > 2 && p.ends_with(".*") &&
               p.substr(0, p.size() - 2).find_first_of("*?") == std::string::npos;
      });
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows existing,
      sql.Query("SELECT 1 FROM pg_publication WHERE pubname = $1", {config_.source.publication}));
  if (schema_patterns_only && existing.size() == 0) {
    // TABLES IN SCHEMA: tables created later join the publication by themselves. An existing
    // publication gets the tables the patterns match now (those it lacks are added).
    *published = config_.source.tables;
  } else {
    if (matched.empty()) {
      return Status::InvalidArgument(
          "no table matches pipelines[{}].source.postgres.tables ({}); fix the patterns "
          "(schema.table, * and ? wildcards)",
          config_.name, fmt::join(config_.source.tables, ", "));
    }
    *published = matched;
  }
  return Status::Ok();
}

Status Pipeline::Impl::Prepare() {
  FRESHET_ASSIGN_OR_RETURN(engine::Database database, engine::Database::Open("", {.threads = 2}));
  database_ = std::move(database);
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database_->Connect());
  engine_ = std::move(connection);
  // The lake is local: its files sit in the OS page cache already, and DuckDB's own cache of
  // the Parquet bytes it reads would grow with every file read, up to DuckDB's memory limit.
  FRESHET_RETURN_IF_ERROR(engine_->Execute("SET enable_external_file_cache = false"));
  lake::UpsertOptions defaults;
  FRESHET_ASSIGN_OR_RETURN(
      maintenance_, LogMaintenance::Start(fs_, *database_,
                                          {.file_count = defaults.compact_file_count,
                                           .deleted_share = defaults.compact_deleted_share,
                                           .min_deleted_rows = defaults.compact_min_deleted_rows}));
  FRESHET_ASSIGN_OR_RETURN(pg::Connection sql, pg::Connection::Open(connect_));
  sql_ = std::move(sql);
  return Status::Ok();
}

// The catalog's format_type() (and attnum) of each column of `relation`, by name. The stream
// can deliver a transaction a moment before it is visible to other sessions, so while the
// catalog still shows an older version of a column (missing, or another type), the query is
// repeated for up to half a second; after that the catalog is taken as it is (it may also be
// ahead of the stream, with the column renamed or dropped again since).
Result<std::vector<std::string>> Pipeline::Impl::SourceTypes(const pg::Relation& relation,
                                                             std::vector<int>* attnums) {
  std::vector<std::string> types;
  auto deadline = Clock::now() + 500ms;
  for (bool current = false; !current;) {
    types.assign(relation.columns.size(), "");
    if (attnums != nullptr) attnums->assign(relation.columns.size(), 0);
    FRESHET_ASSIGN_OR_RETURN(
        pg::Rows rows,
        sql_->Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnum::int, "
                    "a.atttypid::int8, a.atttypmod FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
                    "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 "
                    "AND NOT a.attisdropped",
                    {relation.schema, relation.name}));
    size_t matching = 0;
    for (int row = 0; row < rows.size(); ++row) {
      for (size_t index = 0; index < relation.columns.size(); ++index) {
        const pg::Column& column = relation.columns[index];
        if (column.name != *rows.Get(row, 0)) continue;
        types[index] = std::string(*rows.Get(row, 1));
        FRESHET_ASSIGN_OR_RETURN(int64_t attnum, rows.GetInt(row, 2));
        FRESHET_ASSIGN_OR_RETURN(int64_t type_oid, rows.GetInt(row, 3));
        FRESHET_ASSIGN_OR_RETURN(int64_t type_modifier, rows.GetInt(row, 4));
        if (attnums != nullptr) (*attnums)[index] = static_cast<int>(attnum);
        if (type_oid == column.type_oid && type_modifier == column.type_modifier) ++matching;
      }
    }
    current = matching == relation.columns.size() || Clock::now() >= deadline;
    if (!current) std::this_thread::sleep_for(10ms);
  }
  return types;
}

Status Pipeline::Impl::CreateLakeTable(Table& table, const pg::Relation& relation) {
  // After the initial snapshot, a new table's existing rows come from a backfill. It is listed
  // before the lake table exists, so a crash in between cannot skip it.
  bool backfilled = backfill_joining_ && config_.source.snapshot != SnapshotMode::kNever;
  if (backfilled) FRESHET_RETURN_IF_ERROR(backfill_->Add(table.qualified));
  lake::CreateTableOptions create;
  std::vector<std::string> key;
  FRESHET_RETURN_IF_ERROR(DefinitionOf(table, relation, &create.schema, &key));
  const TableOverride* override = config_.OverrideFor(table.qualified);
  if (override != nullptr) create.partition_columns = override->partition_by;
  // Column mapping mode `name`: renames and drops at the source become metadata-only commits.
  create.configuration = {
      {"delta.columnMapping.mode", "name"},
      {"delta.enableChangeDataFeed",
       override != nullptr && override->change_feed == false ? "false" : "true"},
      {"freshet.primaryKey", KeyJson(key)},
      {"freshet.mode", table.append_only ? "append_only" : "upsert"},
      {"freshet.source", table.qualified},
      {"freshet.sourceOid", std::to_string(relation.oid)},
  };
  create.name = relation.name;
  auto created = lake::CreateTable(fs_, table.path, create);
  if (!created.ok() && !created.status().Is(Code::kAlreadyExists)) return created.status();
  if (created.ok() && backfilled) {
    // The table is created as the catalog has it now, and the backfill copies its rows as they
    // are from now on. Older transactions of the stream are covered by that copy (and may
    // describe the table with an older relation): the table counts as holding everything up to
    // the current WAL position, so they are skipped.
    FRESHET_ASSIGN_OR_RETURN(Lsn now, WalInsertPosition());
    FRESHET_ASSIGN_OR_RETURN(lake::Transaction txn,
                             lake::Transaction::Begin(fs_, *engine_, table.path));
    txn.SetAppTransaction(config_.AppId(), static_cast<int64_t>(now.value()));
    FRESHET_RETURN_IF_ERROR(txn.Commit("SET TBLPROPERTIES").status());
  }
  spdlog::info("pipeline {}: created lake table {} for {} (key: {})", config_.name, table.path,
               table.qualified,
               key.empty() ? "whole row" : fmt::format("{}", fmt::join(key, ", ")));
  return Status::Ok();
}

Status Pipeline::Impl::DefinitionOf(const Table& table, const pg::Relation& relation,
                                    lake::Schema* schema, std::vector<std::string>* key) {
  FRESHET_RETURN_IF_ERROR(LoadTypes(relation));
  std::vector<int> attnums;
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> source_types, SourceTypes(relation, &attnums));
  *schema = RelationSchema(relation, registry_, source_types, attnums);
  key->clear();
  const TableOverride* override = config_.OverrideFor(table.qualified);
  if (override != nullptr && !override->primary_key.empty()) {
    *key = override->primary_key;
  } else {
    for (const pg::Column& column : relation.columns) {
      if (column.key) key->push_back(column.name);
    }
  }
  // REPLICA IDENTITY FULL marks every column as key: that is whole-row identity.
  if (relation.replica_identity == 'f' && key->size() == relation.columns.size()) key->clear();
  if (table.append_only) {
    schema->fields.push_back({.name = lake::kChangeOpColumn,
                              .type = lake::DataType::Primitive(lake::DataType::Kind::kString)});
    schema->fields.push_back({.name = lake::kChangeLsnColumn,
                              .type = lake::DataType::Primitive(lake::DataType::Kind::kLong)});
  }
  return Status::Ok();
}

Result<Lsn> Pipeline::Impl::WalInsertPosition() {
  FRESHET_ASSIGN_OR_RETURN(pg::Rows rows, sql_->Query("SELECT pg_current_wal_insert_lsn()::text"));
  return Lsn::Parse(*rows.Get(0, 0));
}

Status Pipeline::Impl::OpenTable(Table& table, const pg::Relation& relation) {
  auto latest = lake::LatestVersion(fs_, table.path);
  if (!latest.ok()) {
    if (!latest.status().Is(Code::kNotFound)) return latest.status();
    FRESHET_RETURN_IF_ERROR(CreateLakeTable(table, relation));
  }
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot,
                           lake::Snapshot::Load(fs_, *engine_, table.path));
  const TableOverride* override = config_.OverrideFor(table.qualified);
  if (override != nullptr && override->change_feed &&
      *override->change_feed != lake::ChangeFeedEnabled(snapshot.metadata().configuration)) {
    FRESHET_ASSIGN_OR_RETURN(snapshot, SetChangeFeed(table, *override->change_feed));
  }
  std::vector<std::string> key;
  if (auto text = snapshot.Configuration("freshet.primaryKey")) {
    auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_array()) {
      for (const auto& name : json) {
        if (name.is_string()) key.push_back(name.get<std::string>());
      }
    }
  }
  table.append_only = snapshot.Configuration("freshet.mode") == "append_only";
  table.source_oid = static_cast<uint32_t>(
      std::strtoul(snapshot.Configuration("freshet.sourceOid").value_or("0").c_str(), nullptr, 10));
  table.dropped = snapshot.Configuration(kSourceDroppedKey).has_value();
  table.committed_lsn = snapshot.AppVersion(config_.AppId()).value_or(0);
  table.version = snapshot.version();
  table.columns.clear();
  table.attnums.clear();
  for (const lake::StructField& field : snapshot.schema().fields) {
    if (table.append_only &&
        (field.name == lake::kChangeOpColumn || field.name == lake::kChangeLsnColumn)) {
      continue;
    }
    table.columns.push_back({field.name, field.type});
    auto metadata = nlohmann::json::parse(field.metadata_json, nullptr, false);
    if (metadata.is_object() && metadata.contains(kAttnumMetadataKey) &&
        metadata[kAttnumMetadataKey].is_number_integer()) {
      table.attnums[field.name] = metadata[kAttnumMetadataKey].get<int>();
    }
  }
  table.checkpoint_interval = CheckpointInterval(snapshot);
  lake::UpsertOptions upsert{.key_columns = key, .append_only = table.append_only};
  // Checkpoints and compaction are maintenance_'s, beside the flushes (log_maintenance.h).
  upsert.writer.checkpoint_interval = 0;
  upsert.compact_file_count = 0;
  upsert.compact_deleted_share = 0;
  if (!row_cache_budget_) {
    row_cache_budget_ = std::make_shared<lake::RowCacheBudget>(
        static_cast<int64_t>(config_.memory_limit_bytes / 8));
  }
  upsert.row_cache_bytes = config_.memory_limit_bytes / 8;
  upsert.row_cache_budget = row_cache_budget_;
  if (!table.engine) {
    FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database_->Connect());
    table.engine = std::move(connection);
  }
  FRESHET_ASSIGN_OR_RETURN(lake::UpsertWriter writer,
                           lake::UpsertWriter::Open(fs_, *table.engine, table.path, upsert));
  table.writer = std::move(writer);
  table.converter.reset();
  table.relation.reset();
  table.copy_converter.reset();
  table.copy_relation.reset();
  return Status::Ok();
}

// The table `relation` maps to, opened (or created) on first use. With `follow_relation`, the
// lake table is first made to match the relation (schema evolution) and a converter built for
// it; relations from the stream always follow, a catalog's relation for a table the lake
// already has does not (see OpenPublishedTables).
Result<Pipeline::Impl::Table*> Pipeline::Impl::TableFor(
    const std::shared_ptr<const pg::Relation>& relation, bool follow_relation) {
  std::string qualified = relation->schema + "." + relation->name;
  auto found = tables_.find(qualified);
  if (found == tables_.end()) {
    if (!config_.Includes(qualified)) return nullptr;
    // Opening or evolving a table touches writers a flush under way may be using.
    FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/true));
    auto table = std::make_unique<Table>();
    table->qualified = qualified;
    table->path = TablePath(config_.lake.root, relation->schema, relation->name);
    const TableOverride* override = config_.OverrideFor(qualified);
    table->append_only = override != nullptr && override->mode == TableMode::kAppendOnly;
    FRESHET_RETURN_IF_ERROR(LoadTypes(*relation));
    FRESHET_RETURN_IF_ERROR(OpenTable(*table, *relation));
    MetricsRegistry& m = *options_.metrics;
    MetricLabels labels{{"pipeline", config_.name}, {"table", qualified}};
    table->rows =
        &m.Counter("freshet_table_rows_total", "Row changes committed to the lake", labels);
    table->commits = &m.Counter("freshet_table_commits_total", "Lake commits", labels);
    table->bytes = &m.Counter(
        "freshet_table_bytes_total",
        "Bytes of the changes committed, as buffered (values plus per-cell overhead)", labels);
    table->skipped =
        &m.Counter("freshet_table_skipped_changes_total",
                   "Changes skipped: already in the lake (replay) or table paused", labels);
    table->buffer_bytes =
        &m.Gauge("freshet_table_buffer_bytes", "Bytes buffered for the next commit", labels);
    table->version_gauge = &m.Gauge("freshet_table_version", "Latest lake version", labels);
    table->freshness =
        &m.Gauge("freshet_table_freshness_seconds",
                 "Source commit to lake commit of the last transaction committed", labels);
    table->last_commit_ms =
        &m.Gauge("freshet_table_last_commit_timestamp_ms", "Time of the last lake commit", labels);
    table->commit_seconds = &m.Histogram("freshet_table_commit_seconds",
                                         "One flush's commit of the table (UpsertWriter::Apply)",
                                         {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10}, labels);
    table->compactions = &m.Counter("freshet_table_compactions_total",
                                    "Compactions, run beside the flushes", labels);
    table->version_gauge->Set(static_cast<double>(table->version));
    spdlog::info("pipeline {}: table {} at lake version {}, committed LSN {}", config_.name,
                 qualified, table->version, Lsn(static_cast<uint64_t>(table->committed_lsn)));
    found = tables_.emplace(qualified, std::move(table)).first;
  }
  Table* table = found->second.get();
  // A transaction the table already holds, replayed after a restart (the slot's confirmed LSN
  // reaches PostgreSQL only with the next status update), may describe the table as it was
  // before a schema change the lake already made (or be of a dropped table of the same name):
  // comparing would undo that change. Its changes are skipped anyway, so the table and its
  // converter stay as they are.
  bool replayed = state_.load() == PipelineState::kStreaming &&
                  static_cast<int64_t>(current_.commit_lsn.value()) <= table->committed_lsn;
  if (!table->paused && !replayed &&
      ((table->source_oid != 0 && relation->oid != table->source_oid) || table->dropped)) {
    table->paused = true;
    spdlog::error(
        "pipeline {}: table {} PAUSED: the source table was dropped and created again (oid {} "
        "-> {}), and the lake table holds the dropped one's rows; its changes are no longer "
        "written, other tables continue. To follow the new table, re-snapshot it: freshet "
        "resnapshot --config FILE {} (the old table's rows stay readable by time travel)",
        config_.name, table->qualified, table->source_oid, relation->oid, table->qualified);
  }
  if (table->paused || !follow_relation) return table;
  if (table->relation.get() != relation.get() && !replayed) {
    FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/true));
    // A schema change commits metadata, which a compaction under way would conflict with.
    maintenance_->Pause();
    Status prepared = PrepareConverter(*table, relation);
    maintenance_->Resume();
    FRESHET_RETURN_IF_ERROR(prepared);
  }
  return table;
}

Status Pipeline::Impl::LoadTypes(const pg::Relation& relation) {
  std::vector<uint32_t> oids;
  for (const pg::Column& column : relation.columns) oids.push_back(column.type_oid);
  return registry_.Load(*sql_, oids);
}

Result<std::vector<LakeColumn>> Pipeline::Impl::LakeColumnsOf(const pg::Relation& relation) {
  FRESHET_RETURN_IF_ERROR(LoadTypes(relation));
  std::vector<LakeColumn> columns;
  for (const pg::Column& column : relation.columns) {
    columns.push_back(
        {column.name, LakeDataTypeFor(column.type_oid, column.type_modifier, registry_)});
  }
  return columns;
}

Status Pipeline::Impl::PrepareConverter(Table& table,
                                        const std::shared_ptr<const pg::Relation>& relation) {
  FRESHET_ASSIGN_OR_RETURN(std::vector<LakeColumn> source, LakeColumnsOf(*relation));
  auto source_attnums = [&]() -> Result<std::vector<int>> {
    std::vector<int> attnums;
    FRESHET_RETURN_IF_ERROR(SourceTypes(*relation, &attnums).status());
    return attnums;
  };
  FRESHET_ASSIGN_OR_RETURN(ColumnDiff diff,
                           DiffColumns(table.columns, table.attnums, source, source_attnums));
  if (diff.incompatible) {
    PauseForType(table, diff.incompatible->column, diff.incompatible->from, diff.incompatible->to);
    return Status::Ok();
  }
  if (!diff.empty()) {
    FRESHET_RETURN_IF_ERROR(EvolveTable(table, *relation, diff));
    if (table.paused) return Status::Ok();
  }
  table.relation = relation;
  table.converter =
      std::make_unique<RowConverter>(*relation, table.columns, registry_, UnrepresentableRule());
  return Status::Ok();
}

void Pipeline::Impl::PauseForType(Table& table, const std::string& column,
                                  const lake::DataType& from, const lake::DataType& to) {
  table.paused = true;
  spdlog::error(
      "pipeline {}: table {} PAUSED: column {} changed type in PostgreSQL (lake type {} -> {}, "
      "which is not a widening the lake can apply in place); its changes are no longer written, "
      "other tables continue. To resume, re-snapshot it: freshet resnapshot --config FILE {} "
      "(its rows are copied anew while the other tables stream)",
      config_.name, table.qualified, column, from.DeltaName(), to.DeltaName(), table.qualified);
}

// Applies `diff` to the lake table in one metaData commit: added columns go at the end, renames
// and drops use column mapping (a table created before freshet used it is switched to mode
// `name` first, physical names = the current names), integer columns widen in place. Rows of the
// open transaction already converted for the table are rearranged to the new columns.
Status Pipeline::Impl::EvolveTable(Table& table, const pg::Relation& relation,
                                   const ColumnDiff& diff) {
  // Commit what is buffered first, under the schema it was read with. After a crash PostgreSQL
  // then resends only transactions from the changed relation on, so the lake table is never
  // ahead of the relation the stream describes (which would make columns look dropped).
  if (state_.load() == PipelineState::kStreaming && pending_rows_ > 0) {
    FRESHET_RETURN_IF_ERROR(Flush());
  }
  std::vector<int> attnums;
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> source_types, SourceTypes(relation, &attnums));
  FRESHET_ASSIGN_OR_RETURN(lake::Transaction txn,
                           lake::Transaction::Begin(fs_, *engine_, table.path));
  lake::SchemaChange change(txn.read_snapshot());
  std::vector<std::string> key;
  auto key_json = nlohmann::json::parse(
      txn.read_snapshot().Configuration("freshet.primaryKey").value_or("[]"), nullptr, false);
  if (key_json.is_array()) {
    for (const auto& name : key_json) {
      if (name.is_string()) key.push_back(name.get<std::string>());
    }
  }
  if (!diff.renamed.empty() || !diff.dropped.empty()) {
    FRESHET_RETURN_IF_ERROR(change.EnableColumnMapping());
  }
  for (const auto& [from, to] : diff.renamed) {
    FRESHET_RETURN_IF_ERROR(change.RenameColumn(from, to));
    std::replace(key.begin(), key.end(), from, to);
    spdlog::info("pipeline {}: table {} renames column {} to {} (column mapping)", config_.name,
                 table.qualified, from, to);
  }
  for (const std::string& name : diff.dropped) {
    if (std::find(key.begin(), key.end(), name) != key.end()) {
      table.paused = true;
      spdlog::error(
          "pipeline {}: table {} PAUSED: key column {} was dropped in PostgreSQL, so rows can no "
          "longer be matched; its changes are no longer written, other tables continue. To "
          "resume, re-snapshot it: freshet resnapshot --config FILE {} (its rows are copied "
          "anew while the other tables stream)",
          config_.name, table.qualified, name, table.qualified);
      return Status::Ok();
    }
    FRESHET_RETURN_IF_ERROR(change.DropColumn(name));
    spdlog::info("pipeline {}: table {} drops column {} (old files keep it, readers skip it)",
                 config_.name, table.qualified, name);
  }
  for (const auto& [index, type] : diff.widened) {
    const std::string& name = relation.columns[index].name;
    FRESHET_RETURN_IF_ERROR(change.WidenColumn(name, type));
    FRESHET_RETURN_IF_ERROR(
        change.SetColumnMetadata(name, "freshet.sourceType", source_types[index]));
    spdlog::info("pipeline {}: table {} widens column {} to {} ({}) in place", config_.name,
                 table.qualified, name, type.DeltaName(), source_types[index]);
  }
  for (size_t index : diff.added) {
    const pg::Column& column = relation.columns[index];
    FRESHET_RETURN_IF_ERROR(change.AddColumn(
        {.name = column.name,
         .type = LakeDataTypeFor(column.type_oid, column.type_modifier, registry_),
         .metadata_json = SourceTypeMetadata(source_types[index], attnums[index])}));
    spdlog::info("pipeline {}: table {} gains column {} ({})", config_.name, table.qualified,
                 column.name, source_types[index]);
  }
  change.metadata().configuration["freshet.primaryKey"] = KeyJson(key);
  change.Stage(txn);
  FRESHET_RETURN_IF_ERROR(txn.Commit("CHANGE COLUMN").status());

  std::vector<std::string> old_names;
  for (const LakeColumn& column : table.columns) old_names.push_back(column.name);
  FRESHET_RETURN_IF_ERROR(OpenTable(table, relation));
  // Where each new column was before the change (-1: new, NULL in rows converted before).
  std::vector<int> from_old(table.columns.size(), -1);
  for (size_t index = 0; index < table.columns.size(); ++index) {
    std::string name = table.columns[index].name;
    // A column added again under a dropped column's name is new.
    if (std::find(diff.dropped.begin(), diff.dropped.end(), name) != diff.dropped.end()) continue;
    for (const auto& [from, to] : diff.renamed) {
      if (to == name) name = from;
    }
    auto old = std::find(old_names.begin(), old_names.end(), name);
    if (old != old_names.end()) from_old[index] = static_cast<int>(old - old_names.begin());
  }
  auto remap = [&](auto& values) {
    if (values.empty()) return;
    std::decay_t<decltype(values)> out(from_old.size());
    for (size_t index = 0; index < from_old.size(); ++index) {
      if (from_old[index] >= 0) out[index] = values[static_cast<size_t>(from_old[index])];
    }
    values = std::move(out);
  };
  auto rearrange = [&](lake::RowChange& row) {
    remap(row.row);
    remap(row.unchanged);
    remap(row.old_row);
  };
  for (lake::RowChange& row : table.pending.changes) rearrange(row);
  for (auto& [owner, row] : staged_) {
    if (owner == &table) rearrange(row);
  }
  table.version_gauge->Set(static_cast<double>(table.version));
  return Status::Ok();
}

Status Pipeline::Impl::OnBegin(const pg::TransactionInfo& info) {
  current_ = info;
  staged_.clear();
  staged_bytes_ = 0;
  return Status::Ok();
}

Status Pipeline::Impl::OnSchemaEvent(const pg::SchemaEvent& event) {
  if (event.kind == pg::SchemaEventKind::kTableAdded) {
    spdlog::debug("pipeline {}: {}", config_.name, event.Describe());
  } else {
    spdlog::info("pipeline {}: schema change: {}", config_.name, event.Describe());
  }
  if (event.relation == nullptr) return Status::Ok();
  // The lake table follows the whole new relation at once (PrepareConverter), so the events of
  // one relation change apply together.
  return TableFor(event.relation).status();
}

Status Pipeline::Impl::OnChange(pg::Change&& change) {
  if (change.relation == nullptr) return Status::Ok();
  if (change.kind == pg::ChangeKind::kRead) return OnCopiedRow(std::move(change));
  // Consecutive changes mostly share a relation: the table it maps to is remembered while the
  // table's converter is still the one built for that relation.
  Table* table = last_table_;
  if (table == nullptr || table->relation.get() != change.relation.get()) {
    FRESHET_ASSIGN_OR_RETURN(table, TableFor(change.relation));
    last_table_ = table;
  }
  if (table == nullptr) return Status::Ok();
  return StageRow(*table, table->paused ? nullptr : table->converter.get(), change);
}

// Stages `change` for `table` in the open transaction, unless the table holds it already
// (replayed) or there is no converter for it (paused).
Status Pipeline::Impl::StageRow(Table& table, const RowConverter* converter,
                                const pg::Change& change) {
  if (converter == nullptr ||
      static_cast<int64_t>(current_.commit_lsn.value()) <= table.committed_lsn) {
    table.skipped->Increment();
    return Status::Ok();
  }
  FRESHET_ASSIGN_OR_RETURN(lake::RowChange row,
                           converter->Convert(change, current_.commit_lsn.value()));
  staged_bytes_ += BufferedBytes(change);
  staged_.emplace_back(&table, std::move(row));
  return Status::Ok();
}

// Copied rows are read with the catalog's columns, which may be ahead of the stream (and so of
// the lake table): they are written only while those match the lake table; otherwise they are
// skipped and the copy starts again, by then with the columns the stream has caught up with.
Status Pipeline::Impl::OnCopiedRow(pg::Change&& change) {
  FRESHET_ASSIGN_OR_RETURN(Table * table, TableFor(change.relation, /*follow_relation=*/false));
  if (table == nullptr || table->paused) return Status::Ok();
  if (table->copy_relation.get() != change.relation.get()) {
    table->copy_relation = change.relation;
    table->copy_converter.reset();
    FRESHET_ASSIGN_OR_RETURN(std::vector<LakeColumn> source, LakeColumnsOf(*change.relation));
    auto no_attnums = []() -> Result<std::vector<int>> { return std::vector<int>{}; };
    FRESHET_ASSIGN_OR_RETURN(ColumnDiff diff,
                             DiffColumns(table->columns, table->attnums, source, no_attnums));
    if (diff.empty()) {
      table->copy_converter = std::make_unique<RowConverter>(*change.relation, table->columns,
                                                             registry_, UnrepresentableRule());
    } else if (backfill_) {
      backfill_->Restart(table->qualified);
    }
  }
  return StageRow(*table, table->copy_converter.get(), change);
}

Status Pipeline::Impl::OnCommit(const pg::TransactionInfo& info) {
  std::map<Table*, uint64_t> touched;
  for (auto& [table, change] : staged_) {
    table->pending.changes.push_back(std::move(change));
    table->pending_last_lsn = static_cast<int64_t>(info.commit_lsn.value());
    ++touched[table];
  }
  if (!staged_.empty()) {
    // Spread the transaction's bytes over its tables by row count.
    for (auto& [table, rows] : touched) {
      uint64_t share = staged_bytes_ * rows / staged_.size();
      table->pending_bytes += share;
      table->buffer_bytes->Set(static_cast<double>(table->pending_bytes));
    }
    pending_rows_ += staged_.size();
    pending_bytes_ += staged_bytes_;
    if (!oldest_pending_) oldest_pending_ = Clock::now();
    // A backfill's chunk has no source commit time: it does not count for freshness.
    if (info.commit_time != pg::Timestamp{}) pending_commit_times_ms_.push_back(CommitTimeMs(info));
  }
  staged_.clear();
  staged_bytes_ = 0;
  last_commit_lsn_ = info.commit_lsn;
  if (info.commit_time != pg::Timestamp{}) last_commit_time_ms_ = CommitTimeMs(info);
  unconfirmed_end_ = info.end_lsn;
  ++commits_seen_;
  buffer_bytes_->Set(static_cast<double>(pending_bytes_));
  return MaybeFlush();
}

Status Pipeline::Impl::OnRow(const pg::SnapshotChunk&, pg::Change&& change) {
  if (++snapshot_rows_since_check_ % 1024 == 0 && stop_()) {
    return Status::Cancelled("stopping");
  }
  snapshot_percent_->Set(progress_.Percent());
  FRESHET_ASSIGN_OR_RETURN(Table * table, TableFor(change.relation));
  if (table == nullptr || table->paused) return Status::Ok();
  FRESHET_ASSIGN_OR_RETURN(lake::RowChange row, table->converter->Convert(change, 0));
  uint64_t bytes = BufferedBytes(change);
  table->pending.changes.push_back(std::move(row));
  table->pending_bytes += bytes;
  pending_rows_ += 1;
  pending_bytes_ += bytes;
  if (pending_rows_ >= config_.flush.max_rows || pending_bytes_ >= config_.flush.max_bytes ||
      pending_bytes_ >= config_.memory_limit_bytes / 2) {
    return FlushSnapshot();
  }
  return Status::Ok();
}

Status Pipeline::Impl::OnChunkDone(const pg::SnapshotChunk& chunk) {
  FRESHET_RETURN_IF_ERROR(FlushSnapshot());
  snapshot_state_.chunks.insert(chunk);
  snapshot_percent_->Set(progress_.Percent());
  return SaveSnapshotState();
}

Status Pipeline::Impl::SaveSnapshotState() {
  return fs_.Put(SnapshotStatePath(config_.lake.root, config_.name),
                 SnapshotStateJson(snapshot_state_));
}

std::map<std::string, lake::Version> Pipeline::Impl::TableVersions() const {
  std::map<std::string, lake::Version> versions;
  for (const auto& [name, table] : tables_) versions[name] = table->version;
  return versions;
}

std::unique_ptr<Pipeline::Impl::FlushJob> Pipeline::Impl::TakeJob(bool snapshot) {
  auto job = std::make_unique<FlushJob>();
  job->snapshot = snapshot;
  job->versions = TableVersions();
  for (auto& [name, table] : tables_) {
    if (table->pending.changes.empty()) continue;
    FlushJob::Part& part = job->parts.emplace_back();
    part.table = table.get();
    part.batch = std::exchange(table->pending, lake::ChangeBatch());
    part.batch.app_id = config_.AppId();
    // Snapshot rows carry txn version 0 (or what the table already holds): they are older
    // than every streamed transaction.
    part.batch.app_version =
        snapshot ? std::max<int64_t>(table->committed_lsn, 0) : table->pending_last_lsn;
    part.rows = part.batch.changes.size();
    part.bytes = std::exchange(table->pending_bytes, 0);
    table->buffer_bytes->Set(0);
  }
  job->bytes = std::exchange(pending_bytes_, 0);
  pending_rows_ = 0;
  buffer_bytes_->Set(0);
  if (!snapshot) {
    job->watermark = !job->parts.empty();
    job->lsn = last_commit_lsn_;
    job->commit_time_ms = last_commit_time_ms_;
    job->confirm = std::exchange(unconfirmed_end_, std::nullopt);
    job->commit_times_ms = std::exchange(pending_commit_times_ms_, {});
    job->oldest = std::exchange(oldest_pending_, std::nullopt);
  }
  return job;
}

// Runs on the flush worker (or, for snapshot rows, on the reader thread): touches only the
// job, the writers of its tables (nothing else uses them until FinishJob) and the file system.
Status Pipeline::Impl::ExecuteJob(FlushJob& job) {
  auto start = Clock::now();
  // Order: a table under compaction (its writer lock held) last, so the others do not wait
  // behind it; otherwise the most rows first, so the two commit threads finish together.
  std::vector<std::pair<bool, FlushJob::Part*>> order;
  for (FlushJob::Part& part : job.parts) {
    std::unique_lock probe(*part.table->writer_lock, std::try_to_lock);
    order.emplace_back(!probe.owns_lock(), &part);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return !a.first;
    return a.second->rows > b.second->rows;
  });
  std::vector<std::function<Status()>> commits;
  commits.reserve(job.parts.size());
  for (const auto& entry : order) {
    FlushJob::Part& part = *entry.second;
    commits.push_back([&part] {
      auto asked = Clock::now();
      std::lock_guard writer(*part.table->writer_lock);
      lake::ApplyStats& stats = part.stats;
      auto begun = Clock::now();
      part.locked = begun - asked;
      auto version = part.table->writer->Apply(part.batch, &stats);
      part.took = Clock::now() - begun;
      if (!version.ok()) {
        return Status(version.status().code(), fmt::format("committing to {}: {}", part.table->path,
                                                           version.status().message()));
      }
      part.version = stats.compacted_version >= 0 ? stats.compacted_version : *version;
      // The rows are in the lake now: free them before the other tables finish.
      std::vector<lake::RowChange>().swap(part.batch.changes);
      return Status::Ok();
    });
  }
  // Two at a time: the machine's cores are shared with the reader and DuckDB's own threads.
  FRESHET_RETURN_IF_ERROR(RunParallel(commits, /*threads=*/2));
  job.committed = Clock::now() - start;
  job.visible_ms = NowMs();
  for (const FlushJob::Part& part : job.parts) job.versions[part.table->qualified] = part.version;
  if (job.watermark) {
    FRESHET_RETURN_IF_ERROR(WriteWatermark(job.lsn, job.commit_time_ms, job.versions));
  }
  job.took = Clock::now() - start;
  return Status::Ok();
}

// Back on the reader thread, after ExecuteJob succeeded: every table of the job is committed
// and the watermark written, so the LSN may be confirmed.
Status Pipeline::Impl::FinishJob(FlushJob& job) {
  for (const FlushJob::Part& part : job.parts) {
    Table& table = *part.table;
    // Every checkpoint version the commits passed (a compaction may add a second version).
    if (table.checkpoint_interval > 0 && maintenance_ &&
        part.version / table.checkpoint_interval > table.version / table.checkpoint_interval) {
      Table* maintained = &table;
      maintenance_->Schedule(
          {.path = table.path,
           .writer_lock = table.writer_lock,
           .compactions = table.compactions,
           .commit_compaction =
               [maintained](engine::Connection& connection, const lake::Transaction& staged,
                            lake::OptimizeResult rewritten) {
                 return maintained->writer->CommitStagedCompaction(connection, staged,
                                                                   std::move(rewritten));
               }},
          part.version);
    }
    table.version = part.version;
    table.committed_lsn = part.batch.app_version;
    table.rows->Increment(static_cast<double>(part.rows));
    table.commits->Increment();
    table.bytes->Increment(static_cast<double>(part.bytes));
    table.version_gauge->Set(static_cast<double>(table.version));
    table.last_commit_ms->Set(static_cast<double>(job.visible_ms));
    table.commit_seconds->Observe(std::chrono::duration<double>(part.took).count());
    if (!job.snapshot) {
      table.freshness->Set(static_cast<double>(job.visible_ms - job.commit_time_ms) / 1000.0);
    }
  }
  if (job.snapshot) return Status::Ok();
  if (!job.parts.empty() && spdlog::should_log(spdlog::level::debug)) LogFlush(job);
  if (!job.parts.empty()) {
    flush_seconds_->Observe(std::chrono::duration<double>(job.took).count());
    if (job.oldest) {
      flush_wait_seconds_->Observe(
          std::chrono::duration<double>(job.started - *job.oldest).count());
    }
  }
  for (int64_t commit_ms : job.commit_times_ms) {
    freshness_->Observe(static_cast<double>(std::max<int64_t>(job.visible_ms - commit_ms, 0)) /
                        1000.0);
    if (options_.on_visible) options_.on_visible(commit_ms, job.visible_ms);
  }
  if (maintenance_) maintenance_->ReleaseMemory();
  if (job.confirm && capture_ != nullptr) {
    capture_->Confirm(*job.confirm);
    confirmed_lsn_->Set(static_cast<double>(job.confirm->value()));
  }
  if (!job.parts.empty()) {
    // A moving average of the commit time, weighted to follow a slowdown quickly.
    expected_commit_ = job.took > expected_commit_ ? (expected_commit_ + job.took * 3) / 4
                                                   : (expected_commit_ * 3 + job.took) / 4;
  }
  flushes_->Increment();
  return Status::Ok();
}

// Where a flush's time went, for finding what makes freshness slow (debug level).
void Pipeline::Impl::LogFlush(const FlushJob& job) const {
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  std::string tables;
  for (const FlushJob::Part& part : job.parts) {
    const lake::ApplyStats& s = part.stats;
    tables += fmt::format(
        " | {} rows {} lock {:.3f} apply {:.3f} (begin {:.3f} plan {:.3f} write {:.3f} commit "
        "{:.3f} index {:.3f} compact {:.3f}) read {}",
        part.table->qualified, part.rows, seconds(part.locked), seconds(part.took), s.begin_s,
        s.plan_s, s.write_s, s.commit_s, s.index_s, s.compact_s, s.rows_read);
  }
  spdlog::debug(
      "pipeline {}: flush oldest_age {:.3f} queued {:.3f} took {:.3f} commits {:.3f} "
      "watermark {:.3f} bytes {}{}",
      config_.name, job.oldest ? seconds(job.started - *job.oldest) : 0.0, seconds(job.queued),
      seconds(job.took), seconds(job.committed), seconds(job.took - job.committed), job.bytes,
      tables);
}

Status Pipeline::Impl::StartFlush() {
  std::unique_ptr<FlushJob> job = TakeJob(/*snapshot=*/false);
  if (job->parts.empty()) return FinishJob(*job);  // nothing to commit: confirm at once
  in_flight_bytes_ = job->bytes;
  job->started = Clock::now();
  if (job->oldest) {
    // Due since its budget (less the expected commit time) was spent, if that is in the past.
    auto due = *job->oldest + config_.flush.max_latency - expected_commit_;
    job->queued = std::max<Clock::duration>(job->started - due, Clock::duration{0});
  }
  FlushJob* running = job.get();
  in_flight_ = std::move(job);
  worker_.Start([this, running] { return ExecuteJob(*running); });
  return Status::Ok();
}

Status Pipeline::Impl::CollectFlush(bool wait) {
  if (!in_flight_) return Status::Ok();
  std::optional<Status> status = wait ? worker_.Wait() : worker_.TryTake();
  if (!status) return Status::Ok();
  std::unique_ptr<FlushJob> job = std::move(in_flight_);
  in_flight_bytes_ = 0;
  FRESHET_RETURN_IF_ERROR(*status);
  return FinishJob(*job);
}

Status Pipeline::Impl::Flush() {
  FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/true));
  FRESHET_RETURN_IF_ERROR(StartFlush());
  return CollectFlush(/*wait=*/true);
}

Status Pipeline::Impl::FlushSnapshot() {
  FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/true));
  std::unique_ptr<FlushJob> job = TakeJob(/*snapshot=*/true);
  FRESHET_RETURN_IF_ERROR(ExecuteJob(*job));
  return FinishJob(*job);
}

bool Pipeline::Impl::FlushFull() const {
  // Changes get half of memory_limit (row caches an eighth; the rest is DuckDB's working memory
  // during commits, the key indexes and the heap's slack: see memory_limit in README.md).
  return pending_rows_ >= config_.flush.max_rows || pending_bytes_ >= config_.flush.max_bytes ||
         pending_bytes_ + in_flight_bytes_ >= config_.memory_limit_bytes / 2;
}

// The oldest buffered transaction must be visible max_latency after it arrived: the flush
// starts when what is left of that budget is what recent flushes took to commit.
bool Pipeline::Impl::FlushDue(Clock::time_point now) const {
  return oldest_pending_ && now - *oldest_pending_ + expected_commit_ >= config_.flush.max_latency;
}

// After each source transaction: a flush that is done is finished (its LSN confirmed); full
// buffers wait for the flush under way and go out (backpressure: nothing is read meanwhile);
// buffers whose latency budget is spent go out when no flush is under way.
Status Pipeline::Impl::MaybeFlush() {
  FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/false));
  if (FlushFull()) {
    FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/true));
    return StartFlush();
  }
  if (!in_flight_ && FlushDue(Clock::now())) return StartFlush();
  return Status::Ok();
}

Status Pipeline::Impl::WriteWatermark(Lsn lsn, int64_t commit_time_ms,
                                      const std::map<std::string, lake::Version>& versions) {
  nlohmann::json tables = nlohmann::json::object();
  for (const auto& [name, version] : versions) tables[name] = version;
  nlohmann::json watermark{{"pipeline", config_.name},
                           {"lsn", lsn.ToString()},
                           {"commit_time_ms", commit_time_ms},
                           {"tables", tables}};
  std::string folder = WatermarkFolder(config_.lake.root);
  FRESHET_RETURN_IF_ERROR(
      fs_.Put(fmt::format("{}/{:020d}.json", folder, lsn.value()), watermark.dump()));
  // Keep the log bounded: every 256 flushes, drop all but the newest 4096 files.
  if (++flush_count_ % 256 == 0) {
    auto files = fs_.ListNames(folder);
    if (files.ok() && files->size() > 4096) {
      for (size_t index = 0; index + 4096 < files->size(); ++index) {
        (void)fs_.Delete((*files)[index].path);
      }
    }
  }
  return Status::Ok();
}

void Pipeline::Impl::UpdateLag() {
  auto now = Clock::now();
  // The flush under way holds the oldest transactions not yet in the lake.
  std::optional<Clock::time_point> oldest = in_flight_ ? in_flight_->oldest : oldest_pending_;
  lag_seconds_->Set(oldest ? std::chrono::duration<double>(now - *oldest).count() : 0.0);
  if (now < next_lag_update_ || !sql_) return;
  next_lag_update_ = now + 2s;
  auto rows = sql_->Query(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM "
      "pg_replication_slots WHERE slot_name = $1",
      {config_.source.slot});
  if (rows.ok() && rows->size() == 1) {
    auto lag = rows->GetInt(0, 0);
    if (lag.ok()) lag_bytes_->Set(static_cast<double>(*lag));
  }
}

// Opens the lake table of every published table (creating those the snapshot found empty), so
// each watermark lists every table of the pipeline and readers see empty tables as empty.
Status Pipeline::Impl::OpenPublishedTables() {
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows rows,
      sql_->Query("SELECT schemaname || '.' || tablename, format('%I.%I', schemaname, tablename) "
                  "FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1",
                  {config_.source.publication}));
  std::vector<std::string> missing;  // as SQL names them
  std::set<std::string> published;
  for (int row = 0; row < rows.size(); ++row) {
    std::string name(*rows.Get(row, 0));
    if (config_.Includes(name) && !tables_.contains(name)) missing.emplace_back(*rows.Get(row, 1));
    published.insert(std::move(name));
  }
  // Tables that left the publication: dropped at the source when the catalog no longer has them.
  for (auto& [name, table] : tables_) {
    if (published.contains(name) || table->dropped || table->gone_at) continue;
    FRESHET_ASSIGN_OR_RETURN(
        pg::Rows gone,
        sql_->Query("SELECT to_regclass($1) IS NULL, pg_current_wal_insert_lsn()::text",
                    {SqlTableName(name)}));
    FRESHET_ASSIGN_OR_RETURN(bool dropped, gone.GetBool(0, 0));
    if (!dropped) continue;
    FRESHET_ASSIGN_OR_RETURN(Lsn now, Lsn::Parse(*gone.Get(0, 1)));
    table->gone_at = now;
  }
  if (missing.empty()) return Status::Ok();
  FRESHET_ASSIGN_OR_RETURN(pg::SnapshotPlan plan,
                           pg::PlanSnapshot(*sql_, missing, /*pages_per_chunk=*/1u << 30));
  // The catalog can be ahead of the stream: changes made while freshet was stopped come with
  // the relation they were made under, and a rename applied now from the catalog would look
  // undone by them. So tables the lake already has only open here; their schema follows the
  // stream's relations. A new table is created as the catalog has it (see CreateLakeTable).
  for (const pg::SnapshotTable& table : plan.tables) {
    FRESHET_RETURN_IF_ERROR(TableFor(table.relation, /*follow_relation=*/false).status());
  }
  return Status::Ok();
}

// A "SET TBLPROPERTIES" commit of what `edit` changes in the table's metadata.
Status Pipeline::Impl::SetProperties(const Table& table,
                                     const std::function<void(lake::SchemaChange&)>& edit) {
  // A metadata commit, which a compaction under way would conflict with.
  if (maintenance_) maintenance_->Pause();
  Status committed = [&]() -> Status {
    FRESHET_ASSIGN_OR_RETURN(lake::Transaction txn,
                             lake::Transaction::Begin(fs_, *engine_, table.path));
    lake::SchemaChange change(txn.read_snapshot());
    edit(change);
    change.Stage(txn);
    return txn.Commit("SET TBLPROPERTIES").status();
  }();
  if (maintenance_) maintenance_->Resume();
  return committed;
}

// The configured change feed setting differs from the lake table's: one metadata commit, and
// the commits after it follow it (the writer reads the setting from each snapshot).
Result<lake::Snapshot> Pipeline::Impl::SetChangeFeed(const Table& table, bool enabled) {
  FRESHET_RETURN_IF_ERROR(
      SetProperties(table, [&](lake::SchemaChange& change) { change.SetChangeDataFeed(enabled); }));
  spdlog::info("pipeline {}: the change data feed of {} is now {} (overrides[].change_feed)",
               config_.name, table.path, enabled ? "on" : "off");
  return lake::Snapshot::Load(fs_, *engine_, table.path);
}

// The source table is gone and every change it had is in the lake: the lake table stays, with
// freshet.sourceDropped = when that was noticed, and takes nothing more.
Status Pipeline::Impl::MarkDropped(Table& table) {
  FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/true));
  std::string when =
      fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                  std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  FRESHET_RETURN_IF_ERROR(SetProperties(table, [&](lake::SchemaChange& change) {
    change.metadata().configuration[kSourceDroppedKey] = when;
  }));
  // The writer sees the commit as another writer's and reloads.
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot,
                           lake::Snapshot::Load(fs_, *engine_, table.path));
  table.version = snapshot.version();
  table.version_gauge->Set(static_cast<double>(table.version));
  table.dropped = true;
  spdlog::info("pipeline {}: source table {} was dropped; its lake table {} stays, marked {}={}",
               config_.name, table.qualified, table.path, kSourceDroppedKey, when);
  return Status::Ok();
}

Status Pipeline::Impl::ServeResnapshotRequests() {
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> requested,
                           PendingResnapshots(fs_, config_.lake.root, config_.name));
  for (const std::string& table : requested) {
    FRESHET_RETURN_IF_ERROR(Resnapshot(table));
    FRESHET_RETURN_IF_ERROR(DeleteResnapshotRequest(fs_, config_.lake.root, config_.name, table));
  }
  return Status::Ok();
}

// The steps of pipeline/resnapshot.h.
Status Pipeline::Impl::Resnapshot(const std::string& qualified) {
  size_t dot = qualified.find('.');
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows published,
      sql_->Query(
          "SELECT format('%I.%I', schemaname, tablename) FROM pg_publication_tables "
          "WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
          {config_.source.publication, qualified.substr(0, dot), qualified.substr(dot + 1)}));
  if (!config_.Includes(qualified) || published.size() == 0) {
    spdlog::warn(
        "pipeline {}: re-snapshot of {} refused, request deleted: {}", config_.name, qualified,
        !config_.Includes(qualified)
            ? fmt::format("pipelines[{}].source.postgres.tables does not include it", config_.name)
            : fmt::format("publication {} does not publish it (does the table exist?)",
                          config_.source.publication));
    return Status::Ok();
  }
  FRESHET_ASSIGN_OR_RETURN(
      pg::SnapshotPlan plan,
      pg::PlanSnapshot(*sql_, {std::string(*published.Get(0, 0))}, /*pages_per_chunk=*/1u << 30));
  if (plan.tables.empty()) return Status::Ok();
  std::shared_ptr<const pg::Relation> relation = plan.tables[0].relation;
  // What is buffered goes to the lake first, under the relation it was read with.
  FRESHET_RETURN_IF_ERROR(Flush());
  Table* table = nullptr;
  if (auto open = tables_.find(qualified); open != tables_.end()) {
    table = open->second.get();
  } else {
    bool existed =
        lake::LatestVersion(fs_, TablePath(config_.lake.root, relation->schema, relation->name))
            .ok();
    FRESHET_ASSIGN_OR_RETURN(table, TableFor(relation, /*follow_relation=*/false));
    if (table == nullptr || !existed) return Status::Ok();  // new: created and backfilled
  }
  FRESHET_RETURN_IF_ERROR(backfill_->Add(table->qualified));
  backfill_->Restart(table->qualified);

  ResnapshotTarget target{
      .source_oid = relation->oid, .append_only = table->append_only, .app_id = config_.AppId()};
  FRESHET_RETURN_IF_ERROR(DefinitionOf(*table, *relation, &target.schema, &target.key));
  FRESHET_ASSIGN_OR_RETURN(Lsn now, WalInsertPosition());
  target.app_version = static_cast<int64_t>(now.value());
  // A metadata commit, which a compaction under way would conflict with.
  maintenance_->Pause();
  Result<lake::Version> committed = CommitResnapshot(fs_, *engine_, table->path, target);
  maintenance_->Resume();
  FRESHET_RETURN_IF_ERROR(committed.status());
  FRESHET_RETURN_IF_ERROR(OpenTable(*table, *relation));
  bool was_paused = std::exchange(table->paused, false);
  table->gone_at.reset();
  last_table_ = nullptr;
  table->version_gauge->Set(static_cast<double>(table->version));
  spdlog::info(
      "pipeline {}: re-snapshot of {}{}: version {} {}, with the source's columns; its rows "
      "are copied anew while the other tables stream (earlier versions stay readable)",
      config_.name, table->qualified, was_paused ? " (it was paused; resumed)" : "", *committed,
      table->append_only ? "keeps its history" : "emptied it");
  return Status::Ok();
}

Status Pipeline::Impl::MaintainTables() {
  Clock::time_point now = Clock::now();
  if (now >= next_publication_check_) {
    next_publication_check_ = now + 5s;
    FRESHET_RETURN_IF_ERROR(OpenPublishedTables());
  }
  if (now >= next_request_check_) {
    next_request_check_ = now + 1s;
    FRESHET_RETURN_IF_ERROR(ServeResnapshotRequests());
  }
  // Every change up to the confirmed position is in the lake: the flushes confirm what they
  // committed, and an idle stream confirms its heartbeats.
  Lsn durable = capture_->confirmed();
  FRESHET_RETURN_IF_ERROR(backfill_->Step(*sql_, durable));
  for (auto& [name, table] : tables_) {
    if (table->gone_at && !table->dropped && durable >= *table->gone_at) {
      FRESHET_RETURN_IF_ERROR(MarkDropped(*table));
    }
  }
  backfill_tables_->Set(static_cast<double>(backfill_->tables().size()));
  return Status::Ok();
}

Status Pipeline::Impl::RunInner(const std::function<bool()>& stop) {
  stop_ = stop;
  FRESHET_RETURN_IF_ERROR(Prepare());
  std::vector<std::string> published;
  FRESHET_RETURN_IF_ERROR(CheckTables(*sql_, &published));

  std::string state_path = SnapshotStatePath(config_.lake.root, config_.name);
  auto state_text = fs_.Get(state_path);
  if (state_text.ok()) {
    FRESHET_ASSIGN_OR_RETURN(snapshot_state_, ParseSnapshotState(state_path, *state_text));
  } else if (!state_text.status().Is(Code::kNotFound)) {
    return state_text.status();
  }

  backfill_ = std::make_unique<Backfill>(
      fs_, BackfillStatePath(config_.lake.root, config_.name),
      fmt::format("freshet_backfill_{}_{:x}", config_.name, std::random_device{}()), *this);
  FRESHET_RETURN_IF_ERROR(backfill_->Load());

  pg::SetupOptions setup;
  setup.connect = connect_;
  setup.publication = {.name = config_.source.publication, .tables = published};
  setup.slot = config_.source.slot;
  setup.mode = ToPgMode(config_.source.snapshot);
  setup.snapshot_complete = snapshot_state_.complete;
  setup.finished_chunks = snapshot_state_.chunks;
  if (setup.mode != pg::SnapshotMode::kNever && !snapshot_state_.complete) {
    SetState(PipelineState::kSnapshotting,
             snapshot_state_.chunks.empty()
                 ? "initial snapshot of the published tables"
                 : fmt::format("resuming the initial snapshot, {} chunks already done",
                               snapshot_state_.chunks.size()));
  }
  auto setup_result = pg::SetUpCapture(setup, *this, progress_);
  if (!setup_result.ok()) {
    if (stop()) {
      SetState(PipelineState::kStopped, "stopped during the snapshot; it resumes on restart");
      return Status::Ok();
    }
    return setup_result.status();
  }
  if (setup_result->snapshotted || setup.mode == pg::SnapshotMode::kNever) {
    FRESHET_RETURN_IF_ERROR(FlushSnapshot());
    snapshot_state_.complete = true;
    FRESHET_RETURN_IF_ERROR(SaveSnapshotState());
    if (setup_result->snapshotted) {
      FRESHET_RETURN_IF_ERROR(OpenPublishedTables());
      FRESHET_RETURN_IF_ERROR(WriteWatermark(setup_result->start_lsn, NowMs(), TableVersions()));
      spdlog::info("pipeline {}: initial snapshot done ({} rows)", config_.name,
                   progress_.rows.load());
    }
  }
  snapshot_percent_->Set(100);
  // Every watermark lists every table of the pipeline, also after a restart. From here on a
  // table new to the lake joins with a backfill (before, tables missing after this run's
  // initial snapshot were empty at its start: the stream holds all their rows).
  backfill_joining_ = true;
  FRESHET_RETURN_IF_ERROR(OpenPublishedTables());
  if (!setup_result->stream) {
    SetState(PipelineState::kStopped, "snapshot: initial_only, not streaming");
    return Status::Ok();
  }

  pg::CaptureOptions capture_options;
  capture_options.connect = connect_;
  capture_options.slot = config_.source.slot;
  capture_options.publication = config_.source.publication;
  capture_options.heartbeat_interval = 10s;
  capture_options.status_interval = 1s;
  capture_ = std::make_unique<pg::ChangeCapture>(capture_options, *backfill_);
  SetState(PipelineState::kStreaming, fmt::format("from slot {} at {}", config_.source.slot,
                                                  setup_result->start_lsn.ToString()));
  while (!stop()) {
    uint64_t commits_before = commits_seen_;
    // While a flush runs, poll in short slices so the next one starts soon after it ends.
    FRESHET_RETURN_IF_ERROR(
        capture_->Poll(in_flight_ ? std::min(options_.poll_wait, std::chrono::milliseconds(10))
                                  : options_.poll_wait));
    FRESHET_RETURN_IF_ERROR(CollectFlush(/*wait=*/false));
    // Idle (no transaction arrived in a whole slice): the reader has caught up, so what is
    // buffered goes out now instead of waiting for its latency budget; transactions that
    // touched no table are confirmed.
    bool idle = commits_seen_ == commits_before;
    if (!in_flight_ && (idle ? oldest_pending_ || unconfirmed_end_ : FlushDue(Clock::now()))) {
      FRESHET_RETURN_IF_ERROR(StartFlush());
    }
    FRESHET_RETURN_IF_ERROR(MaintainTables());
    UpdateLag();
  }
  FRESHET_RETURN_IF_ERROR(Flush());
  FRESHET_RETURN_IF_ERROR(capture_->Close());
  SetState(PipelineState::kStopped, fmt::format("flushed up to {}", last_commit_lsn_.ToString()));
  return Status::Ok();
}

Pipeline::Pipeline(PipelineConfig config, PipelineRunOptions options)
    : config_(std::move(config)),
      impl_(std::make_unique<Impl>(config_, std::move(options), state_)) {}

Pipeline::~Pipeline() = default;

Status Pipeline::Run(const std::function<bool()>& stop) {
  Status status = impl_->Run(stop);
  // The caller reports the error (freshet run prints it as its last line).
  if (!status.ok()) state_ = PipelineState::kFailed;
  return status;
}

}  // namespace freshet::pipeline
