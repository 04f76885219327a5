#pragma once

// LakeTableTest: the fixture lake tests that write tables share: a scratch folder with a table
// path in it, the local FileSystem, and an in-memory DuckDB connection.

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "engine/database.h"
#include "lake/fs/file_system.h"
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

  ScratchDir dir_;
  LocalFileSystem fs_;
  std::optional<engine::Database> database_;
  std::optional<engine::Connection> connection_;
  std::string table_;
};

}  // namespace freshet::lake::testing
