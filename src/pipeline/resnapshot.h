#pragma once

// Re-snapshot of one table while the pipeline runs: how a paused table resumes (a column
// changed type in a way the lake cannot widen, a key column was dropped, the source table was
// dropped and created again), and how a lake table that went wrong is repaired, without a
// restart and without touching the other tables.
//
// A request is a file per table in ResnapshotRequestFolder (`freshet resnapshot` writes one).
// The running pipeline serves the requests about once a second, a stopped one when it starts:
//   1. everything buffered is committed (under the relation it was read with);
//   2. the table is listed for a backfill, so a crash from here on still copies it;
//   3. one commit, CommitResnapshot;
//   4. the request file is deleted;
//   5. the backfill copies the table's rows while the other tables stream.
// A crash between 2 and 4 serves the request again after the restart (each step can be
// repeated). Versions before the re-snapshot stay readable (time travel).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/schema.h"
#include "lake/snapshot.h"

namespace freshet::pipeline {

// "<root>/_freshet/pipelines/<pipeline>/resnapshot": files named by the table ("schema.table",
// '%' and '/' percent-encoded).
std::string ResnapshotRequestFolder(const std::string& lake_root, const std::string& pipeline);
// Files a request to re-snapshot `table` ("schema.table").
Status RequestResnapshot(lake::FileSystem& fs, const std::string& lake_root,
                         const std::string& pipeline, const std::string& table);
// The tables with a request waiting, in name order (none when the folder does not exist).
Result<std::vector<std::string>> PendingResnapshots(lake::FileSystem& fs,
                                                    const std::string& lake_root,
                                                    const std::string& pipeline);
// Deletes the request for `table` (served or refused).
Status DeleteResnapshotRequest(lake::FileSystem& fs, const std::string& lake_root,
                               const std::string& pipeline, const std::string& table);

// What the table becomes: the source table as the catalog has it now.
struct ResnapshotTarget {
  // RelationSchema of the source table (source types and attnums in the field metadata), plus
  // the change columns of an append-only table.
  lake::Schema schema;
  std::vector<std::string> key;  // empty: the whole row is the identity
  uint32_t source_oid = 0;
  bool append_only = false;
  std::string app_id;
  // The WAL insert position now: the copy covers every older source transaction, so the stream
  // skips them (they may describe the table with an older relation).
  int64_t app_version = 0;
};

// One commit ("RESNAPSHOT") on the table at `path`:
// - every live file is removed with dataChange=true (the change feed shows the rows deleted),
//   except in an append-only table, whose history stays (the copy appends the rows again);
// - a column whose name, type (or a widening of it, see lake::IsSupportedWidening) and source
//   attnum are unchanged keeps its physical column; the others are dropped (column mapping) and
//   added anew; the columns follow the source's order;
// - freshet.primaryKey and freshet.sourceOid are set, freshet.sourceDropped is cleared;
// - txn{app_id, app_version}.
// A partition column that would have to be dropped is refused (NotSupported, with the fix).
Result<lake::Version> CommitResnapshot(lake::FileSystem& fs, engine::Connection& connection,
                                       const std::string& path, const ResnapshotTarget& target);

}  // namespace freshet::pipeline
