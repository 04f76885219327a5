// Change capture throughput against PostgreSQL's own tools, on one WAL in the same run.
//
// Stream: a throwaway PostgreSQL 15 gets INSERTS inserts, then UPDATES updates and DELETES
// deletes on a 6-column table, in 10k-row transactions, with four pgoutput slots created before
// the workload so all read the same WAL. pg_recvlogical drains two (pgoutput, protocol 2,
// binary, output to /dev/null, --endpos at the end of the workload); freshet's
// ReplicationStream + TransactionAssembler drain the other two into batches of Changes; the
// runs alternate and the faster of each pair counts. Goal: freshet rate / pg_recvlogical rate
// >= 1.0 (decoding is never the bottleneck).
//
// Snapshot: RunSnapshot (binary COPY of CTID chunks over PARALLELISM connections, rows parsed
// into Changes) against `psql -c "COPY t TO STDOUT (FORMAT binary)" > /dev/null` of the same
// table. Goal: ratio >= 0.8.
//
//   build/bench/pg_capture_bench [INSERTS] [RESULT.json] [PARALLELISM]
// UPDATES and DELETES are half and a tenth of INSERTS (the 1M / 500k / 100k).

#include <chrono>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_wal.h"
#include "pg/change_sink.h"
#include "pg/replication_setup.h"
#include "pg/replication_stream.h"
#include "pg/snapshot_reader.h"
#include "pg/transaction_assembler.h"
#include "subprocess.h"
#include "throwaway_postgres.h"

namespace {

using Clock = std::chrono::steady_clock;
using freshet::Lsn;
using freshet::Status;
namespace pg = freshet::pg;

int Fail(const Status& status) {
  fmt::print(stderr, "pg_capture_bench: {}\n", status.ToString());
  return 1;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Hands Changes on in batches, as the pipeline's per-table buffers will take them.
class BatchingSink : public pg::ChangeSink {
 public:
  Status OnBegin(const pg::TransactionInfo&) override { return Status::Ok(); }
  Status OnSchemaEvent(const pg::SchemaEvent&) override { return Status::Ok(); }
  Status OnChange(pg::Change&& change) override {
    batch_.push_back(std::move(change));
    if (batch_.size() == 4096) Flush();
    return Status::Ok();
  }
  Status OnMessage(pg::LogicalMessage&& message) override {
    if (message.prefix == "bench_end") done = true;
    return Status::Ok();
  }
  Status OnCommit(const pg::TransactionInfo&) override {
    Flush();
    return Status::Ok();
  }
  Status OnRestart() override { return Status::Ok(); }

  uint64_t changes = 0;
  bool done = false;

 private:
  void Flush() {
    changes += batch_.size();
    batch_.clear();
  }
  std::vector<pg::Change> batch_;
};

class CountingSnapshotSink : public pg::SnapshotSink {
 public:
  Status OnChunkStart(const pg::SnapshotChunk&) override { return Status::Ok(); }
  Status OnRow(const pg::SnapshotChunk&, pg::Change&&) override {
    ++rows;
    return Status::Ok();
  }
  Status OnChunkDone(const pg::SnapshotChunk&) override { return Status::Ok(); }
  uint64_t rows = 0;
};

freshet::Result<double> TimeShell(const std::string& command) {
  auto start = Clock::now();
  FRESHET_ASSIGN_OR_RETURN(auto result, freshet::testing::RunCommand({"sh", "-c", command}));
  if (result.exit_code != 0) {
    return Status::Internal("`{}` failed ({}): {}", command.substr(0, 120), result.exit_code,
                            result.output);
  }
  return Seconds(Clock::now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t inserts = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  std::string result_path = argc > 2 ? argv[2] : "bench/results/pg_capture.json";
  int parallelism = argc > 3 ? std::stoi(argv[3]) : 2;
  int64_t updates = inserts / 2;
  int64_t deletes = inserts / 10;

  auto server = freshet::testing::ThrowawayPostgres::Start(
      {.settings = {{"max_wal_size", "'4GB'"}, {"checkpoint_timeout", "'30min'"}}});
  if (!server.ok()) return Fail(server.status());
  auto bindir = freshet::testing::FindPostgresBinDir();
  if (!bindir.ok()) return Fail(bindir.status());
  std::string dsn = (*server)->Dsn("postgres");
  auto sql = pg::Connection::Open({.dsn = dsn});
  if (!sql.ok()) return Fail(sql.status());

  fmt::print("pg_capture_bench: writing {} inserts, {} updates, {} deletes\n", inserts, updates,
             deletes);
  Status status = freshet::bench::WriteBenchWal(
      *sql, dsn, "pub", {"recvlogical1", "freshet1", "freshet2", "recvlogical2"}, inserts, updates,
      deletes);
  if (!status.ok()) return Fail(status);
  auto end =
      sql->Query("SELECT pg_logical_emit_message(false, 'bench_end', 'x'), pg_current_wal_lsn()");
  if (!end.ok()) return Fail(end.status());
  std::string end_lsn(*end->Get(0, 1));
  int64_t changes = inserts + updates + deletes;

  // Each reader drains the WAL twice, in the order recvlogical, freshet, freshet, recvlogical,
  // so neither always runs first on a busy machine; the best of each pair counts.
  auto run_recvlogical = [&](const std::string& slot) {
    // The same plugin options as freshet, data written to /dev/null.
    return TimeShell(fmt::format(
        "{}/pg_recvlogical -d '{}' --slot {} --start --endpos {} -o proto_version=2 -o "
        "publication_names=pub -o binary=true -o streaming=on -o messages=true -f /dev/null "
        "--no-loop",
        *bindir, dsn, slot, end_lsn));
  };
  auto run_freshet = [&](const std::string& slot) -> freshet::Result<double> {
    // Timed from the connection on, as pg_recvlogical's time includes its own.
    auto start = Clock::now();
    FRESHET_ASSIGN_OR_RETURN(pg::Connection replication,
                             pg::Connection::Open({.dsn = dsn, .replication = true}));
    FRESHET_ASSIGN_OR_RETURN(
        pg::ReplicationStream stream,
        pg::ReplicationStream::Start(std::move(replication), {.slot = slot, .publication = "pub"}));
    BatchingSink sink;
    pg::TransactionAssembler assembler({}, sink);
    while (!sink.done) {
      FRESHET_ASSIGN_OR_RETURN(auto next, stream.Next(std::chrono::seconds(30)));
      if (!next.has_value()) return Status::Timeout("no data for 30 s");
      FRESHET_RETURN_IF_ERROR(assembler.Feed(next->payload));
    }
    double seconds = Seconds(Clock::now() - start);
    if (sink.changes != static_cast<uint64_t>(changes)) {
      return Status::Internal("freshet decoded {} changes, expected {}", sink.changes, changes);
    }
    return seconds;
  };
  std::vector<double> recv_runs;
  std::vector<double> freshet_runs;
  for (const char* slot : {"recvlogical1", "freshet1", "freshet2", "recvlogical2"}) {
    bool is_recv = std::string_view(slot).starts_with("recv");
    auto seconds = is_recv ? run_recvlogical(slot) : run_freshet(slot);
    if (!seconds.ok()) return Fail(seconds.status());
    (is_recv ? recv_runs : freshet_runs).push_back(*seconds);
  }
  auto recv_seconds = std::min(recv_runs[0], recv_runs[1]);
  double freshet_seconds = std::min(freshet_runs[0], freshet_runs[1]);

  // Snapshot of the table as it is now, against a plain binary COPY to /dev/null.
  auto snapshot_replication = pg::Connection::Open({.dsn = dsn, .replication = true});
  if (!snapshot_replication.ok()) return Fail(snapshot_replication.status());
  auto slot = pg::CreateSlot(*snapshot_replication, "snapshot", true);
  if (!slot.ok()) return Fail(slot.status());
  if (auto s = sql->Execute("VACUUM ANALYZE t"); !s.ok()) return Fail(s);
  auto copy_seconds = TimeShell(
      fmt::format("psql -X -q -d '{}' -c 'COPY t TO STDOUT (FORMAT binary)' > /dev/null", dsn));
  if (!copy_seconds.ok()) return Fail(copy_seconds.status());
  // Parallel CTID chunks as configured, then the whole table as one chunk (a plain COPY).
  uint64_t table_rows = static_cast<uint64_t>(inserts - deletes);
  auto time_snapshot = [&](uint32_t pages_per_chunk, int workers,
                           size_t* chunks) -> freshet::Result<double> {
    FRESHET_ASSIGN_OR_RETURN(pg::SnapshotPlan plan,
                             pg::PlanSnapshot(*sql, {"public.t"}, pages_per_chunk));
    *chunks = plan.chunks.size();
    CountingSnapshotSink sink;
    pg::SnapshotProgress progress;
    auto begin = Clock::now();
    FRESHET_RETURN_IF_ERROR(pg::RunSnapshot(
        plan,
        {.connect = {.dsn = dsn}, .snapshot_name = slot->snapshot_name, .parallelism = workers},
        sink, progress));
    double seconds = Seconds(Clock::now() - begin);
    if (sink.rows != table_rows) {
      return Status::Internal("snapshot read {} rows, expected {}", sink.rows, table_rows);
    }
    return seconds;
  };
  size_t chunks = 0;
  size_t single_chunks = 0;
  auto parallel_seconds = time_snapshot(2048, parallelism, &chunks);
  if (!parallel_seconds.ok()) return Fail(parallel_seconds.status());
  auto single_seconds = time_snapshot(UINT32_MAX, 1, &single_chunks);
  if (!single_seconds.ok()) return Fail(single_seconds.status());
  double snapshot_seconds = *parallel_seconds;

  double recv_rate = static_cast<double>(changes) / recv_seconds;
  double freshet_rate = static_cast<double>(changes) / freshet_seconds;
  double copy_rate = static_cast<double>(table_rows) / *copy_seconds;
  double snapshot_rate = static_cast<double>(table_rows) / snapshot_seconds;
  nlohmann::json result = {
      {"benchmark", "pg_capture"},
      {"wal", {{"inserts", inserts}, {"updates", updates}, {"deletes", deletes}}},
      {"stream",
       {{"pg_recvlogical_seconds", recv_seconds},
        {"pg_recvlogical_runs", recv_runs},
        {"freshet_runs", freshet_runs},
        {"pg_recvlogical_changes_per_s", recv_rate},
        {"freshet_seconds", freshet_seconds},
        {"freshet_changes_per_s", freshet_rate},
        {"ratio", freshet_rate / recv_rate},
        {"goal", ">= 1.0"}}},
      {"snapshot",
       {{"rows", table_rows},
        {"parallelism", parallelism},
        {"chunks", chunks},
        {"copy_seconds", *copy_seconds},
        {"copy_rows_per_s", copy_rate},
        {"freshet_seconds", snapshot_seconds},
        {"freshet_rows_per_s", snapshot_rate},
        {"ratio", snapshot_rate / copy_rate},
        {"single_chunk_seconds", *single_seconds},
        {"single_chunk_rows_per_s", static_cast<double>(table_rows) / *single_seconds},
        {"single_chunk_ratio", static_cast<double>(table_rows) / *single_seconds / copy_rate},
        {"goal", ">= 0.8"}}},
      {"note",
       "pg_recvlogical and psql times include process start and connection; both sides read "
       "from the same throwaway server on this machine"}};
  std::ofstream(result_path) << result.dump(2) << "\n";
  fmt::print("{}\n", result.dump(2));
  return 0;
}
