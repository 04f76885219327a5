#pragma once

// LakeTableTest: the fixture lake tests that write tables share: a scratch folder with a table
// path in it, the local FileSystem, and an in-memory DuckDB connection.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/scan.h"
#include "lake/snapshot.h"
#include "lake/test_util.h"

namespace freshet::lake::testing {

class LakeTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = engine::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    database_.emplace(std::move(db).value());
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_.emplace(std::move(connection).value());
    table_ = dir_ / "table";
  }

  // The rows of a table of (id, s, n) at `version` (the latest when unset), as id -> (s, n); a
  // key read twice fails the test.
  std::map<int64_t, std::pair<std::string, int64_t>> KeyedRows(
      std::optional<Version> version = std::nullopt) {
    std::map<int64_t, std::pair<std::string, int64_t>> out;
    auto snapshot = Snapshot::Load(fs_, *connection_, table_, version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return out;
    auto sql = ScanSql(fs_, *connection_, *snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    auto result = connection_->Query("SELECT id, s, n FROM (" + *sql + ")");
    EXPECT_TRUE(result.ok()) << result.status();
    for (const auto& row : result->rows) {
      bool fresh =
          out.emplace(row[0].integer(), std::make_pair(row[1].string(), row[2].integer())).second;
      EXPECT_TRUE(fresh) << "duplicate key " << row[0].integer();
    }
    return out;
  }

  ScratchDir dir_;
  LocalFileSystem fs_;
  std::optional<engine::Database> database_;
  std::optional<engine::Connection> connection_;
  std::string table_;
};

}  // namespace freshet::lake::testing
