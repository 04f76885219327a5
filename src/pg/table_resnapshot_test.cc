#include "pg/table_resnapshot.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "pg/capture.h"
#include "pg/replication_setup.h"
#include "postgres_test.h"
#include "stop_and_join.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

class TableResnapshotTest : public PostgresTest {};

std::vector<std::string> Texts(const Change& change, const Tuple& tuple) {
  TypeRegistry registry;
  std::vector<std::string> out;
  for (size_t column = 0; column < tuple.size(); ++column) {
    auto datum = DecodeValue(tuple[column], change.relation->columns[column].type_oid, registry);
    out.push_back(datum.ok() ? FormatPostgresText(*datum) : datum.status().ToString());
  }
  return out;
}

// The table is re-read in chunks while a writer changes it and the stream keeps flowing. A
// lake that starts empty and applies the stream and the read rows in the order they arrive ends
// equal to the table.
TEST_F(TableResnapshotTest, ConvergesToTheTableUnderConcurrentWrites) {
  constexpr int kRows = 3000;
  Sql(
      fmt::format("CREATE TABLE items (id int PRIMARY KEY, v int, note text); INSERT INTO items "
                  "SELECT g, g, 'original' FROM generate_series(1, {}) g",
                  kRows));
  Connection sql = Connect();
  ASSERT_TRUE(EnsurePublication(sql, {.name = "pub", .tables = {"public.items"}}).ok());
  {
    auto replication = Connection::Open({.dsn = dsn(), .replication = true});
    ASSERT_TRUE(replication.ok());
    ASSERT_TRUE(CreateSlot(*replication, "slot", false).ok());
  }
  CollectingSink lake;
  auto resnapshot =
      TableResnapshot::Create(sql, {.table = "public.items", .chunk_rows = 200}, lake);
  ASSERT_TRUE(resnapshot.ok()) << resnapshot.status();
  ChangeCapture capture({.connect = {.dsn = dsn()}, .slot = "slot", .publication = "pub"},
                        **resnapshot);

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  // Bounded: an unthrottled writer on a slow (sanitized, loaded) machine floods the WAL faster
  // than the test drains it, and the re-snapshot's watermarks then never catch up in time.
  constexpr int kMaxWrites = 5000;
  std::thread writer([&] {
    auto connection = Connection::Open({.dsn = dsn()});
    ASSERT_TRUE(connection.ok());
    for (int i = 0; (!stop || writes < 300) && writes < kMaxWrites; ++i) {
      int id = static_cast<int>(1 + (int64_t{i} * 7919) % kRows);
      std::string statement;
      switch (i % 3) {
        case 0:
          statement = fmt::format("UPDATE items SET v = v + 1, note = 'updated' WHERE id = {}", id);
          break;
        case 1:
          statement = fmt::format("DELETE FROM items WHERE id = {}", id);
          break;
        default:
          statement = fmt::format(
              "INSERT INTO items VALUES ({}, {}, 'new') ON CONFLICT (id) DO "
              "UPDATE SET note = 'reinserted'",
              id, -i);
          break;
      }
      ASSERT_TRUE(connection->Execute(statement).ok()) << statement;
      ++writes;
    }
  });

  testing::StopAndJoin stop_writer(stop, writer);

  auto deadline = std::chrono::steady_clock::now() + 180s;
  while (!(*resnapshot)->done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    if (!(*resnapshot)->chunk_pending()) {
      Status read = (*resnapshot)->ReadNextChunk(sql);
      ASSERT_TRUE(read.ok()) << read;
    }
    Status polled = capture.Poll(20ms);
    ASSERT_TRUE(polled.ok()) << polled;
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(sql.Execute("SELECT pg_logical_emit_message(true, 'test', 'end')").ok());
  while (lake.transactions.empty() || lake.transactions.back().messages.empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    Status polled = capture.Poll(50ms);
    ASSERT_TRUE(polled.ok()) << polled;
  }

  std::map<std::string, std::vector<std::string>> table;
  size_t reads = 0;
  for (const Transaction& txn : lake.transactions) {
    for (const Change& change : txn.changes) {
      if (change.kind == ChangeKind::kDelete) {
        table.erase(Texts(change, change.old_tuple)[0]);
        continue;
      }
      std::vector<std::string> row = Texts(change, change.new_tuple);
      if (change.kind == ChangeKind::kUpdate && change.old_kind == OldTupleKind::kKey) {
        table.erase(Texts(change, change.old_tuple)[0]);
      }
      reads += change.kind == ChangeKind::kRead;
      table[row[0]] = row;
    }
  }
  EXPECT_EQ(reads, (*resnapshot)->rows_delivered());
  EXPECT_GT(reads, size_t{kRows} / 2);
  auto rows = sql.Query("SELECT id, v, note FROM items");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(static_cast<size_t>(rows->size()), table.size());
  for (int row = 0; row < rows->size(); ++row) {
    std::string id(*rows->Get(row, 0));
    ASSERT_EQ(table.count(id), 1u) << "row " << id << " missing";
    EXPECT_EQ(table[id], (std::vector<std::string>{id, std::string(*rows->Get(row, 1)),
                                                   std::string(*rows->Get(row, 2))}))
        << "row " << id;
  }
}

TEST_F(TableResnapshotTest, TablesWithoutAKeyAreRefused) {
  Sql("CREATE TABLE loose (a int)");
  Connection sql = Connect();
  CollectingSink sink;
  auto resnapshot = TableResnapshot::Create(sql, {.table = "public.loose"}, sink);
  EXPECT_TRUE(resnapshot.status().Is(Code::kNotFound)) << resnapshot.status();
}

// A chunk read after the table's columns changed would not match the relation it is delivered
// with: the read is refused and the caller starts a new re-snapshot.
TEST_F(TableResnapshotTest, ColumnsChangedSinceCreateAreRefused) {
  Sql("CREATE TABLE moving (id int PRIMARY KEY, v int); INSERT INTO moving VALUES (1, 1)");
  Connection sql = Connect();
  CollectingSink sink;
  auto resnapshot = TableResnapshot::Create(sql, {.table = "public.moving"}, sink);
  ASSERT_TRUE(resnapshot.ok()) << resnapshot.status();
  Sql("ALTER TABLE moving ADD COLUMN w text");
  Status read = (*resnapshot)->ReadNextChunk(sql);
  EXPECT_TRUE(read.Is(Code::kConflict)) << read;
  EXPECT_FALSE((*resnapshot)->chunk_pending());
  auto again = TableResnapshot::Create(sql, {.table = "public.moving"}, sink);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->ReadNextChunk(sql).ok());
}

}  // namespace
}  // namespace freshet::pg
