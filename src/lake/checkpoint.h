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

// The same checkpoint, from `snapshot` loaded without its checkpoint's tombstones
// (Snapshot::Load(..., tombstones=false)): the unexpired tombstones of the classic checkpoint it
// was read from are copied from that file inside DuckDB (leaving out those whose logical file
// was re-added or removed again since), the snapshot's own (those of the commits after that
// checkpoint) rendered as usual. The cost follows the live files and the commits since the last
// checkpoint instead of every tombstone of the retention (on a streaming table, most of the
// checkpoint). Errors (no such checkpoint file, e.g. a multi-part or V2 one; a file whose
// remove column lacks a field this writer fills) leave the caller to write a full checkpoint
// from a snapshot with tombstones.
Status WriteCheckpointFromPrevious(FileSystem& fs, engine::Connection& connection,
                                   const Snapshot& snapshot, int64_t now_ms);

// The checkpoint of `snapshot`, as a writer takes it after committing its version: from the
// previous checkpoint when the snapshot was read from one (WriteCheckpointFromPrevious; the
// snapshot then holds the tombstones since, as Load with tombstones=false or Advance give them;
// any trouble with that file is logged and a full checkpoint written instead), else a full one.
// Then, unless delta.enableExpiredLogCleanup is false, the log files past
// delta.logRetentionDuration go (CleanupLog).
Status CheckpointSnapshot(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                          int64_t now_ms);
// CheckpointSnapshot of `version`, loaded without its checkpoint's tombstones; returns that
// snapshot, for callers that go on to judge it (compaction).
Result<Snapshot> CheckpointVersion(FileSystem& fs, engine::Connection& connection,
                                   const std::string& table_path, Version version, int64_t now_ms);

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
