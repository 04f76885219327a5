#include "engine/statement.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "engine/database.h"

namespace freshet::engine {
namespace {

class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open("", {.threads = 2});
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(db).value());
    auto connection = db_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_.emplace(std::move(connection).value());
  }

  std::optional<Database> db_;
  std::optional<Connection> connection_;
};

TEST_F(StatementTest, DescribesColumnsAndParametersBeforeRunning) {
  auto statement = connection_->Prepare(
      "SELECT $1::INTEGER + 1 AS n, 'x'::VARCHAR AS s, 1.5::DECIMAL(5,2) AS d, "
      "'{}'::JSON AS j, [1, 2] AS l");
  ASSERT_TRUE(statement.ok()) << statement.status();
  EXPECT_EQ(statement->statement_type(), StatementType::kSelect);
  ASSERT_EQ(statement->parameter_count(), 1u);
  EXPECT_EQ(statement->parameter_type(0).id, TypeId::kInteger);
  ASSERT_EQ(statement->column_names().size(), 5u);
  EXPECT_EQ(statement->column_names()[0], "n");
  EXPECT_EQ(statement->column_types()[0].id, TypeId::kInteger);
  EXPECT_EQ(statement->column_types()[1].id, TypeId::kVarchar);
  EXPECT_EQ(statement->column_types()[2].id, TypeId::kDecimal);
  EXPECT_EQ(statement->column_types()[2].scale, 2);
  EXPECT_EQ(statement->column_types()[3].id, TypeId::kJson);
  ASSERT_EQ(statement->column_types()[4].id, TypeId::kList);
  EXPECT_EQ(statement->column_types()[4].children.at(0).id, TypeId::kInteger);
}

TEST_F(StatementTest, BindsTextAndNullAndStreamsChunks) {
  auto statement = connection_->Prepare("SELECT range + $1::BIGINT AS v, $2 AS t FROM range(5000)");
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_TRUE(statement->BindText(0, "10").ok());
  ASSERT_TRUE(statement->BindNull(1).ok());
  auto stream = statement->Execute();
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::vector<Row> rows;
  int chunks = 0;
  while (true) {
    auto more = stream->Next(&rows);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    ++chunks;
  }
  EXPECT_GT(chunks, 1);
  ASSERT_EQ(rows.size(), 5000u);
  EXPECT_EQ(rows[0][0], Value::Int(10));
  EXPECT_EQ(rows[4999][0], Value::Int(5009));
  EXPECT_TRUE(rows[0][1].is_null());
}

TEST_F(StatementTest, BadTextForTypedParameterFailsOnExecute) {
  auto statement = connection_->Prepare("SELECT $1::INTEGER");
  ASSERT_TRUE(statement.ok());
  ASSERT_TRUE(statement->BindText(0, "not a number").ok());
  auto stream = statement->Execute();
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), Code::kInvalidArgument);
}

TEST_F(StatementTest, PrepareErrorsCarryCodes) {
  auto syntax = connection_->Prepare("SELEC 1");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), Code::kInvalidArgument);
  EXPECT_NE(syntax.status().message().find("Parser Error"), std::string::npos);
  auto missing = connection_->Prepare("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(StatementTest, ReportsStatementTypes) {
  auto insert = connection_->Prepare("CREATE TABLE t(a INTEGER)");
  ASSERT_TRUE(insert.ok());
  EXPECT_EQ(insert->statement_type(), StatementType::kCreate);
  auto begin = connection_->Prepare("BEGIN");
  ASSERT_TRUE(begin.ok());
  EXPECT_EQ(begin->statement_type(), StatementType::kTransaction);
}

TEST_F(StatementTest, InterruptStopsARunningStatement) {
  auto statement = connection_->Prepare(
      "SELECT count(*) FROM range(100000000000) a WHERE hash(a.range) % 7 = 3");
  ASSERT_TRUE(statement.ok()) << statement.status();
  std::atomic<bool> finished{false};
  Status outcome;
  std::thread runner([&] {
    auto stream = statement->Execute();
    outcome = stream.status();
    finished = true;
  });
  // Interrupt until the statement gives up; the first call may land before it starts.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    connection_->Interrupt();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  runner.join();
  EXPECT_EQ(outcome.code(), Code::kCancelled) << outcome;
  // The connection stays usable after an interrupt.
  auto after = connection_->Query("SELECT 1");
  EXPECT_TRUE(after.ok()) << after.status();
}

}  // namespace
}  // namespace freshet::engine
