#include "lake/change_feed.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/actions.h"
#include "lake/optimize.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"

namespace freshet::lake {
namespace {

using engine::Value;

Schema FeedSchema() {
  return *ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"n","type":"long","nullable":true,"metadata":{}}]})json");
}

std::vector<Value> Row3(int64_t id, const std::string& s, int64_t n) {
  return {Value::Int(id), Value::String(s), Value::Int(n)};
}
RowChange Make(ChangeOp op, std::vector<Value> row, std::vector<bool> unchanged = {},
               std::vector<Value> old_row = {}) {
  RowChange change;
  change.op = op;
  change.row = std::move(row);
  change.unchanged = std::move(unchanged);
  change.old_row = std::move(old_row);
  return change;
}
RowChange Insert(int64_t id, const std::string& s, int64_t n) {
  return Make(ChangeOp::kInsert, Row3(id, s, n));
}
RowChange Update(int64_t id, const std::string& s, int64_t n) {
  return Make(ChangeOp::kUpdate, Row3(id, s, n));
}
RowChange Delete(int64_t id) {
  return Make(ChangeOp::kDelete, {}, {}, {Value::Int(id), Value::Null(), Value::Null()});
}
RowChange Truncate() { return Make(ChangeOp::kTruncate, {}); }

class ChangeFeedTest : public testing::LakeTableTest {
 protected:
  void Create(bool feed = true, std::vector<std::string> partitions = {}) {
    CreateTableOptions options{FeedSchema()};
    options.partition_columns = std::move(partitions);
    if (feed) options.configuration["delta.enableChangeDataFeed"] = "true";
    ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  }

  // The feed as "version type id s n" lines, in feed order.
  std::vector<std::string> Feed(Version from, std::optional<Version> to = std::nullopt) {
    std::vector<std::string> out;
    auto sql = ChangeFeedSql(fs_, *connection_, table_, from, to);
    EXPECT_TRUE(sql.ok()) << sql.status();
    if (!sql.ok()) return out;
    auto result = connection_->Query(
        "SELECT _commit_version, _change_type, id, coalesce(s, 'NULL'), coalesce(n, -1), "
        "epoch_ms(_commit_timestamp) FROM (" +
        *sql + ")");
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return out;
    for (const auto& row : result->rows) {
      EXPECT_GT(row[5].integer(), 0);
      out.push_back(fmt::format("{} {} {} {} {}", row[0].integer(), row[1].string(),
                                row[2].integer(), row[3].string(), row[4].integer()));
    }
    return out;
  }
};

TEST_F(ChangeFeedTest, CreateTableWithTheFeedDeclaresTheWriterFeature) {
  Create();
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const auto& features = *snapshot->protocol().writer_features;
  EXPECT_NE(std::find(features.begin(), features.end(), "changeDataFeed"), features.end());
}

TEST_F(ChangeFeedTest, KeyedBatchRecordsEveryChangeInOrder) {
  Create();
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2), Insert(3, "c", 3)}}),
            1);
  RowChange rekey =
      Make(ChangeOp::kUpdate, Row3(20, "b", 22), {}, {Value::Int(2), Value::Null(), Value::Null()});
  // n stays, s changes: the unchanged value comes from the batch's previous version.
  RowChange toast =
      Make(ChangeOp::kUpdate, {Value::Int(1), Value::Null(), Value::Int(12)}, {false, true, false});
  ChangeBatch second{{Update(1, "a2", 10), toast, Delete(3), Insert(3, "c2", 30), rekey,
                      Insert(1, "a3", 13), Update(7, "g", 7), Delete(99), Insert(4, "d", 4),
                      Delete(4)}};
  ASSERT_EQ(*writer->Apply(second), 2);
  // Every change, each key's in order: first those the batch's rows do not end with (in a
  // change-data file), then each key's last change, from the new data file itself.
  EXPECT_EQ(Feed(2), (std::vector<std::string>{
                         "2 update_preimage 1 a 1",
                         "2 update_postimage 1 a2 10",
                         "2 update_preimage 1 a2 10",
                         "2 update_postimage 1 a2 12",
                         "2 delete 3 c 3",
                         "2 update_preimage 2 b 2",
                         "2 update_preimage 1 a2 12",
                         "2 insert 4 d 4",
                         "2 delete 4 d 4",
                         "2 insert 3 c2 30",
                         "2 update_postimage 20 b 22",
                         "2 update_postimage 1 a3 13",
                         "2 insert 7 g 7",
                     }));
  // The data file is its own change data: one cdc action names it (PROTOCOL.md, Add CDC File),
  // and table reads leave its change-type column out.
  auto commit = fs_.Get(JoinPath(LogPath(table_), CommitFileName(2)));
  ASSERT_TRUE(commit.ok()) << commit.status();
  ActionSet actions;
  ASSERT_TRUE(ParseActions(*commit, "commit 2", actions).ok());
  ASSERT_EQ(actions.cdcs.size(), 2u);
  EXPECT_EQ(actions.cdcs[0].path.rfind("_change_data/", 0), 0u);
  ASSERT_EQ(actions.adds.size(), 1u);  // the first file lost every row: removed
  EXPECT_EQ(actions.adds[0].path, actions.cdcs[1].path);
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto scan = ScanSql(fs_, *connection_, *snapshot);
  ASSERT_TRUE(scan.ok()) << scan.status();
  auto rows = connection_->Query("SELECT * FROM (" + *scan + ") ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->columns.size(), 3u);
  EXPECT_EQ(rows->rows.size(), 4u);  // 1, 3, 7 and 20
  EXPECT_EQ(Feed(1, 1),
            (std::vector<std::string>{"1 insert 1 a 1", "1 insert 2 b 2", "1 insert 3 c 3"}));
  EXPECT_EQ(Feed(0).size(), 16u);
}

// Pre-images come from the writer's row cache when it holds the key: a second writer that
// changes the table in between must not leave the first one with stale rows, and a writer
// without the cache records the same feed.
TEST_F(ChangeFeedTest, PreImagesStayRightWhenAnotherWriterChangesTheTable) {
  Create();
  UpsertOptions cached{{"id"}, false, {}};
  cached.compact_file_count = 0;  // no compaction commits in between
  cached.compact_deleted_share = 0;
  auto first = UpsertWriter::Open(fs_, *connection_, table_, cached);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(*first->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2)}}), 1);
  EXPECT_EQ(first->row_cache().size(), 2u);
  UpsertOptions uncached = cached;
  uncached.row_cache_bytes = 0;
  auto second = UpsertWriter::Open(fs_, *connection_, table_, uncached);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(*second->Apply(ChangeBatch{{Update(1, "x", 100)}}), 2);
  ASSERT_EQ(*first->Apply(ChangeBatch{{Update(1, "y", 200), Update(2, "b2", 20)}}), 3);
  ASSERT_EQ(*second->Apply(ChangeBatch{{Update(2, "b3", 30)}}), 4);
  EXPECT_EQ(second->row_cache().size(), 0u);
  EXPECT_EQ(Feed(2), (std::vector<std::string>{
                         "2 update_preimage 1 a 1",
                         "2 update_postimage 1 x 100",
                         "3 update_preimage 1 x 100",
                         "3 update_preimage 2 b 2",
                         "3 update_postimage 1 y 200",
                         "3 update_postimage 2 b2 20",
                         "4 update_preimage 2 b2 20",
                         "4 update_postimage 2 b3 30",
                     }));
}

TEST_F(ChangeFeedTest, TruncateDeletesEveryLiveRowAndTheBatchGoesOn) {
  Create();
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2)}}), 1);
  ASSERT_EQ(*writer->Apply(ChangeBatch{
                {Update(2, "b2", 20), Insert(5, "e", 5), Truncate(), Insert(1, "z", 9)}}),
            2);
  EXPECT_EQ(Feed(2), (std::vector<std::string>{
                         "2 update_preimage 2 b 2",
                         "2 update_postimage 2 b2 20",
                         "2 insert 5 e 5",
                         "2 delete 1 a 1",
                         "2 delete 2 b2 20",
                         "2 delete 5 e 5",
                         "2 insert 1 z 9",
                     }));
}

TEST_F(ChangeFeedTest, OptimizeContributesNothing) {
  Create();
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2)}}), 1);
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Delete(1)}}), 2);
  auto optimized = Optimize(fs_, *connection_, table_);
  ASSERT_TRUE(optimized.ok()) << optimized.status();
  ASSERT_EQ(optimized->version, 3);
  EXPECT_TRUE(Feed(3).empty());
  EXPECT_EQ(Feed(2), (std::vector<std::string>{"2 delete 1 a 1"}));
}

TEST_F(ChangeFeedTest, VersionsWithoutCdcFilesFallBackToAddsAndDeletionVectors) {
  Create();
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Append("SELECT * FROM (VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)) "
                            "AS t(id, s, n)")
                    .ok());
    ASSERT_EQ(*txn->Commit(), 1);
  }
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    const std::string path = txn->read_snapshot().files()[0].path;
    ASSERT_TRUE(txn->DeleteRows(path, {1}).ok());
    ASSERT_EQ(*txn->Commit("DELETE"), 2);
  }
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    const std::string path = txn->read_snapshot().files()[0].path;
    ASSERT_TRUE(txn->DeleteRows(path, {2}).ok());
    ASSERT_EQ(*txn->Commit("DELETE"), 3);
  }
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Remove(txn->read_snapshot().files()[0].path).ok());
    ASSERT_EQ(*txn->Commit("DELETE"), 4);
  }
  EXPECT_EQ(Feed(1),
            (std::vector<std::string>{"1 insert 1 a 1", "1 insert 2 b 2", "1 insert 3 c 3",
                                      "2 delete 2 b 2", "3 delete 3 c 3", "4 delete 1 a 1"}));
}

TEST_F(ChangeFeedTest, FallbackFindsThePartitionOfARemoveThatOmitsIt) {
  Create(true, {"s"});
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Append("SELECT * FROM (VALUES (1, 'a', 1), (2, 'b', 2)) AS t(id, s, n)").ok());
    ASSERT_EQ(*txn->Commit(), 1);
  }
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  std::string path;
  for (const AddFile& add : snapshot->files()) {
    if (add.partition_values.at("s") == "b") path = add.path;
  }
  // Another writer's remove without the optional partitionValues.
  ASSERT_TRUE(
      fs_.PutIfAbsent(table_ + "/_delta_log/" + CommitFileName(2), R"({"remove":{"path":")" + path +
                                                                       R"(","dataChange":true}})"
                                                                       "\n")
          .ok());
  EXPECT_EQ(Feed(1),
            (std::vector<std::string>{"1 insert 1 a 1", "1 insert 2 b 2", "2 delete 2 b 2"}));
}

TEST_F(ChangeFeedTest, WholeRowIdentityKeepsDuplicatesApart) {
  Create();
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(1, "a", 1)}}), 1);
  RowChange update = Make(ChangeOp::kUpdate, Row3(1, "a", 2), {}, Row3(1, "a", 1));
  RowChange remove = Make(ChangeOp::kDelete, {}, {}, Row3(1, "a", 1));
  RowChange absent = Make(ChangeOp::kDelete, {}, {}, Row3(9, "x", 9));
  ASSERT_EQ(*writer->Apply(ChangeBatch{{update, remove, absent, Insert(2, "b", 2)}}), 2);
  EXPECT_EQ(Feed(2), (std::vector<std::string>{"2 update_preimage 1 a 1", "2 delete 1 a 1",
                                               "2 update_postimage 1 a 2", "2 insert 2 b 2"}));
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(2, "b", 2), Truncate()}}), 3);
  EXPECT_EQ(Feed(3), (std::vector<std::string>{"3 insert 2 b 2", "3 delete 1 a 2", "3 delete 2 b 2",
                                               "3 delete 2 b 2"}));
}

TEST_F(ChangeFeedTest, PartitionedTableWritesOneChangeFilePerPartition) {
  Create(true, {"s"});
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2), Insert(3, "a", 3)}}),
            1);
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Update(2, "a", 20)}}), 2);
  EXPECT_EQ(Feed(1),
            (std::vector<std::string>{"1 insert 1 a 1", "1 insert 3 a 3", "1 insert 2 b 2",
                                      "2 update_preimage 2 b 2", "2 update_postimage 2 a 20"}));
}

TEST_F(ChangeFeedTest, OptimizeCompactsAPartitionedTablePerPartition) {
  Create(true, {"s"});
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int64_t round = 0; round < 3; ++round) {
    ChangeBatch batch;
    for (int64_t id = 0; id < 6; ++id) {
      batch.changes.push_back(Insert(round * 10 + id, id % 2 == 0 ? "even" : "odd", round));
    }
    ASSERT_TRUE(writer->Apply(batch).ok());
  }
  ASSERT_TRUE(writer->Apply(ChangeBatch{{Delete(0), Delete(11)}}).ok());
  auto before = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(before.ok()) << before.status();
  auto rows = [&](const Snapshot& snapshot) {
    auto sql = ScanSql(fs_, *connection_, snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    auto result = connection_->Query("SELECT id, s, n FROM (" + *sql + ") ORDER BY id");
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<std::string> out;
    for (const auto& row : result->rows) {
      out.push_back(fmt::format("{} {} {}", row[0].integer(), row[1].string(), row[2].integer()));
    }
    return out;
  };
  EXPECT_EQ(before->files().size(), 6u);
  OptimizeOptions options;
  options.small_file_share = 1.0;
  auto optimized = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(optimized.ok()) << optimized.status();
  EXPECT_EQ(optimized->files_removed, 6);
  EXPECT_EQ(optimized->files_added, 2);
  EXPECT_EQ(optimized->deleted_rows_dropped, 2);
  auto after = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->files().size(), 2u);
  for (const AddFile& add : after->files()) {
    EXPECT_FALSE(add.deletion_vector);
    EXPECT_EQ(add.NumRecords(), 8);
  }
  EXPECT_EQ(rows(*after), rows(*before));
  EXPECT_EQ(rows(*after).size(), 16u);
  EXPECT_TRUE(Feed(optimized->version, optimized->version).empty());
}

TEST_F(ChangeFeedTest, EveryPrimitiveKindSurvivesStagingAndNestedOnesFallBack) {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"b","type":"boolean","nullable":true,"metadata":{}},
    {"name":"i8","type":"byte","nullable":true,"metadata":{}},
    {"name":"f","type":"float","nullable":true,"metadata":{}},
    {"name":"d","type":"double","nullable":true,"metadata":{}},
    {"name":"bin","type":"binary","nullable":true,"metadata":{}},
    {"name":"dec","type":"decimal(38,18)","nullable":true,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  CreateTableOptions options{*schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  Value dec{
      Value::Kind::kDecimal,
      engine::Decimal{-static_cast<engine::Int128>(123456789012345678) * 1000000000 - 5, 38, 18}};
  std::vector<Value> row{Value::Int(1),
                         Value::Bool(true),
                         Value::Int(-128),
                         Value{Value::Kind::kDouble, 0.1f},
                         Value{Value::Kind::kDouble, std::nan("")},
                         Value{Value::Kind::kBlob, std::string("\x00\xff'\n", 4)},
                         dec,
                         Value::String("quote ' \" back \\ new\nline \t tab é 🙂")};
  std::vector<Value> other{Value::Int(2),
                           Value::Bool(false),
                           Value::Null(),
                           Value::Null(),
                           Value{Value::Kind::kDouble, -1e300},
                           Value::Null(),
                           Value::Null(),
                           Value::String("")};
  ASSERT_EQ(*writer->Apply(ChangeBatch{
                {{ChangeOp::kInsert, 0, row, {}, {}}, {ChangeOp::kInsert, 0, other, {}, {}}}}),
            1);
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  for (auto sql :
       {ScanSql(fs_, *connection_, *snapshot), ChangeFeedSql(fs_, *connection_, table_, 1)}) {
    ASSERT_TRUE(sql.ok()) << sql.status();
    auto result =
        connection_->Query("SELECT id, b, i8, f, d, bin, dec, s FROM (" + *sql + ") ORDER BY id");
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->rows.size(), 2u);
    const auto& got = result->rows[0];
    EXPECT_EQ(got[1].integer(), 1);
    EXPECT_EQ(got[2].integer(), -128);
    EXPECT_EQ(static_cast<float>(got[3].real()), 0.1f);
    EXPECT_TRUE(std::isnan(got[4].real()));
    EXPECT_EQ(got[5].string(), std::string("\x00\xff'\n", 4));
    EXPECT_EQ(got[6].decimal().unscaled, dec.decimal().unscaled);
    EXPECT_EQ(got[7].string(), row[7].string());
    EXPECT_EQ(result->rows[1][4].real(), -1e300);
    EXPECT_TRUE(result->rows[1][2].is_null());
    EXPECT_EQ(result->rows[1][7].string(), "");
  }
}

TEST_F(ChangeFeedTest, NestedColumnsTakeTheLiteralStagingPath) {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"tags","type":{"type":"array","elementType":"string","containsNull":true},
     "nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  CreateTableOptions options{*schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  Value tags{Value::Kind::kList, engine::ValueList{Value::String("a"), Value::Null()}};
  ASSERT_EQ(
      *writer->Apply(ChangeBatch{{{ChangeOp::kInsert, 0, {Value::Int(1), tags}, {}, {}},
                                  {ChangeOp::kUpdate, 0, {Value::Int(1), Value::Null()}, {}, {}}}}),
      1);
  auto sql = ChangeFeedSql(fs_, *connection_, table_, 1);
  ASSERT_TRUE(sql.ok()) << sql.status();
  auto result = connection_->Query("SELECT _change_type, len(tags) FROM (" + *sql + ")");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 3u);
  EXPECT_EQ(result->rows[0][0].string(), "insert");
  EXPECT_EQ(result->rows[1][0].string(), "update_preimage");
  EXPECT_EQ(result->rows[1][1].integer(), 2);
  EXPECT_TRUE(result->rows[2][1].is_null());
}

TEST_F(ChangeFeedTest, RangeAndDisabledFeedErrorsNameTheVersion) {
  Create(false);
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1)}}), 1);
  auto disabled = ChangeFeedSql(fs_, *connection_, table_, 1);
  EXPECT_TRUE(disabled.status().Is(Code::kInvalidArgument)) << disabled.status();
  EXPECT_NE(disabled.status().message().find("version 1"), std::string::npos) << disabled.status();
  auto reversed = ChangeFeedSql(fs_, *connection_, table_, 1, 0);
  EXPECT_TRUE(reversed.status().Is(Code::kInvalidArgument)) << reversed.status();
  auto beyond = ChangeFeedSql(fs_, *connection_, table_, 0, 5);
  EXPECT_TRUE(beyond.status().Is(Code::kInvalidArgument)) << beyond.status();
  EXPECT_NE(beyond.status().message().find("up to 1"), std::string::npos) << beyond.status();
}

TEST_F(ChangeFeedTest, AppendOnlyRowsAreInserts) {
  Schema schema = FeedSchema();
  auto extra = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"_freshet_op","type":"string","nullable":true,"metadata":{}},
    {"name":"_freshet_lsn","type":"long","nullable":true,"metadata":{}}]})json");
  for (auto& field : extra->fields) schema.fields.push_back(field);
  CreateTableOptions options{schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{}, true, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Update(1, "b", 2), Delete(1)}}), 1);
  EXPECT_EQ(Feed(1),
            (std::vector<std::string>{"1 insert 1 a 1", "1 insert 1 b 2", "1 insert 1 NULL -1"}));
}

// A batch without updates writes no change-data file: its adds and deletion vectors are the
// feed (PROTOCOL.md, Change Data Files), read the same. One with an update writes one.
TEST_F(ChangeFeedTest, BatchesWithoutUpdatesLeaveTheFeedToTheirFileActions) {
  Create();
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2), Insert(3, "c", 3)}}),
            1);
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Delete(2), Insert(4, "d", 4)}}), 2);
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Update(1, "a2", 10)}}), 3);
  int change_files = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(table_ + "/_change_data", error)) {
    change_files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(change_files, 1);
  std::vector<std::string> feed = Feed(1);
  std::sort(feed.begin(), feed.end());
  EXPECT_EQ(feed, (std::vector<std::string>{
                      "1 insert 1 a 1", "1 insert 2 b 2", "1 insert 3 c 3", "2 delete 2 b 2",
                      "2 insert 4 d 4", "3 update_postimage 1 a2 10", "3 update_preimage 1 a 1"}));
}

TEST_F(ChangeFeedTest, DatesAndTimestampsSurviveStagingAtAnyEpoch) {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"d","type":"date","nullable":true,"metadata":{}},
    {"name":"ts","type":"timestamp","nullable":true,"metadata":{}},
    {"name":"ntz","type":"timestamp_ntz","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  CreateTableOptions options{*schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  ASSERT_TRUE(connection_->Execute("SET TimeZone = 'America/New_York'").ok());
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ChangeBatch batch;
  const std::vector<int64_t> micros = {0,
                                       -1,
                                       86'400'000'000 - 1,
                                       -62'135'596'800'000'000,
                                       253'402'300'799'999'999,
                                       951'782'400'123'456};
  for (size_t i = 0; i < micros.size(); ++i) {
    Value date{Value::Kind::kDate, micros[i] / 86'400'000'000};
    Value tz{Value::Kind::kTimestampTz, micros[i]};
    Value ntz{Value::Kind::kTimestamp, micros[i]};
    batch.changes.push_back(
        {ChangeOp::kInsert, 0, {Value::Int(static_cast<int64_t>(i)), date, tz, ntz}, {}, {}});
  }
  ASSERT_EQ(*writer->Apply(batch), 1);
  auto sql = ChangeFeedSql(fs_, *connection_, table_, 1);
  ASSERT_TRUE(sql.ok()) << sql.status();
  auto result = connection_->Query(
      "SELECT id, CAST(d - DATE '1970-01-01' AS BIGINT), epoch_us(ts), epoch_us(ntz) FROM (" +
      *sql + ") ORDER BY id");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), micros.size());
  for (size_t i = 0; i < micros.size(); ++i) {
    EXPECT_EQ(result->rows[i][1].integer(), micros[i] / 86'400'000'000) << i;
    EXPECT_EQ(result->rows[i][2].integer(), micros[i]) << i;
    EXPECT_EQ(result->rows[i][3].integer(), micros[i]) << i;
  }
}

}  // namespace
}  // namespace freshet::lake
