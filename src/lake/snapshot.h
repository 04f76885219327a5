#pragma once

// Snapshot: the state of a Delta table at one version (PROTOCOL.md "Action Reconciliation"):
// protocol, metadata and schema, the live logical files (add actions keyed by path and
// deletion-vector id), tombstones, and the latest txn version per application.
//
// Loading resolves a log segment: the newest complete checkpoint at or below the version
// (classic, multi-part, or UUID-named V2 with sidecars) and the JSON commits after it. The
// folder listing is authoritative; `_last_checkpoint` is written for other readers, not read.
// Parquet checkpoints are read through DuckDB. A snapshot is immutable and may be shared between
// threads. Errors name the file at fault: Corruption for bad log content, NotFound for a missing
// version or a folder that is not a table, NotSupported for a reader feature or protocol version
// freshet does not implement.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/actions.h"
#include "lake/fs/file_system.h"
#include "lake/schema.h"

namespace freshet::lake {

// Reader features this reader implements; anything else in readerFeatures is refused.
bool IsSupportedReaderFeature(const std::string& feature);
// OK when a reader may read a table with `protocol`; NotSupported naming the feature if not.
Status CheckReadable(const Protocol& protocol);

// One commit of the log, for history and time travel.
struct CommitEntry {
  Version version = 0;
  int64_t timestamp_ms = 0;  // in-commit timestamp, else the commit file's modification time
  std::optional<CommitInfo> commit_info;
};

class Snapshot {
 public:
  // The table at `version`, or at its latest version when nullopt.
  // `tombstones`: also read the remove actions a checkpoint carries (only a checkpoint writer
  // needs them; a streaming table's checkpoints hold a week of them, most of its rows).
  static Result<Snapshot> Load(FileSystem& fs, engine::Connection& connection,
                               const std::string& table_path,
                               std::optional<Version> version = std::nullopt,
                               bool tombstones = true);
  // The table as of `timestamp_ms`: the newest version committed at or before it.
  static Result<Snapshot> LoadAsOf(FileSystem& fs, engine::Connection& connection,
                                   const std::string& table_path, int64_t timestamp_ms);

  // The next version: this snapshot with `commit` (the actions of the commit file of version()
  // + 1, whose modification time is `file_time_ms`) applied as Load reconciles them. Equal to
  // Load of that version but for tombstones: with `keep_tombstones`, those this snapshot holds
  // (with tombstones=false, those of the commits since its checkpoint) and the commit's, so a
  // writer can checkpoint from it; else none (tombstones_kept() false), for a writer that
  // leaves checkpoints to others and must not gather a remove per file per commit. Lets a
  // writer keep its snapshot current from its own commits without reading the log again.
  // NotSupported when the commit makes the table unreadable (protocol), Corruption for a bad
  // schemaString.
  Result<Snapshot> Advance(const ActionSet& commit, int64_t file_time_ms,
                           bool keep_tombstones = false) const;
  // After a checkpoint of this version was written: its tombstones are in that file, so the
  // snapshot becomes what Load(..., tombstones=false) of this version reads.
  void MarkCheckpointed();
  // Whether tombstones() holds every tombstone a checkpoint needs besides those of the
  // checkpoint it was read from (false after Advance without keep_tombstones).
  bool tombstones_kept() const { return tombstones_kept_; }

  const std::string& table_path() const { return table_path_; }
  Version version() const { return version_; }
  int64_t timestamp_ms() const { return timestamp_ms_; }
  const Protocol& protocol() const { return protocol_; }
  const Metadata& metadata() const { return metadata_; }
  const Schema& schema() const { return schema_; }
  // "none", "name" or "id" (delta.columnMapping.mode).
  const std::string& column_mapping_mode() const { return column_mapping_mode_; }
  // Live files, sorted by path.
  const std::vector<AddFile>& files() const { return files_; }
  // Tombstones: remove actions of logical files no longer in the table.
  const std::vector<RemoveFile>& tombstones() const { return tombstones_; }
  // The latest txn version of each application id.
  const std::map<std::string, Txn>& app_transactions() const { return app_transactions_; }
  std::optional<int64_t> AppVersion(const std::string& app_id) const;
  // commitInfo of the commit at this version, when its JSON file holds one.
  const std::optional<CommitInfo>& commit_info() const { return commit_info_; }
  // Version of the checkpoint the snapshot was built from, if any.
  std::optional<Version> checkpoint_version() const { return checkpoint_version_; }
  std::optional<std::string> Configuration(const std::string& key) const;

 private:
  friend class SnapshotBuilder;
  Snapshot() = default;

  std::string table_path_;
  Version version_ = -1;
  int64_t timestamp_ms_ = 0;
  Protocol protocol_;
  Metadata metadata_;
  Schema schema_;
  std::string column_mapping_mode_ = "none";
  std::vector<AddFile> files_;
  std::vector<RemoveFile> tombstones_;
  std::map<std::string, Txn> app_transactions_;
  std::optional<CommitInfo> commit_info_;
  std::optional<Version> checkpoint_version_;
  bool tombstones_kept_ = true;
};

// Every commit still in the log, oldest first, with its commitInfo.
Result<std::vector<CommitEntry>> History(FileSystem& fs, const std::string& table_path);
// The commits of versions `from` to `to` only: their commit files are read, earlier ones only
// listed (their file times keep the timestamps increasing as in the whole history), so the
// cost follows the range, not the length of the log.
Result<std::vector<CommitEntry>> History(FileSystem& fs, const std::string& table_path,
                                         Version from, Version to);
// The latest version of the table (from a listing of _delta_log), NotFound if not a table.
Result<Version> LatestVersion(FileSystem& fs, const std::string& table_path);

}  // namespace freshet::lake
