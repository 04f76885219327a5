#pragma once

// Log maintenance (PROTOCOL.md "Checkpoints", "Last Checkpoint File", "Metadata Cleanup"):
// classic single-file Parquet checkpoints with `_last_checkpoint`, and removal of log files
// that no readable version needs any more.
//
// A checkpoint holds the snapshot's protocol, metaData, txn, live add actions and unexpired
// remove tombstones, in the checkpoint schema of the spec. DuckDB writes the Parquet file to
// local scratch space; the bytes reach the table through the FileSystem seam with an atomic
// Put, so a failed checkpoint leaves no partial file and the table reads as before.

#include <cstdint>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"

namespace freshet::lake {

// delta.deletedFileRetentionDuration's default: tombstones younger than this stay in
// checkpoints, for VACUUM.
constexpr int64_t kDefaultTombstoneRetentionMs = int64_t{7} * 24 * 3600 * 1000;
// delta.logRetentionDuration's default: log files younger than this are kept.
constexpr int64_t kDefaultLogRetentionMs = int64_t{30} * 24 * 3600 * 1000;

// Writes <version>.checkpoint.parquet for `snapshot`, then _last_checkpoint.
Status WriteCheckpoint(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                       int64_t now_ms);

// Milliseconds of a Delta duration property ("interval 30 days", "interval 12 hours", "1 week");
// InvalidArgument naming the text otherwise.
Result<int64_t> ParseIntervalMs(const std::string& text);

struct CleanupResult {
  Version earliest_version = 0;  // the oldest version still readable
  int64_t deleted_files = 0;
};

// Deletes commit and checkpoint files older than the newest checkpoint whose commit is older
// than `retention_ms` (so every version from that checkpoint on stays readable). Does nothing
// when no checkpoint is that old.
Result<CleanupResult> CleanupLog(FileSystem& fs, const std::string& table_path, int64_t now_ms,
                                 int64_t retention_ms = kDefaultLogRetentionMs);

}  // namespace freshet::lake
