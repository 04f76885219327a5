#include "lake/actions.h"

#include <gtest/gtest.h>

namespace freshet::lake {
namespace {

TEST(Actions, ParsesACommitWithEveryFileActionField) {
  std::string commit =
      R"({"commitInfo":{"timestamp":1686191563139,"operation":"DELETE"}})"
      "\n"
      R"({"add":{"path":"a%20b.parquet","partitionValues":{"p":null,"q":"1"},"size":500,)"
      R"("modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":5}",)"
      R"("deletionVector":{"storageType":"u","pathOrInlineDv":"IjB3V2d3#qUP%s94R0WF",)"
      R"("offset":1,"sizeInBytes":36,"cardinality":2}}})"
      "\n"
      R"({"remove":{"path":"a%20b.parquet","deletionTimestamp":5,"dataChange":true}})"
      "\n"
      R"({"txn":{"appId":"pipeline","version":42}})"
      "\n";
  ActionSet actions;
  ASSERT_TRUE(ParseActions(commit, "00.json", actions).ok());
  ASSERT_EQ(actions.adds.size(), 1u);
  const AddFile& add = actions.adds[0];
  EXPECT_EQ(add.partition_values.at("p"), std::nullopt);
  EXPECT_EQ(add.partition_values.at("q"), "1");
  EXPECT_EQ(add.NumRecords(), 5);
  EXPECT_EQ(add.DvUniqueId(), "uIjB3V2d3#qUP%s94R0WF@1");
  EXPECT_EQ(actions.removes[0].DvUniqueId(), "");
  EXPECT_EQ(actions.txns[0].version, 42);
  EXPECT_EQ(actions.commit_info->operation, "DELETE");
  ASSERT_EQ(actions.file_action_order.size(), 2u);
  EXPECT_TRUE(actions.file_action_order[0].first);
}

TEST(Actions, CdcActionRoundTrips) {
  AddCdcFile cdc;
  cdc.path = "_change_data/p=1/cdc-00000-x.snappy.parquet";
  cdc.partition_values["p"] = "1";
  cdc.size = 1234;
  std::string line = ToJsonLine(cdc);
  EXPECT_NE(line.find(R"("dataChange":false)"), std::string::npos);
  ActionSet actions;
  ASSERT_TRUE(ParseActions(line + "\n", "01.json", actions).ok());
  ASSERT_EQ(actions.cdcs.size(), 1u);
  EXPECT_EQ(actions.cdcs[0], cdc);
  EXPECT_TRUE(actions.adds.empty());
}

TEST(Actions, CorruptLineNamesTheFileAndLine) {
  ActionSet actions;
  Status s = ParseActions("{\"txn\":{\"appId\":\"a\",\"version\":1}}\n{\"add\":{\"path\":",
                          "_delta_log/00000000000000000003.json", actions);
  EXPECT_TRUE(s.Is(Code::kCorruption));
  EXPECT_NE(s.message().find("00000000000000000003.json line 2"), std::string::npos) << s;
  ActionSet missing;
  Status no_path = ParseActions(R"({"add":{"size":1}})", "x.json", missing);
  EXPECT_NE(no_path.message().find("'add' action without 'path'"), std::string::npos) << no_path;
  ActionSet bad_dv;
  Status dv = ParseActions(
      R"({"add":{"path":"p","size":1,"deletionVector":{"storageType":"z","pathOrInlineDv":"",)"
      R"("sizeInBytes":1,"cardinality":1}}})",
      "y.json", bad_dv);
  EXPECT_TRUE(dv.Is(Code::kCorruption));
}

TEST(Actions, WrittenLinesParseBackEqual) {
  AddFile add;
  add.path = "part-0.parquet";
  add.partition_values = {{"p", std::nullopt}, {"q", "x"}};
  add.size = 10;
  add.modification_time = 7;
  add.stats = R"({"numRecords":3})";
  add.deletion_vector = DeletionVectorDescriptor{"u", "ab^-aqEH.-t@S}K{vb[*k^", 4, 40, 6};
  RemoveFile remove;
  remove.path = "old.parquet";
  remove.deletion_timestamp = 9;
  remove.size = 3;
  Protocol protocol{3, 7, std::vector<std::string>{"deletionVectors"},
                    std::vector<std::string>{"deletionVectors"}};
  Metadata metadata;
  metadata.id = "id";
  metadata.schema_string = "{}";
  metadata.configuration = {{"k", "v"}};
  std::string text = ToJsonLine(protocol) + "\n" + ToJsonLine(metadata) + "\n" + ToJsonLine(add) +
                     "\n" + ToJsonLine(remove) + "\n" + ToJsonLine(Txn{"app", 3, 11}) + "\n";
  ActionSet actions;
  ASSERT_TRUE(ParseActions(text, "t", actions).ok());
  EXPECT_EQ(actions.adds[0], add);
  EXPECT_EQ(actions.removes[0], remove);
  EXPECT_EQ(*actions.protocol, protocol);
  EXPECT_EQ(*actions.metadata, metadata);
  EXPECT_EQ(actions.txns[0], (Txn{"app", 3, 11}));
  EXPECT_EQ(CommitFileName(42), "00000000000000000042.json");
}

}  // namespace
}  // namespace freshet::lake
