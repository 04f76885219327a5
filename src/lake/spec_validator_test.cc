// Checks every action freshet writes against PROTOCOL.md, reading the raw log files (not
// through the reader): required fields and their types, stats that match the data files,
// deletion vectors whose checksum and cardinality hold, and the checkpoint columns.

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"
#include "lake/table_test_fixture.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

using Json = nlohmann::json;

class SpecValidator : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(connection_->Execute("SET TimeZone = 'UTC'").ok());
  }

  int64_t QueryInt(const std::string& sql) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok() || result->rows.empty() || result->rows[0][0].is_null()) return -1;
    return result->rows[0][0].integer();
  }

  void CheckAdd(const std::string& table, const Json& add, const std::set<std::string>& parts) {
    ASSERT_TRUE(add["path"].is_string());
    ASSERT_TRUE(add["partitionValues"].is_object());
    std::set<std::string> keys;
    for (const auto& [key, value] : add["partitionValues"].items()) {
      keys.insert(key);
      EXPECT_TRUE(value.is_string() || value.is_null());
    }
    EXPECT_EQ(keys, parts);
    ASSERT_TRUE(add["size"].is_number_integer());
    ASSERT_TRUE(add["modificationTime"].is_number_integer());
    ASSERT_TRUE(add["dataChange"].is_boolean());
    auto file = ResolveDataPath(table, add["path"].get<std::string>());
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(std::filesystem::exists(*file)) << *file;
    EXPECT_EQ(add["size"].get<int64_t>(), static_cast<int64_t>(std::filesystem::file_size(*file)));
    Json stats = Json::parse(add["stats"].get<std::string>());
    std::string from = "read_parquet(" + QuoteLiteral(*file) + ")";
    EXPECT_EQ(stats["numRecords"].get<int64_t>(), QueryInt("SELECT count(*) FROM " + from));
    for (const auto& [column, count] : stats["nullCount"].items()) {
      if (!count.is_number_integer()) continue;  // nested: checked through its leaves
      EXPECT_EQ(count.get<int64_t>(), QueryInt(fmt::format("SELECT count(*) - count({}) FROM {}",
                                                           QuoteIdentifier(column), from)))
          << column;
    }
    for (const char* bound : {"minValues", "maxValues"}) {
      for (const auto& [column, value] : stats[bound].items()) {
        if (!value.is_number_integer()) continue;
        std::string agg = std::string(bound) == "minValues" ? "min" : "max";
        EXPECT_EQ(value.get<int64_t>(), QueryInt(fmt::format("SELECT {}({}) FROM {}", agg,
                                                             QuoteIdentifier(column), from)))
            << bound << " " << column;
      }
    }
    if (add.contains("deletionVector")) {
      const Json& dv = add["deletionVector"];
      EXPECT_EQ(dv["storageType"], "u");
      EXPECT_EQ(dv["pathOrInlineDv"].get<std::string>().size(), 20u);
      EXPECT_GE(dv["offset"].get<int64_t>(), 1);
      ASSERT_TRUE(dv["sizeInBytes"].is_number_integer());
      ASSERT_TRUE(dv["cardinality"].is_number_integer());
      DeletionVectorDescriptor descriptor{
          "u", dv["pathOrInlineDv"].get<std::string>(), dv["offset"].get<int32_t>(),
          dv["sizeInBytes"].get<int32_t>(), dv["cardinality"].get<int64_t>()};
      auto rows = LoadDeletionVector(fs_, table, descriptor);  // checks size, CRC, cardinality
      EXPECT_TRUE(rows.ok()) << rows.status();
      EXPECT_LT(dv["cardinality"].get<int64_t>(), stats["numRecords"].get<int64_t>());
    }
  }
};

TEST_F(SpecValidator, EveryWrittenActionFollowsTheProtocol) {
  std::string table = dir_ / "t";
  auto schema = ParseSchema(
      R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
      R"({"name":"n","type":"integer","nullable":true,"metadata":{}},)"
      R"({"name":"p","type":"string","nullable":true,"metadata":{}}]})");
  CreateTableOptions options{*schema, {"p"}, {{"delta.checkpointInterval", "2"}}};
  ASSERT_TRUE(CreateTable(fs_, table, options).ok());
  for (int round = 0; round < 3; ++round) {
    auto txn = Transaction::Begin(fs_, *connection_, table);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Append(fmt::format("SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE "
                                        "i::INT END AS n, CASE WHEN i % 3 = 0 THEN NULL ELSE "
                                        "'v' || (i % 2) END AS p FROM range({}, {}) t(i)",
                                        round * 100, round * 100 + 100))
                    .ok());
    for (const AddFile& add : txn->read_snapshot().files()) {
      ASSERT_TRUE(txn->DeleteRows(add.path, {static_cast<uint64_t>(round)}).ok());
    }
    txn->SetAppTransaction("validator", round);
    ASSERT_TRUE(txn->Commit().ok());
  }
  std::set<std::string> parts = {"p"};
  std::string log = LogPath(table);
  for (Version version = 0; version <= 3; ++version) {
    auto text = fs_.Get(JoinPath(log, CommitFileName(version)));
    ASSERT_TRUE(text.ok());
    std::istringstream lines(*text);
    std::string line;
    int commit_infos = 0;
    while (std::getline(lines, line)) {
      Json action = Json::parse(line);
      ASSERT_EQ(action.size(), 1u) << line;  // one action per line
      const std::string& kind = action.begin().key();
      const Json& body = action.begin().value();
      if (kind == "commitInfo") {
        ++commit_infos;
        EXPECT_TRUE(body["timestamp"].is_number_integer());
        EXPECT_TRUE(body["operation"].is_string());
      } else if (kind == "protocol") {
        EXPECT_EQ(body["minReaderVersion"], 3);
        EXPECT_EQ(body["minWriterVersion"], 7);
        for (const auto& feature : body["readerFeatures"]) {
          EXPECT_NE(
              std::find(body["writerFeatures"].begin(), body["writerFeatures"].end(), feature),
              body["writerFeatures"].end());
        }
      } else if (kind == "metaData") {
        EXPECT_TRUE(body["id"].is_string());
        EXPECT_EQ(body["format"]["provider"], "parquet");
        EXPECT_TRUE(ParseSchema(body["schemaString"].get<std::string>()).ok());
        EXPECT_EQ(body["partitionColumns"], Json::array({"p"}));
        EXPECT_TRUE(body["configuration"].is_object());
      } else if (kind == "add") {
        CheckAdd(table, body, parts);
      } else if (kind == "remove") {
        EXPECT_TRUE(body["path"].is_string());
        EXPECT_TRUE(body["deletionTimestamp"].is_number_integer());
        EXPECT_TRUE(body["dataChange"].is_boolean());
      } else if (kind == "txn") {
        EXPECT_EQ(body["appId"], "validator");
        EXPECT_EQ(body["version"], version - 1);
      } else {
        ADD_FAILURE() << "unexpected action " << kind;
      }
    }
    EXPECT_EQ(commit_infos, 1) << "version " << version;
  }
  auto columns = connection_->Query(
      "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(" +
      QuoteLiteral(JoinPath(log, "00000000000000000002.checkpoint.parquet")) + "))");
  ASSERT_TRUE(columns.ok()) << columns.status();
  ASSERT_EQ(columns->rows.size(), 5u);
  EXPECT_EQ(columns->rows[0][1].string(),
            "STRUCT(appId VARCHAR, \"version\" BIGINT, lastUpdated BIGINT)");
  EXPECT_EQ(columns->rows[4][1].string(),
            "STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures "
            "VARCHAR[], writerFeatures VARCHAR[])");
  auto last = Json::parse(*fs_.Get(JoinPath(log, "_last_checkpoint")));
  EXPECT_EQ(last["version"], 2);
  EXPECT_TRUE(last["size"].is_number_integer());
}

}  // namespace
}  // namespace freshet::lake
