#include "sink/table_sync.h"

#include <gtest/gtest.h>

#include "lake/actions.h"
#include "lake/snapshot.h"
#include "sink/destination.h"
#include "sink/sink_test_fixture.h"

namespace freshet::sink {
namespace {

using lake::ChangeOp;
using lake::RowChange;
using sink::testing::DeleteItem;
using sink::testing::Item;
using sink::testing::ItemsSchemaJson;

class TableSyncTest : public sink::testing::SinkTest {
 protected:
  void SetUp() override {
    SinkTest::SetUp();
    if (HasFatalFailure()) return;
    path_ = TablePath("public", "items");
    CreateLakeTable(path_, ItemsSchemaJson());
    auto pg = pg::Connection::Open({.dsn = dsn()});
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_.emplace(std::move(pg).value());
    ASSERT_TRUE(EnsureOffsetsTable(*pg_).ok());
  }

  TableSync MakeSync(SinkMode mode, TableSyncOptions options = {}) {
    return TableSync(fs_, path_, {"public", "items"}, {"serving", "items"}, mode,
                     std::move(options));
  }

  Result<StepResult> Step(TableSync& sync) { return sync.Step(*duck_, *pg_); }

  // Steps until the destination holds the lake's latest version.
  void CatchUp(TableSync& sync) {
    for (int i = 0; i < 100; ++i) {
      auto step = Step(sync);
      ASSERT_TRUE(step.ok()) << step.status();
      ASSERT_FALSE(step->paused) << *step->paused;
      if (step->offset == step->latest_version) return;
    }
    FAIL() << "did not catch up";
  }

  std::vector<std::string> Items() { return Rows("SELECT * FROM serving.items ORDER BY id"); }
  std::vector<std::string> Offset() {
    return Rows("SELECT lake_table, version FROM freshet_sink_offsets");
  }

  std::string path_;
  std::optional<pg::Connection> pg_;
};

TEST_F(TableSyncTest, FirstCopyCreatesTheTableWithSourceTypesAndRecordsTheVersion) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 150, "x"), Item(ChangeOp::kInsert, 2, "", 0),
         Item(ChangeOp::kInsert, 3, "a,\"quoted\"\nline", -99)});
  int64_t version = Apply({DeleteItem(2), Item(ChangeOp::kInsert, 4, "four", 400, "")});
  TableSync sync = MakeSync(SinkMode::kUpsert);
  auto step = Step(sync);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->applied);
  EXPECT_EQ(step->offset, version);
  EXPECT_EQ(step->rows, 3);
  EXPECT_EQ(Items(), (std::vector<std::string>{"1|one|1.50|x", "3|a,\"quoted\"\nline|-0.99|∅",
                                               "4|four|4.00|"}));
  EXPECT_EQ(Offset(), std::vector<std::string>{"public.items|" + std::to_string(version)});
  EXPECT_EQ(Rows("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                 "WHERE attrelid = 'serving.items'::regclass AND attnum > 0 ORDER BY attnum"),
            (std::vector<std::string>{"id|bigint", "name|character varying(20)",
                                      "amount|numeric(10,2)", "note|text"}));
  EXPECT_EQ(Rows("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                 "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = "
                 "'serving.items'::regclass AND i.indisprimary"),
            std::vector<std::string>{"id"});
  // Nothing new: the next step applies nothing.
  auto idle = Step(sync);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_FALSE(idle->applied);
  EXPECT_EQ(idle->offset, version);
}

TEST_F(TableSyncTest, SnapshotModeReplacesTheRowsAtEachVersion) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100), Item(ChangeOp::kInsert, 2, "two", 200)});
  TableSync sync = MakeSync(SinkMode::kSnapshot);
  CatchUp(sync);
  EXPECT_EQ(Items(), (std::vector<std::string>{"1|one|1.00|∅", "2|two|2.00|∅"}));
  int64_t version = Apply({DeleteItem(1), Item(ChangeOp::kUpdate, 2, "zwei", 201)});
  CatchUp(sync);
  EXPECT_EQ(Items(), std::vector<std::string>{"2|zwei|2.01|∅"});
  EXPECT_EQ(Offset(), std::vector<std::string>{"public.items|" + std::to_string(version)});
}

TEST_F(TableSyncTest, AFailureBeforeCommitLeavesNeitherRowsNorOffset) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  TableSyncOptions options;
  bool fail = true;
  options.TEST_before_commit = [&]() -> Status {
    return fail ? Status::Internal("injected before commit") : Status::Ok();
  };
  TableSync sync = MakeSync(SinkMode::kUpsert, options);
  auto step = Step(sync);
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("injected"), std::string::npos) << step.status();
  EXPECT_TRUE(Offset().empty());
  // The table creation was part of the rolled-back transaction too.
  EXPECT_EQ(Rows("SELECT to_regclass('serving.items') IS NULL"), std::vector<std::string>{"t"});
  fail = false;
  CatchUp(sync);
  EXPECT_EQ(Items(), std::vector<std::string>{"1|one|1.00|∅"});
}

TEST_F(TableSyncTest, IncompatibleDestinationColumnPausesUntilFixed) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  Sql("CREATE SCHEMA serving; CREATE TABLE serving.items (id bigint PRIMARY KEY, name text, "
      "amount numeric(10,2), note text)");
  TableSync sync = MakeSync(SinkMode::kUpsert);
  auto step = Step(sync);
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_TRUE(step->paused);
  EXPECT_NE(step->paused->find("column name is text in the destination table serving.items but "
                               "character varying(20) in the lake"),
            std::string::npos)
      << *step->paused;
  EXPECT_FALSE(step->applied);
  Sql("ALTER TABLE serving.items ALTER COLUMN name TYPE varchar(20)");
  CatchUp(sync);
  EXPECT_EQ(Items(), std::vector<std::string>{"1|one|1.00|∅"});
}

TEST_F(TableSyncTest, UpsertModeNeedsAKey) {
  std::string keyless = TablePath("public", "keyless");
  CreateLakeTable(keyless, ItemsSchemaJson(), "[]");
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  TableSync sync(fs_, keyless, {"public", "keyless"}, {"serving", "keyless"}, SinkMode::kUpsert,
                 {});
  auto step = Step(sync);
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_TRUE(step->paused);
  EXPECT_NE(step->paused->find("has no primary key"), std::string::npos) << *step->paused;
  TableSync append(fs_, keyless, {"public", "keyless"}, {"serving", "keyless"}, SinkMode::kAppend,
                   {});
  CatchUp(append);
  EXPECT_EQ(Rows("SELECT * FROM serving.keyless"),
            std::vector<std::string>{"1|one|1.00|∅|insert|1"});
}

TEST_F(TableSyncTest, ADroppedDestinationTableIsCopiedAgain) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  TableSync sync = MakeSync(SinkMode::kUpsert);
  CatchUp(sync);
  Sql("DROP TABLE serving.items");
  CatchUp(sync);
  EXPECT_EQ(Items(), std::vector<std::string>{"1|one|1.00|∅"});
  EXPECT_EQ(Offset(), std::vector<std::string>{"public.items|1"});
}

TEST_F(TableSyncTest, UpsertFollowsTheFeedAndTheLastChangeOfAKeyDecides) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100), Item(ChangeOp::kInsert, 2, "two", 200),
         Item(ChangeOp::kInsert, 3, "three", 300)});
  TableSync sync = MakeSync(SinkMode::kUpsert);
  CatchUp(sync);
  // One version: 1 updated twice, 2 deleted then inserted again, 3 moved to key 30, 4 inserted
  // and deleted; the next version deletes 1.
  RowChange rekey = Item(ChangeOp::kUpdate, 30, "thirty", 3000);
  rekey.old_row = {engine::Value::Int(3), engine::Value::Null(), engine::Value::Null(),
                   engine::Value::Null()};
  Apply({Item(ChangeOp::kUpdate, 1, "uno", 101), Item(ChangeOp::kUpdate, 1, "eins", 102, "n"),
         DeleteItem(2), Item(ChangeOp::kInsert, 2, "deux", 202), rekey,
         Item(ChangeOp::kInsert, 4, "four", 400), DeleteItem(4)});
  int64_t version = Apply({DeleteItem(1), Item(ChangeOp::kInsert, 5, "five", 500)});
  auto step = Step(sync);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->from_feed);
  EXPECT_EQ(step->offset, version);
  EXPECT_EQ(Items(),
            (std::vector<std::string>{"2|deux|2.02|∅", "5|five|5.00|∅", "30|thirty|30.00|∅"}));
  EXPECT_EQ(Offset(), std::vector<std::string>{"public.items|" + std::to_string(version)});
}

TEST_F(TableSyncTest, AppendModeAppendsEveryChangeRowWithItsTypeAndVersion) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  TableSync sync = MakeSync(SinkMode::kAppend);
  CatchUp(sync);
  Apply({Item(ChangeOp::kUpdate, 1, "uno", 101), Item(ChangeOp::kInsert, 2, "two", 200)});
  Apply({DeleteItem(2)});
  CatchUp(sync);
  EXPECT_EQ(Rows("SELECT * FROM serving.items ORDER BY _commit_version, _change_type, id"),
            (std::vector<std::string>{"1|one|1.00|∅|insert|1", "2|two|2.00|∅|insert|2",
                                      "1|uno|1.01|∅|update_postimage|2",
                                      "1|one|1.00|∅|update_preimage|2", "2|two|2.00|∅|delete|3"}));
}

TEST_F(TableSyncTest, ANewLakeColumnIsAddedToTheDestination) {
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  TableSync sync = MakeSync(SinkMode::kUpsert);
  CatchUp(sync);
  // The source table gained `qty integer`: a metaData commit with the wider schema.
  auto snapshot = lake::Snapshot::Load(fs_, *duck_, path_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  lake::Metadata metadata = snapshot->metadata();
  std::string schema = ItemsSchemaJson();
  schema.insert(schema.rfind(']'),
                R"(,{"name":"qty","type":"integer","nullable":true,"metadata":{}})");
  metadata.schema_string = schema;
  ASSERT_TRUE(fs_.PutIfAbsent(path_ + "/_delta_log/" + lake::CommitFileName(2),
                              lake::ToJsonLine(metadata) + "\n")
                  .ok());
  auto writer = lake::UpsertWriter::Open(fs_, *duck_, path_, {.key_columns = {"id"}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  RowChange change = Item(ChangeOp::kInsert, 2, "two", 200);
  change.row.push_back(engine::Value::Int(7));
  ASSERT_TRUE(writer->Apply(lake::ChangeBatch{{change}}).ok());
  CatchUp(sync);
  EXPECT_EQ(Items(), (std::vector<std::string>{"1|one|1.00|∅|∅", "2|two|2.00|∅|7"}));
  EXPECT_EQ(Rows("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                 "'serving.items'::regclass AND attname = 'qty'"),
            std::vector<std::string>{"integer"});
}

engine::Value Typed(engine::Value::Kind kind, int64_t integer) {
  return engine::Value{kind, integer};
}

// Every Delta type the sink maps, through a first copy and a feed step: PostgreSQL must read
// back each value exactly.
TEST_F(TableSyncTest, EveryMappedTypeRoundTrips) {
  std::string path = TablePath("public", "types");
  CreateLakeTable(path, R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"flag","type":"boolean","nullable":true,"metadata":{}},
    {"name":"small","type":"short","nullable":true,"metadata":{}},
    {"name":"ratio","type":"double","nullable":true,"metadata":{}},
    {"name":"day","type":"date","nullable":true,"metadata":{}},
    {"name":"at","type":"timestamp","nullable":true,"metadata":{}},
    {"name":"local","type":"timestamp_ntz","nullable":true,"metadata":{}},
    {"name":"raw","type":"binary","nullable":true,"metadata":{}},
    {"name":"uid","type":"string","nullable":true,"metadata":{"freshet.sourceType":"uuid"}},
    {"name":"doc","type":"string","nullable":true,"metadata":{"freshet.sourceType":"jsonb"}},
    {"name":"tags","type":{"type":"array","elementType":"string","containsNull":true},
     "nullable":true,"metadata":{}},
    {"name":"nums","type":{"type":"array","elementType":"long","containsNull":true},
     "nullable":true,"metadata":{}},
    {"name":"pair","type":{"type":"struct","fields":[
       {"name":"a","type":"long","nullable":true,"metadata":{}},
       {"name":"b","type":"string","nullable":true,"metadata":{}}]},
     "nullable":true,"metadata":{}}]})json");
  using Kind = engine::Value::Kind;
  RowChange full;
  full.op = ChangeOp::kInsert;
  engine::Value blob{Kind::kBlob, std::string("\x00\xff\\'\"", 5)};
  engine::Value tags{Kind::kList,
                     engine::ValueList{engine::Value::String("a b"), engine::Value::Null(),
                                       engine::Value::String("q\"\\")}};
  engine::Value nums{Kind::kList, engine::ValueList{engine::Value::Int(-1), engine::Value::Int(1)}};
  engine::Value pair{Kind::kStruct, engine::ValueFields{{"a", engine::Value::Int(1)},
                                                        {"b", engine::Value::String("x")}}};
  full.row = {engine::Value::Int(1),
              engine::Value::Bool(true),
              engine::Value::Int(-7),
              engine::Value{Kind::kDouble, 2.5},
              Typed(Kind::kDate, 19723),
              Typed(Kind::kTimestampTz, 1704164645123456),
              Typed(Kind::kTimestamp, 0),
              blob,
              engine::Value::String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
              engine::Value::String(R"({"k": [1, "two"]})"),
              tags,
              nums,
              pair};
  RowChange nulls;
  nulls.op = ChangeOp::kInsert;
  nulls.row.assign(13, engine::Value::Null());
  nulls.row[0] = engine::Value::Int(2);
  nulls.row[10] = engine::Value{Kind::kList, engine::ValueList{}};
  Apply({full});
  TableSync sync(fs_, path, {"public", "types"}, {"serving", "types"}, SinkMode::kUpsert, {});
  CatchUp(sync);
  Apply({nulls});
  CatchUp(sync);
  Sql("SET TimeZone = 'UTC'");
  EXPECT_EQ(Rows("SELECT id, flag, small, ratio, day, at AT TIME ZONE 'UTC', local, "
                 "encode(raw, 'hex'), uid, doc, tags, nums, pair FROM serving.types ORDER BY id"),
            (std::vector<std::string>{
                "1|t|-7|2.5|2024-01-01|2024-01-02 03:04:05.123456|1970-01-01 00:00:00|"
                "00ff5c2722|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|{\"k\": [1, \"two\"]}|"
                "{\"a b\",NULL,\"q\\\"\\\\\"}|{-1,1}|{\"a\": 1, \"b\": \"x\"}",
                "2|∅|∅|∅|∅|∅|∅|∅|∅|∅|{}|∅|∅"}));
  EXPECT_EQ(Rows("SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM "
                 "pg_attribute a WHERE attrelid = 'serving.types'::regclass AND attnum > 0 "
                 "ORDER BY attnum"),
            (std::vector<std::string>{
                "id bigint", "flag boolean", "small smallint", "ratio double precision", "day date",
                "at timestamp with time zone", "local timestamp without time zone", "raw bytea",
                "uid uuid", "doc jsonb", "tags text[]", "nums bigint[]", "pair jsonb"}));
}

}  // namespace
}  // namespace freshet::sink
