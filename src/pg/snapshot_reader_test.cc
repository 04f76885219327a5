#include "pg/snapshot_reader.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "pg/replication_setup.h"
#include "pg/replication_stream.h"
#include "pg/transaction_assembler.h"
#include "pg/types.h"
#include "postgres_test.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

// id → the rest of the row as text, decoded the way the lake writer will decode it.
using Table = std::map<int64_t, std::vector<std::string>>;

std::pair<int64_t, std::vector<std::string>> DecodeRow(const Change& change, const Tuple& tuple) {
  TypeRegistry registry;
  std::vector<std::string> values;
  int64_t id = 0;
  for (size_t column = 0; column < tuple.size(); ++column) {
    auto datum = DecodeValue(tuple[column], change.relation->columns[column].type_oid, registry);
    EXPECT_TRUE(datum.ok()) << datum.status();
    if (!datum.ok()) continue;
    if (column == 0) {
      id = datum->i;
      continue;
    }
    values.push_back(FormatPostgresText(*datum));
  }
  return {id, values};
}

class TableSink : public SnapshotSink {
 public:
  Status OnChunkStart(const SnapshotChunk&) override { return Status::Ok(); }
  Status OnRow(const SnapshotChunk& chunk, Change&& change) override {
    auto [id, values] = DecodeRow(change, change.new_tuple);
    if (!rows.emplace(id, values).second) return Status::Internal("row {} read twice", id);
    ++rows_per_chunk[chunk];
    return Status::Ok();
  }
  Status OnChunkDone(const SnapshotChunk& chunk) override {
    done.push_back(chunk);
    return Status::Ok();
  }

  Table rows;
  std::map<SnapshotChunk, int> rows_per_chunk;
  std::vector<SnapshotChunk> done;
};

class SnapshotReaderTest : public PostgresTest {};

// A writer inserts, updates (including the key) and deletes while the table is snapshotted in
// parallel CTID chunks. The snapshot plus the changes streamed from the slot's consistent point,
// replayed, equal the final table exactly: no change is missed and none applies twice.
TEST_F(SnapshotReaderTest, SnapshotPlusStreamEqualsTheTableUnderConcurrentWrites) {
  constexpr int kRows = 20000;
  Sql(
      fmt::format("CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text); "
                  "INSERT INTO accounts SELECT g, g % 1000, repeat('n', 100) FROM "
                  "generate_series(1, {}) g",
                  kRows));
  Sql("VACUUM ANALYZE accounts");
  Connection sql = Connect();
  ASSERT_TRUE(EnsurePublication(sql, {.name = "pub", .tables = {"public.accounts"}}).ok());
  auto replication = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(replication.ok()) << replication.status();
  auto slot = CreateSlot(*replication, "slot", /*export_snapshot=*/true);
  ASSERT_TRUE(slot.ok()) << slot.status();
  ASSERT_FALSE(slot->snapshot_name.empty());

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    auto connection = Connection::Open({.dsn = dsn()});
    ASSERT_TRUE(connection.ok());
    for (int i = 0; !stop || writes < 300; ++i) {
      int id = 1 + (i * 7919) % kRows;
      std::string statement;
      switch (i % 4) {
        case 0:
          statement = fmt::format("UPDATE accounts SET balance = balance + 1 WHERE id = {}", id);
          break;
        case 1:
          statement = fmt::format("DELETE FROM accounts WHERE id = {}", id);
          break;
        case 2:
          statement = fmt::format("INSERT INTO accounts VALUES ({}, {}, 'new')", kRows + i, i);
          break;
        default:
          statement = fmt::format("UPDATE accounts SET id = {} WHERE id = {}", 2 * kRows + i, id);
          break;
      }
      ASSERT_TRUE(connection->Execute(statement).ok()) << statement;
      ++writes;
    }
  });

  auto plan = PlanSnapshot(sql, {"public.accounts"}, /*pages_per_chunk=*/32);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_GT(plan->chunks.size(), 5u);
  TableSink snapshot;
  SnapshotProgress progress;
  Status read = RunSnapshot(
      *plan, {.connect = {.dsn = dsn()}, .snapshot_name = slot->snapshot_name, .parallelism = 3},
      snapshot, progress);
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_EQ(snapshot.rows.size(), size_t{kRows}) << "the snapshot sees the table as of the slot";
  EXPECT_EQ(progress.rows, uint64_t{kRows});
  EXPECT_EQ(progress.chunks_done, plan->chunks.size());
  EXPECT_DOUBLE_EQ(progress.Percent(), 100.0);

  // Resume: skipping finished chunks delivers exactly the others' rows.
  std::set<SnapshotChunk> skip = {plan->chunks[0], plan->chunks[2]};
  TableSink resumed;
  SnapshotProgress resumed_progress;
  ASSERT_TRUE(RunSnapshot(*plan,
                          {.connect = {.dsn = dsn()},
                           .snapshot_name = slot->snapshot_name,
                           .parallelism = 2,
                           .skip = skip},
                          resumed, resumed_progress)
                  .ok());
  EXPECT_EQ(resumed.rows.size(), size_t{kRows} - snapshot.rows_per_chunk[plan->chunks[0]] -
                                     snapshot.rows_per_chunk[plan->chunks[2]]);

  stop = true;
  writer.join();
  ASSERT_TRUE(sql.Execute("SELECT pg_logical_emit_message(true, 'test', 'end')").ok());

  auto stream = ReplicationStream::Start(
      std::move(*replication),
      {.slot = "slot", .publication = "pub", .start_lsn = slot->consistent_point});
  ASSERT_TRUE(stream.ok()) << stream.status();
  CollectingSink changes;
  TransactionAssembler assembler({}, changes);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  auto ended = [&] {
    return !changes.transactions.empty() && !changes.transactions.back().messages.empty();
  };
  while (!ended()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    auto next = stream->Next(200ms);
    ASSERT_TRUE(next.ok()) << next.status();
    if (*next) {
      ASSERT_TRUE(assembler.Feed((*next)->payload).ok());
    }
  }

  Table table = snapshot.rows;
  size_t applied = 0;
  for (const Transaction& txn : changes.transactions) {
    for (const Change& change : txn.changes) {
      ++applied;
      if (change.kind == ChangeKind::kInsert) {
        auto [id, values] = DecodeRow(change, change.new_tuple);
        ASSERT_TRUE(table.emplace(id, values).second) << "insert of row " << id << " seen twice";
      } else if (change.kind == ChangeKind::kUpdate) {
        auto [id, values] = DecodeRow(change, change.new_tuple);
        if (change.old_kind == OldTupleKind::kKey) {
          auto [old_id, ignored] = DecodeRow(change, change.old_tuple);
          ASSERT_EQ(table.erase(old_id), 1u) << "update of missing row " << old_id;
        } else {
          ASSERT_EQ(table.count(id), 1u) << "update of missing row " << id;
        }
        table[id] = values;
      } else if (change.kind == ChangeKind::kDelete) {
        auto [id, ignored] = DecodeRow(change, change.old_tuple);
        ASSERT_EQ(table.erase(id), 1u) << "delete of missing row " << id;
      }
    }
  }
  EXPECT_GE(applied, 300u);

  auto rows = sql.Query("SELECT id, balance, note FROM accounts ORDER BY id");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(static_cast<size_t>(rows->size()), table.size());
  auto it = table.begin();
  for (int row = 0; row < rows->size(); ++row, ++it) {
    ASSERT_EQ(*rows->GetInt(row, 0), it->first);
    ASSERT_EQ(rows->Get(row, 1), it->second[0]) << "row " << it->first;
    ASSERT_EQ(rows->Get(row, 2), it->second[1]) << "row " << it->first;
  }
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
