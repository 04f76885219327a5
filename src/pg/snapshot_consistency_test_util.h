#pragma once

// The snapshot + stream consistency check, shared by pg_test (20k rows) and pg_slow_test (1M):
// a writer inserts, updates (including the key) and deletes while the table is snapshotted in
// parallel CTID chunks; the snapshot plus the changes streamed from the slot's consistent point,
// replayed, equal the final table exactly: no change is missed and none applies twice.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "pg/replication_setup.h"
#include "pg/replication_stream.h"
#include "pg/snapshot_reader.h"
#include "pg/transaction_assembler.h"
#include "pg/types.h"
#include "stop_and_join.h"

namespace freshet::pg::test_snapshot {

using namespace std::chrono_literals;

// id → the rest of the row as text, decoded the way the lake writer will decode it.
using Table = std::map<int64_t, std::vector<std::string>>;

inline std::pair<int64_t, std::vector<std::string>> DecodeRow(const Change& change,
                                                              const Tuple& tuple) {
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

inline void CheckSnapshotPlusStream(const std::string& dsn, int row_count,
                                    uint32_t pages_per_chunk) {
  const int kRows = row_count;
  auto run = [&](const std::string& statement) {
    auto connection = Connection::Open({.dsn = dsn});
    ASSERT_TRUE(connection.ok()) << connection.status();
    Status status = connection->Execute(statement);
    ASSERT_TRUE(status.ok()) << status;
  };
  run(
      fmt::format("CREATE TABLE accounts (id int PRIMARY KEY, balance int, note text); "
                  "INSERT INTO accounts SELECT g, g % 1000, repeat('n', 100) FROM "
                  "generate_series(1, {}) g",
                  kRows));
  run("VACUUM ANALYZE accounts");
  auto opened = Connection::Open({.dsn = dsn});
  ASSERT_TRUE(opened.ok());
  Connection sql = std::move(*opened);
  ASSERT_TRUE(EnsurePublication(sql, {.name = "pub", .tables = {"public.accounts"}}).ok());
  auto replication = Connection::Open({.dsn = dsn, .replication = true});
  ASSERT_TRUE(replication.ok()) << replication.status();
  auto slot = CreateSlot(*replication, "slot", /*export_snapshot=*/true);
  ASSERT_TRUE(slot.ok()) << slot.status();
  ASSERT_FALSE(slot->snapshot_name.empty());

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  // Bounded, so that a slow (sanitized, loaded) machine does not queue more WAL than the
  // stream below can drain before its deadline.
  constexpr int kMaxWrites = 20000;
  std::thread writer([&] {
    auto connection = Connection::Open({.dsn = dsn});
    ASSERT_TRUE(connection.ok());
    for (int i = 0; (!stop || writes < 300) && writes < kMaxWrites; ++i) {
      int id = static_cast<int>(1 + (int64_t{i} * 7919) % kRows);
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

  testing::StopAndJoin stop_writer(stop, writer);

  auto plan = PlanSnapshot(sql, {"public.accounts"}, pages_per_chunk);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_GT(plan->chunks.size(), 5u);
  TableSink snapshot;
  SnapshotProgress progress;
  Status read = RunSnapshot(
      *plan, {.connect = {.dsn = dsn}, .snapshot_name = slot->snapshot_name, .parallelism = 3},
      snapshot, progress);
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_EQ(snapshot.rows.size(), static_cast<size_t>(kRows))
      << "the snapshot sees the table as of the slot";
  EXPECT_EQ(progress.rows, static_cast<uint64_t>(kRows));
  EXPECT_EQ(progress.chunks_done, plan->chunks.size());
  EXPECT_DOUBLE_EQ(progress.Percent(), 100.0);

  // Resume: skipping finished chunks delivers exactly the others' rows.
  std::set<SnapshotChunk> skip = {plan->chunks[0], plan->chunks[2]};
  TableSink resumed;
  SnapshotProgress resumed_progress;
  ASSERT_TRUE(RunSnapshot(*plan,
                          {.connect = {.dsn = dsn},
                           .snapshot_name = slot->snapshot_name,
                           .parallelism = 2,
                           .skip = skip},
                          resumed, resumed_progress)
                  .ok());
  EXPECT_EQ(resumed.rows.size(), static_cast<size_t>(kRows) -
                                     snapshot.rows_per_chunk[plan->chunks[0]] -
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
  auto deadline = std::chrono::steady_clock::now() + 180s;
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

}  // namespace freshet::pg::test_snapshot
