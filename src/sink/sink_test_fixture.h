#pragma once

// SinkTest: lake tables written with lake::UpsertWriter (created with the pipeline's table
// properties) next to a destination database (the test's own PostgresTest database), with
// helpers to read the destination back as sorted text rows.

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "lake/change_batch.h"
#include "lake/fs/file_system.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"
#include "lake/upsert_writer.h"
#include "postgres_test.h"

namespace freshet::sink::testing {

using engine::Value;
using lake::ChangeOp;
using lake::RowChange;

// A lake table `public.items`: id bigint key, name varchar(20), amount numeric(10,2),
// note text (nullable).
inline std::string ItemsSchemaJson() {
  return R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{"freshet.sourceType":"bigint"}},
    {"name":"name","type":"string","nullable":true,
     "metadata":{"freshet.sourceType":"character varying(20)"}},
    {"name":"amount","type":"decimal(10,2)","nullable":true,
     "metadata":{"freshet.sourceType":"numeric(10,2)"}},
    {"name":"note","type":"string","nullable":true,"metadata":{}}]})json";
}

inline Value Amount(int64_t cents) {
  Value value;
  value.kind = Value::Kind::kDecimal;
  value.data = engine::Decimal{cents, 10, 2};
  return value;
}

inline RowChange Item(ChangeOp op, int64_t id, const std::string& name, int64_t cents,
                      std::optional<std::string> note = std::nullopt) {
  RowChange change;
  change.op = op;
  change.row = {Value::Int(id), Value::String(name), Amount(cents),
                note ? Value::String(*note) : Value::Null()};
  return change;
}

inline RowChange DeleteItem(int64_t id) {
  RowChange change;
  change.op = ChangeOp::kDelete;
  change.old_row = {Value::Int(id), Value::Null(), Value::Null(), Value::Null()};
  return change;
}

class SinkTest : public freshet::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (HasFatalFailure()) return;
    auto db = engine::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    database_.emplace(std::move(db).value());
    auto duck = database_->Connect();
    ASSERT_TRUE(duck.ok()) << duck.status();
    duck_.emplace(std::move(duck).value());
    root_ = dir_.path() + "/lake";
  }

  std::string TablePath(const std::string& schema, const std::string& table) const {
    return root_ + "/" + schema + "/" + table;
  }

  // Creates the lake table with the properties the pipeline sets, and opens a writer.
  void CreateLakeTable(const std::string& path, const std::string& schema_json,
                       const std::string& key_json = R"(["id"])") {
    auto schema = lake::ParseSchema(schema_json);
    ASSERT_TRUE(schema.ok()) << schema.status();
    lake::CreateTableOptions options{.schema = *schema};
    options.configuration = {{"delta.enableChangeDataFeed", "true"},
                             {"freshet.primaryKey", key_json},
                             {"freshet.mode", "upsert"},
                             {"freshet.source", "public.items"}};
    auto created = lake::CreateTable(fs_, path, options);
    ASSERT_TRUE(created.ok()) << created.status();
    lake::UpsertOptions upsert;
    if (key_json == R"(["id"])") upsert.key_columns = {"id"};
    auto writer = lake::UpsertWriter::Open(fs_, *duck_, path, upsert);
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_.emplace(std::move(writer).value());
  }

  int64_t Apply(std::vector<RowChange> changes) {
    auto version = writer_->Apply(lake::ChangeBatch{std::move(changes)});
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? *version : -1;
  }

  // The destination query's rows, each as its columns' text joined by '|' (NULL as "∅").
  std::vector<std::string> Rows(const std::string& sql) {
    pg::Connection connection = Connect();
    auto rows = connection.Query(sql);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> out;
    if (!rows.ok()) return out;
    for (int row = 0; row < rows->size(); ++row) {
      std::string line;
      for (int column = 0; column < rows->column_count(); ++column) {
        if (column > 0) line += "|";
        auto value = rows->Get(row, column);
        line += value ? std::string(*value) : "∅";
      }
      out.push_back(std::move(line));
    }
    return out;
  }

  lake::testing::ScratchDir dir_;
  lake::LocalFileSystem fs_;
  std::optional<engine::Database> database_;
  std::optional<engine::Connection> duck_;
  std::optional<lake::UpsertWriter> writer_;
  std::string root_;
};

}  // namespace freshet::sink::testing
