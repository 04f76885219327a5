#include "sink/table_sync.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/sql_quote.h"
#include "lake/change_feed.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/snapshot.h"
#include "pg/copy_in.h"
#include "sink/destination.h"
#include "sink/type_map.h"

namespace freshet::sink {
namespace {

constexpr const char* kBatchTable = "freshet_batch";
constexpr const char* kDeleteFlag = "_freshet_delete";

// Removes a batch file when the step ends, however it ends.
class FileRemover {
 public:
  explicit FileRemover(std::string path) : path_(std::move(path)) {}
  FileRemover(const FileRemover&) = delete;
  FileRemover& operator=(const FileRemover&) = delete;
  ~FileRemover() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

 private:
  std::string path_;
};

std::string Qualified(const QualifiedName& table) {
  return QuoteIdentifier(table.schema) + "." + QuoteIdentifier(table.table);
}

std::string ColumnList(const std::vector<Column>& columns) {
  std::string out;
  for (const auto& column : columns) {
    if (!out.empty()) out += ", ";
    out += QuoteIdentifier(column.name);
  }
  return out;
}

// The table's columns rendered for COPY (FORMAT csv), as a select list.
std::string CsvColumns(const lake::Schema& schema) {
  std::string out;
  for (const auto& field : schema.fields) {
    if (!out.empty()) out += ", ";
    out += CsvExpression(field, QuoteIdentifier(field.name));
  }
  return out;
}

// Per key, the feed's last change: insert and update_postimage leave the row, delete and
// update_preimage (an update that moved the row to another key) remove it. row_number()
// OVER () numbers the feed in its own order (a streaming window keeps the input order).
std::string CollapsedSql(const std::string& feed_sql, const lake::Schema& schema,
                         const std::vector<std::string>& key) {
  std::string partition;
  for (const auto& column : key) {
    if (!partition.empty()) partition += ", ";
    partition += QuoteIdentifier(column);
  }
  return "WITH feed AS (SELECT *, row_number() OVER () AS _freshet_seq FROM (" + feed_sql +
         ")), last AS (SELECT * FROM feed QUALIFY row_number() OVER (PARTITION BY " + partition +
         " ORDER BY _freshet_seq DESC) = 1) SELECT " + CsvColumns(schema) +
         ", _change_type IN ('delete', 'update_preimage') FROM last";
}

// Versions the feed cannot give (not enabled, cleaned up, not implemented by the reader).
bool IsFeedUnavailable(const Status& status) {
  return status.Is(Code::kInvalidArgument) || status.Is(Code::kNotFound) ||
         status.Is(Code::kNotSupported);
}

// INSERT ... ON CONFLICT probes the key index per row. An UPDATE ... FROM the batch plus an
// INSERT of the missing keys was tried: the planner hashes the whole destination table for
// those joins, which made each step cost a full scan (2.5x slower per version at 1M rows).
std::string UpsertSql(const QualifiedName& destination, const TableShape& shape) {
  std::string columns = ColumnList(shape.columns);
  std::string sql = "INSERT INTO " + Qualified(destination) + " (" + columns + ") SELECT " +
                    columns + " FROM " + kBatchTable + " WHERE NOT " + kDeleteFlag +
                    " ON CONFLICT (";
  std::string updates;
  for (size_t i = 0; i < shape.key.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += QuoteIdentifier(shape.key[i]);
  }
  for (const auto& column : shape.columns) {
    if (std::find(shape.key.begin(), shape.key.end(), column.name) != shape.key.end()) continue;
    if (!updates.empty()) updates += ", ";
    updates += QuoteIdentifier(column.name) + " = EXCLUDED." + QuoteIdentifier(column.name);
  }
  sql += ")";
  sql += updates.empty() ? " DO NOTHING" : " DO UPDATE SET " + updates;
  return sql;
}

std::string DeleteSql(const QualifiedName& destination, const std::vector<std::string>& key) {
  std::string sql = "DELETE FROM " + Qualified(destination) + " t USING " + kBatchTable +
                    " b WHERE b." + kDeleteFlag;
  for (const auto& column : key) {
    sql += " AND t." + QuoteIdentifier(column) + " = b." + QuoteIdentifier(column);
  }
  return sql;
}

std::string BatchTableSql(const TableShape& shape) {
  std::string sql = std::string("CREATE TEMP TABLE ") + kBatchTable + " (";
  for (const auto& column : shape.columns) {
    sql += QuoteIdentifier(column.name) + " " + column.type + ", ";
  }
  return sql + kDeleteFlag + " boolean) ON COMMIT DROP";
}

}  // namespace

TableSync::TableSync(lake::FileSystem& fs, std::string table_path, QualifiedName lake_name,
                     QualifiedName destination, SinkMode mode, TableSyncOptions options)
    : fs_(fs),
      table_path_(std::move(table_path)),
      lake_name_(std::move(lake_name)),
      destination_(std::move(destination)),
      mode_(mode),
      options_(std::move(options)),
      offset_key_(lake_name_.ToString()) {
  if (options_.temp_dir.empty()) options_.temp_dir = std::filesystem::temp_directory_path();
}

Result<int64_t> TableSync::CommitTimeMs(int64_t version) {
  auto info = fs_.Head(fmt::format("{}/{:020d}.json", lake::LogPath(table_path_), version));
  if (!info.ok()) return int64_t{0};  // cleaned up: the lag in seconds is then unknown
  return info->modification_time_ms;
}

Result<std::string> TableSync::WriteBatchFile(engine::Connection& duck,
                                              const std::string& select_sql) {
  std::string path = fmt::format("{}/freshet-sink-{}-{}-{}.csv", options_.temp_dir, getpid(),
                                 reinterpret_cast<uintptr_t>(this), ++batch_counter_);
  FRESHET_RETURN_IF_ERROR(duck.Execute("COPY (" + select_sql + ") TO " + QuoteLiteral(path) +
                                       " (FORMAT csv, HEADER false)"));
  return path;
}

Result<int64_t> TableSync::CopyFile(pg::Connection& pg, const std::string& copy_command,
                                    const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status::FromErrno(errno, "open batch file " + path);
  FRESHET_ASSIGN_OR_RETURN(pg::CopyIn copy, pg::CopyIn::Start(pg, copy_command));
  std::vector<char> buffer(size_t{1} << 20);
  while (size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get())) {
    FRESHET_RETURN_IF_ERROR(copy.Write(std::string_view(buffer.data(), got)));
  }
  if (std::ferror(file.get())) return Status::IOError("reading batch file {} failed", path);
  return copy.Finish();
}

Result<StepResult> TableSync::Step(engine::Connection& duck, pg::Connection& pg) {
  StepResult result;
  FRESHET_RETURN_IF_ERROR(duck.Execute("SET TimeZone = 'UTC'"));
  FRESHET_ASSIGN_OR_RETURN(result.latest_version, lake::LatestVersion(fs_, table_path_));
  FRESHET_ASSIGN_OR_RETURN(std::optional<int64_t> offset, ReadOffset(pg, offset_key_));
  FRESHET_ASSIGN_OR_RETURN(auto existing, ReadColumns(pg, destination_));
  result.offset = offset;
  // An offset without its table: the destination table was dropped, so copy it again.
  bool forget_offset = offset.has_value() && !existing.has_value();
  if (forget_offset) {
    spdlog::warn("sink: destination table {} is gone; copying {} again", destination_.ToString(),
                 offset_key_);
  }
  std::optional<int64_t> base = forget_offset ? std::nullopt : offset;
  if (base && *base > result.latest_version) {
    result.paused = fmt::format(
        "the destination {} holds version {} of {} but the lake table's latest version is {} "
        "(was the lake table re-created?); drop the destination table to copy it again",
        destination_.ToString(), *base, offset_key_, result.latest_version);
    return result;
  }
  if (base && *base == result.latest_version) return result;

  bool whole = !base || mode_ == SinkMode::kSnapshot;
  int64_t target =
      whole ? result.latest_version
            : std::min(result.latest_version, *base + options_.max_versions_per_transaction);
  std::optional<std::string> feed;
  if (!whole) {
    Result<std::string> sql = lake::ChangeFeedSql(fs_, duck, table_path_, *base + 1, target);
    if (sql.ok()) {
      feed = std::move(sql).value();
    } else if (!IsFeedUnavailable(sql.status())) {
      return sql.status();
    } else if (mode_ == SinkMode::kAppend) {
      result.paused = fmt::format(
          "append mode needs the change feed of {} from version {}, which is not there ({}); "
          "drop the destination table to copy the table again",
          offset_key_, *base + 1, sql.status().message());
      return result;
    } else {
      // The feed is gone (log cleaned up, feed disabled for a while): the rows of the latest
      // version replace the destination's, which ends in the same state.
      spdlog::warn(
          "sink: no change feed for {} from version {} ({}); replacing {} from the "
          "snapshot at version {}",
          offset_key_, *base + 1, sql.status().message(), destination_.ToString(),
          result.latest_version);
      whole = true;
      target = result.latest_version;
    }
  }
  result.from_feed = feed.has_value();
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot,
                           lake::Snapshot::Load(fs_, duck, table_path_, target));
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> key, PrimaryKeyOf(snapshot));
  if (mode_ == SinkMode::kUpsert && key.empty()) {
    result.paused = fmt::format(
        "lake table {} has no primary key (freshet.primaryKey), so mode upsert cannot match "
        "its rows; give the source table a key (or a primary_key override in the pipeline), or "
        "use mode append or snapshot for it",
        offset_key_);
    return result;
  }
  TableShape shape = ShapeFor(snapshot.schema(), key, mode_);
  SchemaPlan plan = PlanSchema(destination_, shape, existing);
  if (plan.incompatible) {
    result.paused = *plan.incompatible;
    return result;
  }

  // DuckDB writes the batch before the destination transaction opens, so that transaction
  // holds its locks only for the COPY and the statements after it.
  std::string select;
  if (whole) {
    FRESHET_ASSIGN_OR_RETURN(std::string scan, lake::ScanSql(fs_, duck, snapshot));
    select = "SELECT " + CsvColumns(snapshot.schema());
    if (mode_ == SinkMode::kAppend) select += ", 'insert', " + std::to_string(target);
    select += " FROM (" + scan + ")";
  } else if (mode_ == SinkMode::kUpsert) {
    select = CollapsedSql(*feed, snapshot.schema(), key);
  } else {
    select = "SELECT " + CsvColumns(snapshot.schema()) + ", _change_type, _commit_version FROM (" +
             *feed + ")";
  }
  auto phase_start = std::chrono::steady_clock::now();
  auto phase_ms = [&phase_start] {
    auto now = std::chrono::steady_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - phase_start).count();
    phase_start = now;
    return ms;
  };
  FRESHET_ASSIGN_OR_RETURN(std::string batch_path, WriteBatchFile(duck, select));
  int64_t batch_ms = phase_ms();
  FileRemover remover(batch_path);

  FRESHET_RETURN_IF_ERROR(pg.Execute("BEGIN"));
  auto apply = [&]() -> Result<int64_t> {
    for (const auto& ddl : plan.ddl) FRESHET_RETURN_IF_ERROR(pg.Execute(ddl));
    std::string table = Qualified(destination_);
    std::string csv = " FROM STDIN (FORMAT csv)";
    int64_t rows = 0;
    if (whole || mode_ == SinkMode::kAppend) {
      if (whole && !plan.creates_table) {
        // A first copy owns the table; a snapshot replace keeps it readable (DELETE, not
        // TRUNCATE, so readers see the old rows until the commit).
        FRESHET_RETURN_IF_ERROR(pg.Execute((base ? "DELETE FROM " : "TRUNCATE ") + table));
      }
      FRESHET_ASSIGN_OR_RETURN(
          rows,
          CopyFile(pg, "COPY " + table + " (" + ColumnList(shape.columns) + ")" + csv, batch_path));
    } else {
      FRESHET_RETURN_IF_ERROR(pg.Execute(BatchTableSql(shape)));
      FRESHET_ASSIGN_OR_RETURN(rows,
                               CopyFile(pg, std::string("COPY ") + kBatchTable + csv, batch_path));
      int64_t copy_ms = phase_ms();
      FRESHET_RETURN_IF_ERROR(pg.Execute(DeleteSql(destination_, shape.key)));
      int64_t delete_ms = phase_ms();
      FRESHET_RETURN_IF_ERROR(pg.Execute(UpsertSql(destination_, shape)));
      spdlog::debug(
          "sink: {} versions {}..{}: batch file {} ms, COPY {} ms, delete {} ms, "
          "upsert {} ms",
          offset_key_, *base + 1, target, batch_ms, copy_ms, delete_ms, phase_ms());
    }
    if (forget_offset) FRESHET_RETURN_IF_ERROR(DeleteOffset(pg, offset_key_));
    FRESHET_RETURN_IF_ERROR(AdvanceOffset(pg, offset_key_, base, target));
    if (options_.TEST_before_commit) FRESHET_RETURN_IF_ERROR(options_.TEST_before_commit());
    FRESHET_RETURN_IF_ERROR(pg.Execute("COMMIT"));
    return rows;
  };
  Result<int64_t> rows = apply();
  if (!rows.ok()) {
    // Best effort: a broken connection is dropped by the caller anyway.
    static_cast<void>(pg.Execute("ROLLBACK"));
    return rows.status().WithContext(
        fmt::format("applying {} to {}", offset_key_, destination_.ToString()));
  }
  if (!base) {
    spdlog::info("sink: copied {} at version {} into {} ({} rows)", offset_key_, target,
                 destination_.ToString(), *rows);
  }
  result.applied = true;
  result.rows = *rows;
  result.offset = target;
  if (target < result.latest_version) {
    FRESHET_ASSIGN_OR_RETURN(result.first_pending_commit_ms, CommitTimeMs(target + 1));
  }
  return result;
}

}  // namespace freshet::sink
