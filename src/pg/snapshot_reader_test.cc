#include "pg/snapshot_reader.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "pg/replication_setup.h"
#include "pg/replication_stream.h"
#include "pg/snapshot_consistency_test_util.h"
#include "pg/transaction_assembler.h"
#include "pg/types.h"
#include "postgres_test.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

using test_snapshot::DecodeRow;
using test_snapshot::Table;
using test_snapshot::TableSink;

class SnapshotReaderTest : public PostgresTest {};

// A writer inserts, updates (including the key) and deletes while the table is snapshotted in
// parallel CTID chunks. The snapshot plus the changes streamed from the slot's consistent point,
// replayed, equal the final table exactly: no change is missed and none applies twice.
TEST_F(SnapshotReaderTest, SnapshotPlusStreamEqualsTheTableUnderConcurrentWrites) {
  test_snapshot::CheckSnapshotPlusStream(dsn(), 20000, /*pages_per_chunk=*/32);
}

// Keeps a chunk's rows only once the chunk is done, as a resumable sink must; can terminate the
// snapshot's readers once, in the middle of a chunk.
class ResumableSink : public SnapshotSink {
 public:
  Status OnChunkStart(const SnapshotChunk& chunk) override {
    pending[chunk].clear();
    return Status::Ok();
  }
  Status OnRow(const SnapshotChunk& chunk, Change&& change) override {
    if (killer && ++rows_seen == 3000) {
      auto killed = killer->Query(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE "
          "'COPY (SELECT%' AND pid <> pg_backend_pid()");
      if (!killed.ok()) return killed.status();
      terminated = *killed->GetInt(0, 0);
    }
    pending[chunk].push_back(DecodeRow(change, change.new_tuple).first);
    return Status::Ok();
  }
  Status OnChunkDone(const SnapshotChunk& chunk) override {
    for (int64_t id : pending[chunk]) {
      if (!ids.insert(id).second) return Status::Internal("row {} read twice", id);
    }
    pending.erase(chunk);
    done.insert(chunk);
    return Status::Ok();
  }

  Connection* killer = nullptr;
  int rows_seen = 0;
  int64_t terminated = 0;
  std::map<SnapshotChunk, std::vector<int64_t>> pending;
  std::set<int64_t> ids;
  std::set<SnapshotChunk> done;
};

TEST_F(SnapshotReaderTest, TerminatedReaderResumesFromFinishedChunks) {
  Sql("CREATE TABLE t (id int PRIMARY KEY, pad text); INSERT INTO t SELECT g, repeat('p', 200) "
      "FROM generate_series(1, 10000) g");
  Sql("VACUUM ANALYZE t");
  Connection sql = Connect();
  auto replication = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(replication.ok());
  auto slot = CreateSlot(*replication, "slot", true);
  ASSERT_TRUE(slot.ok()) << slot.status();
  auto plan = PlanSnapshot(sql, {"public.t"}, 16);
  ASSERT_TRUE(plan.ok());
  Connection killer = Connect();
  ResumableSink sink;
  sink.killer = &killer;
  SnapshotProgress progress;
  SnapshotOptions options{.connect = {.dsn = dsn()}, .snapshot_name = slot->snapshot_name};
  Status first = RunSnapshot(*plan, options, sink, progress);
  ASSERT_FALSE(first.ok()) << "a reader was terminated";
  EXPECT_TRUE(first.Is(Code::kUnavailable)) << first;
  EXPECT_GE(sink.terminated, 1);
  ASSERT_LT(sink.done.size(), plan->chunks.size());
  sink.killer = nullptr;
  options.skip = sink.done;
  Status second = RunSnapshot(*plan, options, sink, progress);
  ASSERT_TRUE(second.ok()) << second;
  EXPECT_EQ(sink.ids.size(), 10000u);
  EXPECT_EQ(sink.done.size(), plan->chunks.size());
}

// A partitioned table keeps its rows in the partitions: it is read through a query, whole,
// and a small plain table in one chunk is read with a plain COPY; both give every row.
TEST_F(SnapshotReaderTest, PartitionedAndSingleChunkTables) {
  Sql("CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id); "
      "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (50); "
      "CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (50) TO (100); "
      "INSERT INTO parted SELECT generate_series(0, 99); "
      "CREATE TABLE small (id int PRIMARY KEY, v text); INSERT INTO small VALUES (1, 'a'), (2, "
      "NULL)");
  Connection sql = Connect();
  auto replication = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(replication.ok());
  auto slot = CreateSlot(*replication, "slot", true);
  ASSERT_TRUE(slot.ok()) << slot.status();
  auto plan = PlanSnapshot(sql, {"public.parted", "public.small"}, 8);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->chunks.size(), 2u);
  EXPECT_TRUE(plan->tables[0].partitioned);
  struct PerTable : SnapshotSink {
    Status OnChunkStart(const SnapshotChunk&) override { return Status::Ok(); }
    Status OnRow(const SnapshotChunk&, Change&& change) override {
      tables[change.relation->name].insert(DecodeRow(change, change.new_tuple));
      return Status::Ok();
    }
    Status OnChunkDone(const SnapshotChunk&) override { return Status::Ok(); }
    std::map<std::string, Table> tables;
  } sink;
  SnapshotProgress progress;
  Status status = RunSnapshot(
      *plan, {.connect = {.dsn = dsn()}, .snapshot_name = slot->snapshot_name}, sink, progress);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(progress.rows, 102u);
  EXPECT_EQ(sink.tables["parted"].size(), 100u);
  EXPECT_EQ(sink.tables["small"].at(2), (std::vector<std::string>{"NULL"}));
  EXPECT_EQ(sink.tables["small"].at(1), (std::vector<std::string>{"a"}));
}

TEST_F(SnapshotReaderTest, AGoneSnapshotIsAClearError) {
  Sql("CREATE TABLE t (id int PRIMARY KEY)");
  Connection sql = Connect();
  auto plan = PlanSnapshot(sql, {"public.t"}, 8);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->chunks.size(), 1u);
  EXPECT_FALSE(plan->chunks[0].end_page.has_value());
  TableSink sink;
  SnapshotProgress progress;
  Status status = RunSnapshot(
      *plan, {.connect = {.dsn = dsn()}, .snapshot_name = "00000003-00000002-1"}, sink, progress);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("exported snapshot"), std::string::npos) << status;
  EXPECT_TRUE(PlanSnapshot(sql, {"public.nope"}, 8).status().Is(Code::kNotFound));
  EXPECT_EQ(*ParseSnapshotMode("initial_only"), SnapshotMode::kInitialOnly);
  EXPECT_TRUE(ParseSnapshotMode("sometimes").status().Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace freshet::pg
