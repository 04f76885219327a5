#pragma once

// SetUpCapture: what happens before streaming starts. It creates or reuses the publication,
// creates the slot if it is missing, and runs the initial snapshot the snapshot mode asks for,
// so that streaming from the slot afterwards (ChangeCapture) continues exactly where the
// snapshot ends.
//
//   mode          new slot                                  existing slot
//   initial       export a snapshot, read every published   resume an unfinished snapshot
//                 table in it, then stream                  (below), then stream
//   never         stream only                               stream only
//   initial_only  like initial, then stop (stream = false)  like initial, then stop
//
// Resuming: when the caller's durable state says an earlier snapshot did not finish, the slot
// is kept (its position is older than every chunk already read) and the chunks not in
// finished_chunks are read in a fresh snapshot; replaying the stream from the slot as upserts
// and deletes by key makes the result converge (snapshot_reader.h). Chunks match by table and
// page bounds; one whose bounds moved because the table grew is read again, which upserts
// make harmless.
//
// Errors: those of EnsurePublication, CreateSlot, GetSlot and RunSnapshot.

#include <set>
#include <string>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/connection.h"
#include "pg/replication_setup.h"
#include "pg/snapshot_reader.h"

namespace freshet::pg {

struct SetupOptions {
  ConnectOptions connect;
  PublicationOptions publication;
  std::string slot;
  SnapshotMode mode = SnapshotMode::kInitial;
  // From the caller's durable state.
  bool snapshot_complete = false;
  std::set<SnapshotChunk> finished_chunks;
  int parallelism = 2;
  uint32_t pages_per_chunk = 1024;
};

struct SetupResult {
  bool created_slot = false;
  bool snapshotted = false;
  bool resumed_snapshot = false;
  // Where the stream continues: the new slot's consistent point, or the existing slot's
  // confirmed position.
  Lsn start_lsn;
  // False for initial_only.
  bool stream = true;
};

Result<SetupResult> SetUpCapture(const SetupOptions& options, SnapshotSink& sink,
                                 SnapshotProgress& progress);

}  // namespace freshet::pg
