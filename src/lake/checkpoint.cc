#include "lake/checkpoint.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"

namespace freshet::lake {
namespace {

// The checkpoint schema of PROTOCOL.md "Checkpoint Schema" (the columns this writer fills).
constexpr const char* kDvType =
    "STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER, sizeInBytes "
    "INTEGER, cardinality BIGINT)";

// The DuckDB type of each checkpoint column, in file order.
std::vector<std::pair<std::string, std::string>> CheckpointColumnTypes() {
  return {
      {"txn", "STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)"},
      {"add", fmt::format("STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size "
                          "BIGINT, modificationTime BIGINT, dataChange BOOLEAN, tags "
                          "MAP(VARCHAR, VARCHAR), deletionVector {0}, baseRowId BIGINT, "
                          "defaultRowCommitVersion BIGINT, stats VARCHAR)",
                          kDvType)},
      {"remove", fmt::format("STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, "
                             "extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, "
                             "VARCHAR), size BIGINT, deletionVector {0}, baseRowId BIGINT, "
                             "defaultRowCommitVersion BIGINT)",
                             kDvType)},
      {"metaData",
       "STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "
       "options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "
       "configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)"},
      {"protocol",
       "STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], "
       "writerFeatures VARCHAR[])"},
  };
}

// read_json's `columns` argument for the checkpoint columns.
std::string CheckpointColumns() {
  std::string out;
  for (const auto& [name, type] : CheckpointColumnTypes()) {
    out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", name, QuoteLiteral(type));
  }
  return "{" + out + "}";
}

// The (path, deletion vector) key of a logical file, as the snapshot reconciles them.
std::string LogicalFileKey(const std::string& path, const std::string& dv_unique_id) {
  return path + '\x1f' + dv_unique_id;
}

// The same key of the checkpoint row `r` (a remove struct) in SQL.
constexpr const char* kRemoveKeySql =
    "r.path || chr(31) || coalesce(r.deletionVector.storageType || "
    "r.deletionVector.pathOrInlineDv || coalesce('@' || CAST(r.deletionVector.\"offset\" AS "
    "VARCHAR), ''), '')";

Result<int64_t> OldestTombstoneMs(const Snapshot& snapshot, int64_t now_ms) {
  int64_t retention = kDefaultTombstoneRetentionMs;
  if (auto configured = snapshot.Configuration("delta.deletedFileRetentionDuration")) {
    FRESHET_ASSIGN_OR_RETURN(retention, ParseIntervalMs(*configured));
  }
  return now_ms - retention;
}

// JSON lines of the snapshot's protocol, metaData, txns, live files and unexpired tombstones.
std::string CheckpointRows(const Snapshot& snapshot, int64_t now_ms, int64_t oldest_tombstone) {
  std::string rows =
      ToJsonLine(snapshot.protocol()) + "\n" + ToJsonLine(snapshot.metadata()) + "\n";
  for (const auto& [app_id, txn] : snapshot.app_transactions()) rows += ToJsonLine(txn) + "\n";
  for (const AddFile& add : snapshot.files()) {
    AddFile copy = add;
    copy.data_change = false;  // checkpoints restate state, they do not change data
    rows += ToJsonLine(copy) + "\n";
  }
  for (const RemoveFile& remove : snapshot.tombstones()) {
    if (remove.deletion_timestamp.value_or(now_ms) < oldest_tombstone) continue;
    RemoveFile copy = remove;
    copy.data_change = false;
    copy.stats.reset();
    rows += ToJsonLine(copy) + "\n";
  }
  return rows;
}

std::string ScratchPath(const std::string& suffix) {
  std::array<uint8_t, 16> id{};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  for (size_t i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(now >> (8 * i));
  for (size_t i = 8; i < 12; ++i) id[i] = static_cast<uint8_t>(::getpid() >> (8 * (i - 8)));
  return (std::filesystem::temp_directory_path() /
          fmt::format("freshet-checkpoint-{}{}", UuidText(id), suffix))
      .string();
}

// Writes the checkpoint of `snapshot`: the rows of `rows` (JSON lines) and, when not empty,
// the rows of `more_sql` (a SELECT of the checkpoint columns).
Status WriteCheckpointFile(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                           const std::string& rows, const std::string& more_sql) {
  std::string json_path = ScratchPath(".json");
  std::string parquet_path = ScratchPath(".parquet");
  LocalFileSystem local;
  FRESHET_RETURN_IF_ERROR(local.Put(json_path, rows));
  std::string select = fmt::format(
      "SELECT txn, add, remove, metaData, protocol FROM read_json({}, format = "
      "'newline_delimited', columns = {})",
      QuoteLiteral(json_path), CheckpointColumns());
  if (!more_sql.empty()) select += " UNION ALL " + more_sql;
  Status copied = connection.Execute(fmt::format(
      "COPY ({}) TO {} (FORMAT parquet, COMPRESSION snappy)", select, QuoteLiteral(parquet_path)));
  std::filesystem::remove(json_path);
  auto bytes = copied.ok() ? local.Get(parquet_path) : Result<std::string>(copied);
  std::filesystem::remove(parquet_path);
  if (!bytes.ok()) {
    return bytes.status().WithContext(
        fmt::format("writing the checkpoint of version {}", snapshot.version()));
  }
  std::string log = LogPath(snapshot.table_path());
  std::string name = fmt::format("{:020d}.checkpoint.parquet", snapshot.version());
  FRESHET_RETURN_IF_ERROR(fs.Put(JoinPath(log, name), *bytes));
  int64_t actions =
      2 + static_cast<int64_t>(snapshot.app_transactions().size() + snapshot.files().size());
  nlohmann::json last{{"version", snapshot.version()},
                      {"size", actions},
                      {"sizeInBytes", bytes->size()},
                      {"numOfAddFiles", snapshot.files().size()}};
  return fs.Put(JoinPath(log, "_last_checkpoint"), last.dump());
}

}  // namespace

Status WriteCheckpoint(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                       int64_t now_ms) {
  FRESHET_ASSIGN_OR_RETURN(int64_t oldest_tombstone, OldestTombstoneMs(snapshot, now_ms));
  return WriteCheckpointFile(fs, connection, snapshot,
                             CheckpointRows(snapshot, now_ms, oldest_tombstone), "");
}

Status WriteCheckpointFromPrevious(FileSystem& fs, engine::Connection& connection,
                                   const Snapshot& snapshot, int64_t now_ms) {
  if (!snapshot.checkpoint_version()) {
    return Status::InvalidArgument("version {} of {} was not read from a checkpoint",
                                   snapshot.version(), snapshot.table_path());
  }
  std::string previous =
      JoinPath(LogPath(snapshot.table_path()),
               fmt::format("{:020d}.checkpoint.parquet", *snapshot.checkpoint_version()));
  // A multi-part or V2 checkpoint has no file of this name.
  FRESHET_RETURN_IF_ERROR(fs.Head(previous).status());
  FRESHET_ASSIGN_OR_RETURN(int64_t oldest_tombstone, OldestTombstoneMs(snapshot, now_ms));
  // The previous checkpoint's tombstones stay unless expired, or superseded since: their
  // logical file is live again, or a newer remove of it is among the snapshot's tombstones.
  std::string superseded;
  auto supersede = [&](const std::string& path, const std::string& dv_unique_id) {
    superseded += fmt::format("{}({})", superseded.empty() ? "" : ", ",
                              QuoteLiteral(LogicalFileKey(path, dv_unique_id)));
  };
  for (const AddFile& add : snapshot.files()) supersede(add.path, add.DvUniqueId());
  for (const RemoveFile& remove : snapshot.tombstones()) {
    supersede(remove.path, remove.DvUniqueId());
  }
  auto types = CheckpointColumnTypes();
  std::string kept = fmt::format(
      "SELECT NULL::{} AS txn, NULL::{} AS add, CAST(struct_pack(path := r.path, "
      "deletionTimestamp := r.deletionTimestamp, dataChange := false, extendedFileMetadata := "
      "r.extendedFileMetadata, partitionValues := r.partitionValues, size := r.size, "
      "deletionVector := r.deletionVector, baseRowId := r.baseRowId, defaultRowCommitVersion "
      ":= r.defaultRowCommitVersion) AS {}) AS remove, NULL::{} AS metaData, NULL::{} AS "
      "protocol FROM (SELECT remove AS r FROM read_parquet({}) WHERE remove IS NOT NULL) "
      "WHERE coalesce(r.deletionTimestamp, {}) >= {}",
      types[0].second, types[1].second, types[2].second, types[3].second, types[4].second,
      QuoteLiteral(previous), now_ms, oldest_tombstone);
  if (!superseded.empty()) {
    kept += fmt::format(" AND {} NOT IN (SELECT * FROM (VALUES {}))", kRemoveKeySql, superseded);
  }
  return WriteCheckpointFile(fs, connection, snapshot,
                             CheckpointRows(snapshot, now_ms, oldest_tombstone), kept);
}

Status CheckpointSnapshot(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                          int64_t now_ms) {
  const std::string& table_path = snapshot.table_path();
  if (!snapshot.checkpoint_version()) {
    // Replayed from version 0: it holds every tombstone.
    FRESHET_RETURN_IF_ERROR(WriteCheckpoint(fs, connection, snapshot, now_ms));
  } else if (Status from_previous = WriteCheckpointFromPrevious(fs, connection, snapshot, now_ms);
             !from_previous.ok()) {
    spdlog::info(
        "checkpoint of {} at version {} from the previous one failed ({}); writing it from "
        "every tombstone",
        table_path, snapshot.version(), from_previous.message());
    FRESHET_ASSIGN_OR_RETURN(Snapshot full,
                             Snapshot::Load(fs, connection, table_path, snapshot.version()));
    FRESHET_RETURN_IF_ERROR(WriteCheckpoint(fs, connection, full, now_ms));
  }
  // With a fresh checkpoint, log files past the retention are no longer needed
  // (delta.enableExpiredLogCleanup, on by default as in Delta).
  if (snapshot.Configuration("delta.enableExpiredLogCleanup").value_or("true") != "true") {
    return Status::Ok();
  }
  int64_t retention = kDefaultLogRetentionMs;
  if (auto configured = snapshot.Configuration("delta.logRetentionDuration")) {
    auto parsed = ParseIntervalMs(*configured);
    if (!parsed.ok()) return parsed.status().WithContext("delta.logRetentionDuration");
    retention = *parsed;
  }
  return CleanupLog(fs, table_path, now_ms, retention).status().WithContext("log cleanup");
}

Result<Snapshot> CheckpointVersion(FileSystem& fs, engine::Connection& connection,
                                   const std::string& table_path, Version version, int64_t now_ms) {
  // Without the previous checkpoint's tombstones: WriteCheckpointFromPrevious copies them
  // from its file (a streaming table's checkpoint is mostly tombstones), so the cost follows
  // the commits since.
  FRESHET_ASSIGN_OR_RETURN(Snapshot snapshot, Snapshot::Load(fs, connection, table_path, version,
                                                             /*tombstones=*/false));
  FRESHET_RETURN_IF_ERROR(CheckpointSnapshot(fs, connection, snapshot, now_ms));
  return snapshot;
}

Result<int64_t> ParseIntervalMs(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  in >> word;
  if (word != "interval") in = std::istringstream(text);
  int64_t count = 0;
  std::string unit;
  if (!(in >> count >> unit) || count < 0) {
    return Status::InvalidArgument("'{}' is not a duration such as 'interval 30 days'", text);
  }
  if (unit.back() == 's') unit.pop_back();
  static const std::map<std::string, int64_t> kUnits = {
      {"millisecond", 1},  {"second", 1000},    {"minute", 60'000},
      {"hour", 3'600'000}, {"day", 86'400'000}, {"week", 7 * 86'400'000LL}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Status::InvalidArgument("'{}' is not a duration such as 'interval 30 days'", text);
  }
  return count * it->second;
}

Result<CleanupResult> CleanupLog(FileSystem& fs, const std::string& table_path, int64_t now_ms,
                                 int64_t retention_ms) {
  std::string log = LogPath(table_path);
  FRESHET_ASSIGN_OR_RETURN(auto entries, fs.List(log));
  std::map<Version, int64_t> commit_times;
  std::map<Version, std::vector<std::string>> files_by_version;
  std::set<Version> checkpoints;
  for (const FileInfo& entry : entries) {
    LogFileName name = ParseLogFileName(entry.name);
    if (name.kind == LogFileName::Kind::kOther) continue;
    files_by_version[name.version].push_back(entry.path);
    if (name.kind == LogFileName::Kind::kCommit) {
      commit_times[name.version] = entry.modification_time_ms;
    } else if (name.kind == LogFileName::Kind::kClassicCheckpoint ||
               name.kind == LogFileName::Kind::kUuidCheckpoint) {
      checkpoints.insert(name.version);
    }
  }
  CleanupResult result;
  result.earliest_version = files_by_version.empty() ? 0 : files_by_version.begin()->first;
  std::optional<Version> cutoff;
  for (Version checkpoint : checkpoints) {
    auto it = commit_times.find(checkpoint);
    int64_t time = it != commit_times.end() ? it->second : now_ms;
    if (time <= now_ms - retention_ms) cutoff = checkpoint;
  }
  if (!cutoff) return result;
  for (const auto& [version, paths] : files_by_version) {
    if (version >= *cutoff) break;
    for (const auto& path : paths) {
      Status s = fs.Delete(path);
      if (!s.ok() && !s.Is(Code::kNotFound)) return s;
      ++result.deleted_files;
    }
  }
  result.earliest_version = *cutoff;
  return result;
}

}  // namespace freshet::lake
