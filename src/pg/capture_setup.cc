#include "pg/capture_setup.h"

namespace freshet::pg {
namespace {

Result<std::vector<std::string>> PublishedTables(Connection& sql, const std::string& publication) {
  FRESHET_ASSIGN_OR_RETURN(Rows rows,
                           sql.Query("SELECT format('%I.%I', schemaname, tablename) FROM "
                                     "pg_publication_tables WHERE pubname = $1 ORDER BY 1",
                                     {publication}));
  std::vector<std::string> tables;
  for (int row = 0; row < rows.size(); ++row) tables.emplace_back(*rows.Get(row, 0));
  return tables;
}

Status Snapshot(Connection& sql, const SetupOptions& options, const std::string& snapshot_name,
                const std::set<SnapshotChunk>& skip, SnapshotSink& sink,
                SnapshotProgress& progress) {
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> tables,
                           PublishedTables(sql, options.publication.name));
  FRESHET_ASSIGN_OR_RETURN(SnapshotPlan plan, PlanSnapshot(sql, tables, options.pages_per_chunk));
  ConnectOptions connect = options.connect;
  connect.replication = false;
  return RunSnapshot(plan,
                     {.connect = connect,
                      .snapshot_name = snapshot_name,
                      .parallelism = options.parallelism,
                      .skip = skip},
                     sink, progress);
}

}  // namespace

Result<SetupResult> SetUpCapture(const SetupOptions& options, SnapshotSink& sink,
                                 SnapshotProgress& progress) {
  ConnectOptions plain = options.connect;
  plain.replication = false;
  FRESHET_ASSIGN_OR_RETURN(Connection sql, Connection::Open(plain));
  FRESHET_RETURN_IF_ERROR(EnsurePublication(sql, options.publication));
  SetupResult result;
  result.stream = options.mode != SnapshotMode::kInitialOnly;
  bool wants_snapshot = options.mode != SnapshotMode::kNever;

  auto slot = GetSlot(sql, options.slot);
  if (slot.ok()) {
    result.start_lsn = slot->confirmed_flush_lsn;
    if (wants_snapshot && !options.snapshot_complete) {
      FRESHET_RETURN_IF_ERROR(
          Snapshot(sql, options, /*snapshot_name=*/"", options.finished_chunks, sink, progress));
      result.snapshotted = true;
      result.resumed_snapshot = true;
    }
    return result;
  }
  if (!slot.status().Is(Code::kNotFound)) return slot.status();

  ConnectOptions replication_options = options.connect;
  replication_options.replication = true;
  FRESHET_ASSIGN_OR_RETURN(Connection replication, Connection::Open(replication_options));
  FRESHET_ASSIGN_OR_RETURN(SlotInfo created, CreateSlot(replication, options.slot, wants_snapshot));
  result.created_slot = true;
  result.start_lsn = created.consistent_point;
  if (wants_snapshot) {
    // `replication` stays open and idle until the snapshot is read: that keeps the exported
    // snapshot alive.
    FRESHET_RETURN_IF_ERROR(Snapshot(sql, options, created.snapshot_name, {}, sink, progress));
    result.snapshotted = true;
  }
  return result;
}

}  // namespace freshet::pg
