#include "pg/snapshot_reader.h"

#include <mutex>
#include <thread>

#include <libpq-fe.h>

#include "pg/copy_binary.h"

namespace freshet::pg {

Result<SnapshotMode> ParseSnapshotMode(std::string_view text) {
  if (text == "initial") return SnapshotMode::kInitial;
  if (text == "never") return SnapshotMode::kNever;
  if (text == "initial_only") return SnapshotMode::kInitialOnly;
  return Status::InvalidArgument("snapshot mode '{}': use initial, never or initial_only", text);
}

double SnapshotProgress::Percent() const {
  if (pages_total == 0) return chunks_done.load() > 0 ? 100.0 : 0.0;
  return std::min(
      100.0, 100.0 * static_cast<double>(pages_done.load()) / static_cast<double>(pages_total));
}

std::chrono::seconds SnapshotProgress::Eta() const {
  uint64_t done = pages_done.load();
  if (done == 0 || done >= pages_total) return std::chrono::seconds(0);
  auto elapsed = std::chrono::steady_clock::now() - started;
  auto remaining = elapsed * static_cast<double>(pages_total - done) / static_cast<double>(done);
  return std::chrono::duration_cast<std::chrono::seconds>(remaining);
}

Result<SnapshotPlan> PlanSnapshot(Connection& connection, const std::vector<std::string>& tables,
                                  uint32_t pages_per_chunk) {
  if (pages_per_chunk == 0) return Status::InvalidArgument("pages_per_chunk must be positive");
  SnapshotPlan plan;
  for (const std::string& name : tables) {
    FRESHET_ASSIGN_OR_RETURN(
        Rows rows,
        connection.Query(
            "SELECT c.oid, n.nspname, c.relname, c.relreplident, greatest(c.relpages, 0), "
            "a.attname, a.atttypid, a.atttypmod, coalesce(a.attnum = ANY(i.indkey), false), "
            "c.relkind = 'p' "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "AND a.attgenerated = '' "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
            "WHERE c.oid = $1::regclass ORDER BY a.attnum",
            {name}));
    if (rows.size() == 0) return Status::NotFound("table {} has no columns to snapshot", name);
    auto relation = std::make_shared<Relation>();
    FRESHET_ASSIGN_OR_RETURN(int64_t oid, rows.GetInt(0, 0));
    relation->oid = static_cast<uint32_t>(oid);
    relation->schema = std::string(*rows.Get(0, 1));
    relation->name = std::string(*rows.Get(0, 2));
    relation->replica_identity = rows.Get(0, 3)->front();
    FRESHET_ASSIGN_OR_RETURN(int64_t pages, rows.GetInt(0, 4));
    for (int row = 0; row < rows.size(); ++row) {
      Column column;
      column.name = std::string(*rows.Get(row, 5));
      FRESHET_ASSIGN_OR_RETURN(int64_t type, rows.GetInt(row, 6));
      FRESHET_ASSIGN_OR_RETURN(int64_t modifier, rows.GetInt(row, 7));
      FRESHET_ASSIGN_OR_RETURN(column.key, rows.GetBool(row, 8));
      column.type_oid = static_cast<uint32_t>(type);
      column.type_modifier = static_cast<int32_t>(modifier);
      relation->columns.push_back(std::move(column));
    }
    size_t index = plan.tables.size();
    FRESHET_ASSIGN_OR_RETURN(bool partitioned, rows.GetBool(0, 9));
    plan.tables.push_back({relation, pages, partitioned});
    for (int64_t first = 0;; first += pages_per_chunk) {
      SnapshotChunk chunk{.table = index, .first_page = static_cast<uint32_t>(first)};
      if (first + pages_per_chunk < pages) {
        chunk.end_page = static_cast<uint32_t>(first + pages_per_chunk);
        plan.chunks.push_back(chunk);
        continue;
      }
      plan.chunks.push_back(chunk);
      break;
    }
  }
  return plan;
}

namespace {

class Worker {
 public:
  Worker(const SnapshotPlan& plan, SnapshotSink& sink, SnapshotProgress& progress,
         std::mutex& sink_mutex)
      : plan_(plan), sink_(sink), progress_(progress), sink_mutex_(sink_mutex) {}

  Status Open(const SnapshotOptions& options) {
    FRESHET_ASSIGN_OR_RETURN(Connection connection, Connection::Open(options.connect));
    connection_ = std::make_unique<Connection>(std::move(connection));
    if (options.snapshot_name.empty()) {
      // Resuming after the exported snapshot is gone: a snapshot of now, newer than the
      // slot's position (see the header for why that converges).
      return connection_->Execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    }
    Status status = connection_->Execute(
        fmt::format("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                    QuoteLiteral(options.snapshot_name)));
    if (!status.ok()) {
      return status.WithContext(
          "importing the slot's exported snapshot (it lives only while the connection that "
          "created the slot stays open and idle)");
    }
    return Status::Ok();
  }

  Status Read(const SnapshotChunk& chunk) {
    const SnapshotTable& table = plan_.tables[chunk.table];
    std::string columns;
    for (const Column& column : table.relation->columns) {
      columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(column.name);
    }
    std::string name =
        QuoteIdentifier(table.relation->schema) + "." + QuoteIdentifier(table.relation->name);
    std::string sql;
    if (chunk.first_page == 0 && !chunk.end_page) {
      // The whole table in one chunk: plain COPY skips the executor a query needs, and is
      // markedly faster. Partitioned tables have no rows of their own, so they need the query.
      sql = !table.partitioned
                ? fmt::format("COPY {} ({}) TO STDOUT (FORMAT binary)", name, columns)
                : fmt::format("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)", columns, name);
    } else {
      std::string where = fmt::format("ctid >= '({},0)'::tid", chunk.first_page);
      if (chunk.end_page) where += fmt::format(" AND ctid < '({},0)'::tid", *chunk.end_page);
      sql = fmt::format("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT (FORMAT binary)", columns,
                        name, where);
    }
    {
      std::lock_guard lock(sink_mutex_);
      FRESHET_RETURN_IF_ERROR(sink_.OnChunkStart(chunk));
    }
    FRESHET_RETURN_IF_ERROR(connection_->StartCopy(sql));
    // Rows are handed over in batches to keep the sink lock short and uncontended.
    std::vector<Change> batch;
    auto flush = [&]() -> Status {
      std::lock_guard lock(sink_mutex_);
      for (Change& change : batch) FRESHET_RETURN_IF_ERROR(sink_.OnRow(chunk, std::move(change)));
      batch.clear();
      return Status::Ok();
    };
    CopyBinaryParser parser([&](Tuple&& tuple) -> Status {
      Change change;
      change.kind = ChangeKind::kRead;
      change.relation = table.relation;
      change.new_tuple = std::move(tuple);
      batch.push_back(std::move(change));
      if (batch.size() >= 1024) return flush();
      return Status::Ok();
    });
    Status status;
    for (;;) {
      char* raw = nullptr;
      int length = PQgetCopyData(connection_->handle(), &raw, /*async=*/0);
      if (length > 0) {
        status = parser.Feed(std::string_view(raw, static_cast<size_t>(length)));
        PQfreemem(raw);
        if (!status.ok()) break;
        continue;
      }
      if (length == -2) {
        return Status::Unavailable("snapshot connection lost: {}",
                                   PQerrorMessage(connection_->handle()));
      }
      break;  // -1: the copy is done
    }
    // Collect the COPY's final result so the connection is ready for the next chunk.
    std::string error;
    while (PGresult* result = PQgetResult(connection_->handle())) {
      if (PQresultStatus(result) != PGRES_COMMAND_OK) error = PQresultErrorMessage(result);
      PQclear(result);
    }
    FRESHET_RETURN_IF_ERROR(status);
    if (!error.empty()) return Status::Unavailable("snapshot COPY failed: {}", error);
    FRESHET_RETURN_IF_ERROR(parser.Finish());
    FRESHET_RETURN_IF_ERROR(flush());
    progress_.rows += parser.rows();
    progress_.bytes += parser.bytes();
    int64_t end =
        chunk.end_page ? *chunk.end_page : std::max<int64_t>(table.pages, chunk.first_page);
    progress_.pages_done += static_cast<uint64_t>(std::max<int64_t>(0, end - chunk.first_page));
    ++progress_.chunks_done;
    std::lock_guard lock(sink_mutex_);
    return sink_.OnChunkDone(chunk);
  }

 private:
  const SnapshotPlan& plan_;
  SnapshotSink& sink_;
  SnapshotProgress& progress_;
  std::mutex& sink_mutex_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace

Status RunSnapshot(const SnapshotPlan& plan, const SnapshotOptions& options, SnapshotSink& sink,
                   SnapshotProgress& progress) {
  progress.started = std::chrono::steady_clock::now();
  progress.pages_total = 0;
  for (const SnapshotTable& table : plan.tables)
    progress.pages_total += static_cast<uint64_t>(table.pages);
  std::vector<SnapshotChunk> todo;
  for (const SnapshotChunk& chunk : plan.chunks) {
    if (!options.skip.contains(chunk)) todo.push_back(chunk);
  }
  std::mutex sink_mutex;
  std::mutex state_mutex;
  size_t next = 0;
  Status first_error;
  std::atomic<bool> failed{false};
  auto run = [&]() {
    Worker worker(plan, sink, progress, sink_mutex);
    Status status = worker.Open(options);
    while (status.ok() && !failed) {
      size_t mine;
      {
        std::lock_guard lock(state_mutex);
        if (next >= todo.size()) break;
        mine = next++;
      }
      status = worker.Read(todo[mine]);
    }
    if (!status.ok()) {
      std::lock_guard lock(state_mutex);
      if (first_error.ok()) first_error = status;
      failed = true;
    }
  };
  int threads = std::max(1, std::min<int>(options.parallelism, static_cast<int>(todo.size())));
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back(run);
  run();
  for (std::thread& worker : workers) worker.join();
  return first_error;
}

}  // namespace freshet::pg
