#pragma once

// TableSync: keeps one destination PostgreSQL table equal to one lake table, one destination
// transaction per step, exactly once.
//
// The destination's freshet_sink_offsets row for the lake table says which lake version the
// destination holds; every step moves it in the same transaction as the rows, so a crash at
// any point leaves the destination at a whole version and a restart neither skips nor repeats.
//   - no offset: the table is copied whole from a snapshot at the latest version V (COPY),
//     and V is recorded;
//   - upsert: the change feed from offset+1 (up to max_versions_per_transaction versions) is
//     collapsed per key in DuckDB (the last change of a key decides: insert/update_postimage
//     upsert it, delete/update_preimage delete it), copied into a temporary table, then
//     INSERT ... ON CONFLICT DO UPDATE and DELETE;
//   - append: every change row is appended with its _change_type and _commit_version;
//   - snapshot: the table's rows are replaced by the latest version's in one transaction.
// When the feed cannot give the versions (cleaned up, not enabled), upsert mode replaces the
// rows from the latest snapshot instead, and append mode pauses.
// Before the rows, the destination table is created or given the lake table's new columns in
// the same transaction; a change it cannot follow pauses the table (StepResult::paused).
//
// Not thread-safe: one thread drives a TableSync, with its own DuckDB and PostgreSQL
// connections. Errors: those of the lake reader (NotFound, Corruption), of DuckDB, and of
// pg::Connection (Unavailable when the destination is unreachable); after an error the
// destination transaction is rolled back and the step may simply be run again.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "pg/connection.h"
#include "sink/sink_config.h"

namespace freshet::sink {

struct TableSyncOptions {
  int64_t max_versions_per_transaction = 100;
  // Folder for the batch files DuckDB writes and COPY reads (deleted after each step).
  std::string temp_dir;
  // Called after the rows are in the destination and before COMMIT; a test stops the process
  // here (or fails the step) to show that nothing half-applied survives.
  std::function<Status()> TEST_before_commit;
};

struct StepResult {
  bool applied = false;                 // a transaction was committed
  std::optional<int64_t> offset;        // the destination's version after the step
  int64_t latest_version = -1;          // the lake table's latest version
  int64_t first_pending_commit_ms = 0;  // commit time of offset+1 when behind, else 0
  int64_t rows = 0;                     // rows copied into the destination
  bool from_feed = false;               // the rows came from the change feed
  std::optional<std::string> paused;    // why the table cannot be followed
};

class TableSync {
 public:
  TableSync(lake::FileSystem& fs, std::string table_path, QualifiedName lake_name,
            QualifiedName destination, SinkMode mode, TableSyncOptions options);

  // Brings the destination one transaction closer to the lake's latest version.
  Result<StepResult> Step(engine::Connection& duck, pg::Connection& pg);

  // The offsets key of this lake table ("schema.table").
  const std::string& offset_key() const { return offset_key_; }
  const QualifiedName& destination() const { return destination_; }
  SinkMode mode() const { return mode_; }

 private:
  Result<int64_t> CommitTimeMs(int64_t version);
  Result<std::string> WriteBatchFile(engine::Connection& duck, const std::string& select_sql);
  Result<int64_t> CopyFile(pg::Connection& pg, const std::string& copy_command,
                           const std::string& path);

  lake::FileSystem& fs_;
  std::string table_path_;
  QualifiedName lake_name_;
  QualifiedName destination_;
  SinkMode mode_;
  TableSyncOptions options_;
  std::string offset_key_;
  uint64_t batch_counter_ = 0;
};

}  // namespace freshet::sink
