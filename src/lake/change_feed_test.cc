#include "lake/change_feed.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/optimize.h"
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
  RowChange rekey = Make(ChangeOp::kUpdate, Row3(20, "b", 22), {},
                         {Value::Int(2), Value::Null(), Value::Null()});
  // n stays, s changes: the unchanged value comes from the batch's previous version.
  RowChange toast =
      Make(ChangeOp::kUpdate, {Value::Int(1), Value::Null(), Value::Int(12)}, {false, true, false});
  ChangeBatch second{{Update(1, "a2", 10), toast, Delete(3), Insert(3, "c2", 30), rekey,
                      Insert(1, "a3", 13), Update(7, "g", 7), Delete(99), Insert(4, "d", 4),
                      Delete(4)}};
  ASSERT_EQ(*writer->Apply(second), 2);
  EXPECT_EQ(Feed(2), (std::vector<std::string>{
                         "2 update_preimage 1 a 1",
                         "2 update_postimage 1 a2 10",
                         "2 update_preimage 1 a2 10",
                         "2 update_postimage 1 a2 12",
                         "2 delete 3 c 3",
                         "2 insert 3 c2 30",
                         "2 update_preimage 2 b 2",
                         "2 update_postimage 20 b 22",
                         "2 update_preimage 1 a2 12",
                         "2 update_postimage 1 a3 13",
                         "2 insert 7 g 7",
                         "2 insert 4 d 4",
                         "2 delete 4 d 4",
                     }));
  EXPECT_EQ(Feed(1, 1), (std::vector<std::string>{"1 insert 1 a 1", "1 insert 2 b 2",
                                                  "1 insert 3 c 3"}));
  EXPECT_EQ(Feed(0).size(), 16u);
}

TEST_F(ChangeFeedTest, TruncateDeletesEveryLiveRowAndTheBatchGoesOn) {
  Create();
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2)}}), 1);
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Update(2, "b2", 20), Insert(5, "e", 5), Truncate(),
                                        Insert(1, "z", 9)}}),
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
  EXPECT_EQ(Feed(1), (std::vector<std::string>{"1 insert 1 a 1", "1 insert 2 b 2",
                                               "1 insert 3 c 3", "2 delete 2 b 2",
                                               "3 delete 3 c 3", "4 delete 1 a 1"}));
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
  EXPECT_EQ(Feed(2), (std::vector<std::string>{"2 update_preimage 1 a 1",
                                               "2 update_postimage 1 a 2", "2 delete 1 a 1",
                                               "2 insert 2 b 2"}));
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(2, "b", 2), Truncate()}}), 3);
  EXPECT_EQ(Feed(3), (std::vector<std::string>{"3 insert 2 b 2", "3 delete 1 a 2",
                                               "3 delete 2 b 2", "3 delete 2 b 2"}));
}

TEST_F(ChangeFeedTest, PartitionedTableWritesOneChangeFilePerPartition) {
  Create(true, {"s"});
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Insert(1, "a", 1), Insert(2, "b", 2), Insert(3, "a", 3)}}),
            1);
  ASSERT_EQ(*writer->Apply(ChangeBatch{{Update(2, "a", 20)}}), 2);
  EXPECT_EQ(Feed(1), (std::vector<std::string>{"1 insert 1 a 1", "1 insert 3 a 3",
                                               "1 insert 2 b 2", "2 update_preimage 2 b 2",
                                               "2 update_postimage 2 a 20"}));
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
  EXPECT_EQ(Feed(1), (std::vector<std::string>{"1 insert 1 a 1", "1 insert 1 b 2",
                                               "1 insert 1 NULL -1"}));
}

}  // namespace
}  // namespace freshet::lake
