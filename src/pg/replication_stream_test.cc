#include "pg/replication_stream.h"

#include <gtest/gtest.h>

#include "pg/replication_setup.h"
#include "pg/transaction_assembler.h"
#include "pg/types.h"
#include "postgres_test.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

class ReplicationStreamTest : public PostgresTest {
 protected:
  // Creates the publication and slot, then starts streaming from the slot.
  ReplicationStream Open(const std::string& tables, bool binary = true) {
    Connection sql = Connect();
    Status published = EnsurePublication(sql, {.name = "pub", .tables = {tables}});
    EXPECT_TRUE(published.ok()) << published;
    auto replication = Connection::Open({.dsn = dsn(), .replication = true});
    EXPECT_TRUE(replication.ok()) << replication.status();
    auto slot = CreateSlot(*replication, "slot", /*export_snapshot=*/false);
    EXPECT_TRUE(slot.ok()) << slot.status();
    auto stream = ReplicationStream::Start(
        std::move(*replication), {.slot = "slot", .publication = "pub", .binary = binary});
    EXPECT_TRUE(stream.ok()) << stream.status();
    return std::move(*stream);
  }

  // Reads until `count` transactions have committed into sink_, or fails after a deadline.
  void Capture(ReplicationStream& stream, size_t count) {
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (sink_.transactions.size() < count) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "only " << sink_.transactions.size() << " of " << count << " transactions arrived";
      auto next = stream.Next(200ms);
      ASSERT_TRUE(next.ok()) << next.status();
      if (!next->has_value()) continue;
      Status fed = assembler_.Feed((*next)->payload);
      ASSERT_TRUE(fed.ok()) << fed;
    }
  }

  // Each column of row `id` as PostgreSQL prints it (nullopt for NULL), in table order.
  std::vector<std::optional<std::string>> SelectRow(Connection& sql, std::string_view table,
                                                    int id) {
    auto rows = sql.Query(fmt::format("SELECT * FROM {} WHERE id = {}", table, id));
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::optional<std::string>> out;
    if (!rows.ok() || rows->size() != 1) return out;
    for (int column = 0; column < rows->column_count(); ++column) {
      auto value = rows->Get(0, column);
      out.push_back(value ? std::optional<std::string>(*value) : std::nullopt);
    }
    return out;
  }

  // Asserts the decoded tuple prints as `expected`, column by column.
  void ExpectTupleEquals(const Change& change, const Tuple& tuple,
                         const std::vector<std::optional<std::string>>& expected) {
    ASSERT_EQ(tuple.size(), expected.size());
    for (size_t column = 0; column < tuple.size(); ++column) {
      const Column& meta = change.relation->columns[column];
      auto datum = DecodeValue(tuple[column], meta.type_oid, registry_);
      ASSERT_TRUE(datum.ok()) << meta.name << ": " << datum.status();
      if (!expected[column]) {
        EXPECT_EQ(datum->kind, DatumKind::kNull) << meta.name;
        continue;
      }
      ASSERT_NE(datum->kind, DatumKind::kNull) << meta.name << " decoded as NULL";
      EXPECT_EQ(FormatPostgresText(*datum), *expected[column])
          << "column " << meta.name << " (type OID " << meta.type_oid << ")";
    }
  }

  CollectingSink sink_;
  TransactionAssembler assembler_{AssemblerOptions{}, sink_};
  TypeRegistry registry_;
};

constexpr std::string_view kEdgeTable = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE TYPE pair AS (n int4, label text);
CREATE TABLE edge (
  id int PRIMARY KEY, c_bool bool, c_int2 int2, c_int4 int4, c_int8 int8, c_float4 float4,
  c_float8 float8, c_numeric numeric, c_numeric_typmod numeric(12, 4), c_text text,
  c_varchar varchar(20), c_char char(5), c_name name, c_bytea bytea, c_date date, c_time time,
  c_timetz timetz, c_ts timestamp, c_tstz timestamptz, c_interval interval, c_uuid uuid,
  c_json json, c_jsonb jsonb, c_inet inet, c_cidr cidr, c_macaddr macaddr, c_money money,
  c_enum mood, c_domain posint, c_int_array int[], c_text_array text[], c_composite pair,
  c_tstz_array timestamptz[], c_numeric_array numeric[], c_enum_array mood[]);
ALTER TABLE edge REPLICA IDENTITY FULL;
)sql";

constexpr std::string_view kEdgeRows = R"sql(
INSERT INTO edge (id) VALUES (1);
INSERT INTO edge VALUES (2, false, -32768, -2147483648, -9223372036854775808, 'NaN',
  '-Infinity', 'NaN', -99999999.9999, '', '', '', '', '\x', '-infinity', '00:00:00',
  '00:00:00+14', '-infinity', '-infinity', '-178000000 years', '00000000-0000-0000-0000-000000000000',
  '{}', '[]', '0.0.0.0', '::/0', '00:00:00:00:00:00', '-92233720368547758.08', 'sad', 1, '{}',
  '{}', '(,)', '{}', '{NaN}', '{}');
INSERT INTO edge VALUES (3, true, 32767, 2147483647, 9223372036854775807, '3.4028235e38',
  '1.7976931348623157e308', 'Infinity', 99999999.9999, E'h\u00e9llo w\u00f6rld \U0001F389 "q" \\b',
  E'\u00f1and\u00fa', 'ab', 'some_name', '\x00ff10', '5874897-12-31', '24:00:00',
  '23:59:59.999999-12', '294276-12-31 23:59:59.999999', 'infinity',
  '178000000 years 11 mons 30 days 23:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{"a": [1, 2.5, null], "b": "\u00fc"}', '{"b": 1, "a": [true, null]}', '2001:db8::1/64',
  '10.0.0.0/8', 'ff:ff:ff:ff:ff:ff', '92233720368547758.07', 'happy', 2147483647,
  '{{1,2},{NULL,4}}', E'{"a b",NULL,"","NULL","x\\"y",\u00e9}', '(1,"a b")',
  '{infinity,"2024-02-29 12:00:00+00"}', '{1.50,-0.001}', '{happy,NULL}');
INSERT INTO edge VALUES (4, true, 0, -1, 1, '1.5e-7', '1e-300',
  '12345678901234567890.123456789', '0.0001', 'x', 'y', 'z', 'n', '\xdeadbeef', '0044-03-15 BC',
  '13:14:15.5', '12:00:00+05:30', '2024-02-29 13:14:15.5', '1999-12-31 23:59:59.123456+05',
  '-1 days +02:03:04', '123e4567-e89b-12d3-a456-426614174000', '"text"', '"text"',
  '192.168.1.7', '192.168.0.0/16', '08:00:2b:01:02:03', '1234.5', 'ok', 42, '[0:1]={5,6}',
  '{{a,b},{c,d}}', '(-7,)', '{"0044-03-15 12:00:00+00 BC"}', '{-0.5}', '{ok}');
INSERT INTO edge (id, c_text, c_float8, c_float4) VALUES (5, repeat(E'\u00fc', 500000),
  123456789012345680, 1e6);
)sql";

class EdgeValues : public ReplicationStreamTest, public ::testing::WithParamInterface<bool> {};

// Every listed type, with edge values, inserted, updated and deleted: each decoded change prints
// exactly as SELECT prints the row.
TEST_P(EdgeValues, RoundTripThroughInsertUpdateDelete) {
  const bool binary = GetParam();
  Sql(kEdgeTable);
  ReplicationStream stream = Open("public.edge", binary);
  EXPECT_EQ(stream.protocol_version(), 2);
  EXPECT_EQ(stream.binary(), binary);
  Connection sql = Connect();
  ASSERT_TRUE(sql.Execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; "
                          "SET IntervalStyle = 'postgres'; SET extra_float_digits = 1")
                  .ok());
  ASSERT_TRUE(sql.Execute(kEdgeRows).ok());
  Capture(stream, 1);

  // Inserts, all in one transaction (several statements in one simple query).
  std::vector<std::vector<std::optional<std::string>>> before;
  ASSERT_EQ(sink_.transactions[0].changes.size(), 5u);
  for (int id = 1; id <= 5; ++id) {
    const Change& change = sink_.transactions[0].changes[static_cast<size_t>(id - 1)];
    if (id == 1) {
      std::vector<uint32_t> oids;
      for (const Column& column : change.relation->columns) oids.push_back(column.type_oid);
      ASSERT_TRUE(registry_.Load(sql, oids).ok());
    }
    EXPECT_EQ(change.kind, ChangeKind::kInsert);
    before.push_back(SelectRow(sql, "edge", id));
    SCOPED_TRACE(fmt::format("insert of row {}", id));
    ExpectTupleEquals(change, change.new_tuple, before.back());
  }

  // Updates: row 2 takes row 3's values; row 5 changes a small column only, so its 1 MB text
  // is not sent and must come through as unchanged, not NULL.
  ASSERT_TRUE(
      sql.Execute("UPDATE edge SET (c_bool, c_int2, c_int4, c_int8, c_float4, c_float8, "
                  "c_numeric, c_numeric_typmod, c_text, c_varchar, c_char, c_name, c_bytea, "
                  "c_date, c_time, c_timetz, c_ts, c_tstz, c_interval, c_uuid, c_json, "
                  "c_jsonb, c_inet, c_cidr, c_macaddr, c_money, c_enum, c_domain, "
                  "c_int_array, c_text_array, c_composite, c_tstz_array, c_numeric_array, "
                  "c_enum_array) = (SELECT c_bool, c_int2, c_int4, c_int8, c_float4, "
                  "c_float8, c_numeric, c_numeric_typmod, c_text, c_varchar, c_char, "
                  "c_name, c_bytea, c_date, c_time, c_timetz, c_ts, c_tstz, c_interval, "
                  "c_uuid, c_json, c_jsonb, c_inet, c_cidr, c_macaddr, c_money, c_enum, "
                  "c_domain, c_int_array, c_text_array, c_composite, c_tstz_array, "
                  "c_numeric_array, c_enum_array FROM edge WHERE id = 3) WHERE id = 2")
          .ok());
  ASSERT_TRUE(sql.Execute("ALTER TABLE edge REPLICA IDENTITY DEFAULT; "
                          "UPDATE edge SET c_int4 = 7 WHERE id = 5")
                  .ok());
  Capture(stream, 3);
  {
    const Change& change = sink_.transactions[1].changes.at(0);
    EXPECT_EQ(change.kind, ChangeKind::kUpdate);
    EXPECT_EQ(change.old_kind, OldTupleKind::kFull);
    SCOPED_TRACE("update of row 2 (old)");
    ExpectTupleEquals(change, change.old_tuple, before[1]);
    SCOPED_TRACE("update of row 2 (new)");
    ExpectTupleEquals(change, change.new_tuple, SelectRow(sql, "edge", 2));
  }
  {
    const Change& change = sink_.transactions[2].changes.at(0);
    ASSERT_EQ(change.new_tuple.size(), change.relation->columns.size());
    for (size_t column = 0; column < change.new_tuple.size(); ++column) {
      const std::string& name = change.relation->columns[column].name;
      if (name == "c_text") {
        EXPECT_EQ(change.new_tuple[column].kind, ValueKind::kUnchangedToast);
      } else {
        EXPECT_NE(change.new_tuple[column].kind, ValueKind::kUnchangedToast) << name;
      }
    }
    auto c_int4 = DecodeValue(change.new_tuple[3], change.relation->columns[3].type_oid, registry_);
    ASSERT_TRUE(c_int4.ok());
    EXPECT_EQ(FormatPostgresText(*c_int4), "7");
  }

  // Deletes with the whole old row: each old tuple equals the row as it was.
  ASSERT_TRUE(
      sql.Execute("ALTER TABLE edge REPLICA IDENTITY FULL; DELETE FROM edge WHERE id IN (3, 4)")
          .ok());
  Capture(stream, 4);
  const Transaction& deletes = sink_.transactions[3];
  ASSERT_EQ(deletes.changes.size(), 2u);
  for (const Change& change : deletes.changes) {
    EXPECT_EQ(change.kind, ChangeKind::kDelete);
    EXPECT_EQ(change.old_kind, OldTupleKind::kFull);
    auto id = DecodeValue(change.old_tuple[0], 23, registry_);
    ASSERT_TRUE(id.ok());
    SCOPED_TRACE(fmt::format("delete of row {}", id->i));
    ExpectTupleEquals(change, change.old_tuple, before[static_cast<size_t>(id->i - 1)]);
  }
}

INSTANTIATE_TEST_SUITE_P(BinaryAndText, EdgeValues, ::testing::Values(true, false),
                         [](const auto& param_info) {
                           return param_info.param ? "Binary" : "Text";
                         });

TEST_F(ReplicationStreamTest, TransactionsCarryCommitLsnTimeAndXidAndConfirmMovesTheSlot) {
  Sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
  ReplicationStream stream = Open("public.t");
  Connection sql = Connect();
  auto xid = sql.Query(
      "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); "
      "SELECT txid_current() % 4294967296; COMMIT");
  ASSERT_TRUE(xid.ok()) << xid.status();
  ASSERT_TRUE(sql.Execute("TRUNCATE t").ok());
  Capture(stream, 2);
  const Transaction& txn = sink_.transactions[0];
  EXPECT_EQ(txn.changes.size(), 2u);
  EXPECT_GT(txn.info.commit_lsn, Lsn());
  EXPECT_GT(txn.info.end_lsn, txn.info.commit_lsn);
  auto age = std::chrono::system_clock::now() - txn.info.commit_time;
  EXPECT_LT(age, 60s);
  EXPECT_GT(age, -60s);
  EXPECT_EQ(sink_.transactions[1].changes.at(0).kind, ChangeKind::kTruncate);

  // The slot's confirmed position moves to what was confirmed, and no further.
  auto slot = GetSlot(sql, "slot");
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_LT(slot->confirmed_flush_lsn, txn.info.end_lsn);
  stream.Confirm(txn.info.end_lsn);
  ASSERT_TRUE(stream.SendStatus().ok());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    slot = GetSlot(sql, "slot");
    ASSERT_TRUE(slot.ok());
    if (slot->confirmed_flush_lsn == txn.info.end_lsn) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << slot->confirmed_flush_lsn.ToString();
    auto none = stream.Next(50ms);
    ASSERT_TRUE(none.ok());
  }
  EXPECT_LT(slot->confirmed_flush_lsn, sink_.transactions[1].info.end_lsn);
}

TEST_F(ReplicationStreamTest, LargeTransactionsStreamAndAbortedOnesVanish) {
  Sql("CREATE TABLE big (id int PRIMARY KEY, v text)");
  Sql("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
  Sql("SELECT pg_reload_conf()");
  ReplicationStream stream = Open("public.big");
  Connection sql = Connect();
  ASSERT_TRUE(sql.Execute("BEGIN; INSERT INTO big SELECT g, repeat('x', 100) FROM "
                          "generate_series(1, 5000) g; ROLLBACK")
                  .ok());
  ASSERT_TRUE(sql.Execute("BEGIN; INSERT INTO big SELECT g, repeat('y', 100) FROM "
                          "generate_series(1, 5000) g; SAVEPOINT s; INSERT INTO big SELECT g, 'z' "
                          "FROM generate_series(5001, 8000) g; ROLLBACK TO s; COMMIT")
                  .ok());
  Capture(stream, 1);
  Sql("ALTER SYSTEM RESET logical_decoding_work_mem");
  Sql("SELECT pg_reload_conf()");
  const Transaction& txn = sink_.transactions[0];
  EXPECT_TRUE(txn.info.streamed) << "64kB of decoding memory must force streaming";
  ASSERT_EQ(txn.changes.size(), 5000u) << "the aborted subtransaction's rows are dropped";
  EXPECT_EQ(txn.changes.front().new_tuple[1].bytes, std::string(100, 'y'));
  EXPECT_EQ(assembler_.stats().aborted_streamed_transactions, 1u);
}

// Protocol version 1 (what PostgreSQL 10-13 speak) still decodes; large transactions then
// arrive whole at commit instead of streamed.
// An exact table name with LIKE wildcards in it publishes that table alone.
TEST_F(ReplicationStreamTest, ExactTablePatternsPublishOneTable) {
  Sql("CREATE TABLE a_b (id int PRIMARY KEY); CREATE TABLE axb (id int PRIMARY KEY); "
      "CREATE TABLE \"a%\" (id int PRIMARY KEY)");
  Connection sql = Connect();
  ASSERT_TRUE(EnsurePublication(sql, {.name = "exact",
                                      .tables = {ExactTablePattern("public", "a_b"),
                                                 ExactTablePattern("public", "a%")}})
                  .ok());
  auto tables = sql.Query(
      "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE "
      "pubname = 'exact'");
  ASSERT_TRUE(tables.ok()) << tables.status();
  EXPECT_EQ(*tables->Get(0, 0), "a%,a_b");
  EXPECT_EQ(ExactTablePattern("my_schema", "t_1%"), "my_schema.t\\_1\\%");
}

TEST_F(ReplicationStreamTest, ProtocolVersionOneDeliversWholeTransactions) {
  Sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
  Connection sql = Connect();
  ASSERT_TRUE(EnsurePublication(sql, {.name = "pub", .tables = {"public.t"}}).ok());
  auto replication = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(replication.ok());
  ASSERT_TRUE(CreateSlot(*replication, "slot", false).ok());
  auto stream = ReplicationStream::Start(
      std::move(*replication),
      {.slot = "slot", .publication = "pub", .protocol_version = 1, .binary = false});
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(stream->protocol_version(), 1);
  ASSERT_TRUE(sql.Execute("INSERT INTO t VALUES (1, 'one'); UPDATE t SET v = 'uno'; "
                          "DELETE FROM t")
                  .ok());
  Capture(*stream, 1);
  const Transaction& txn = sink_.transactions[0];
  ASSERT_EQ(txn.changes.size(), 3u);
  EXPECT_FALSE(txn.info.streamed);
  EXPECT_EQ(txn.changes[1].new_tuple[1], (Value{ValueKind::kText, "uno"}));
  EXPECT_EQ(txn.changes[2].old_tuple[0], (Value{ValueKind::kText, "1"}));
}

TEST_F(ReplicationStreamTest, ClearErrorsForMissingSlotAndSlotInUse) {
  Sql("CREATE TABLE t (id int PRIMARY KEY)");
  ReplicationStream first = Open("public.t");
  auto second = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(second.ok());
  auto in_use =
      ReplicationStream::Start(std::move(*second), {.slot = "slot", .publication = "pub"});
  ASSERT_FALSE(in_use.ok());
  EXPECT_TRUE(in_use.status().Is(Code::kConflict)) << in_use.status();
  EXPECT_NE(in_use.status().message().find("active"), std::string::npos) << in_use.status();
  auto third = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(third.ok());
  auto missing =
      ReplicationStream::Start(std::move(*third), {.slot = "nope", .publication = "pub"});
  EXPECT_TRUE(missing.status().Is(Code::kNotFound)) << missing.status();
  Connection sql = Connect();
  EXPECT_TRUE(GetSlot(sql, "nope").status().Is(Code::kNotFound));
  EXPECT_TRUE(
      EnsurePublication(sql, {.name = "p2", .tables = {"public.missing_%"}}).Is(Code::kNotFound));
}

TEST_F(ReplicationStreamTest, PublicationsByPatternAndSchemaAreReused) {
  Sql("CREATE TABLE order_a (id int PRIMARY KEY); CREATE TABLE order_b (id int PRIMARY KEY); "
      "CREATE TABLE other (id int PRIMARY KEY); CREATE SCHEMA sales; "
      "CREATE TABLE sales.s (id int PRIMARY KEY); "
      "CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id); "
      "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)");
  Connection sql = Connect();
  ASSERT_TRUE(EnsurePublication(sql, {.name = "p", .tables = {"public.order_%"}}).ok());
  ASSERT_TRUE(EnsurePublication(
                  sql, {.name = "p", .tables = {"public.order_%", "sales.*", "public.parted"}})
                  .ok());
  auto rows = sql.Query(
      "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY 1), "
      "bool_and(p.pubviaroot) FROM pg_publication_tables t JOIN pg_publication p "
      "USING (pubname) WHERE pubname = 'p'");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->Get(0, 0), "public.order_a,public.order_b,public.parted,sales.s");
  EXPECT_EQ(rows->Get(0, 1), "t");
  // A second run with the same patterns finds the schema already published and adds nothing.
  Status again = EnsurePublication(
      sql, {.name = "p", .tables = {"public.order_%", "sales.*", "public.parted"}});
  EXPECT_TRUE(again.ok()) << again;
}

}  // namespace
}  // namespace freshet::pg
