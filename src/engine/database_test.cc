#include "engine/database.h"

#include <gtest/gtest.h>

namespace freshet::engine {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open("", {.threads = 1});
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(db).value());
    auto connection = db_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_.emplace(std::move(connection).value());
  }

  Value One(std::string_view sql) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok() || result->rows.size() != 1) return Value::Null();
    return result->rows[0][0];
  }

  std::optional<Database> db_;
  std::optional<Connection> connection_;
};

TEST_F(DatabaseTest, ReadsScalarTypes) {
  EXPECT_EQ(One("SELECT 42::INTEGER"), Value::Int(42));
  EXPECT_EQ(One("SELECT (-9223372036854775807)::BIGINT - 1").integer(), INT64_MIN);
  EXPECT_EQ(One("SELECT 200::UTINYINT").unsigned_integer(), 200u);
  EXPECT_EQ(One("SELECT true"), Value::Bool(true));
  EXPECT_DOUBLE_EQ(One("SELECT 1.25::DOUBLE").real(), 1.25);
  EXPECT_EQ(One("SELECT 'héllo'"), Value::String("héllo"));
  EXPECT_EQ(One("SELECT NULL::VARCHAR"), Value::Null());
  EXPECT_EQ(One("SELECT DATE '1970-01-11'").integer(), 10);
  EXPECT_EQ(One("SELECT TIMESTAMP '1970-01-01 00:00:01.5'").integer(), 1'500'000);
  EXPECT_EQ(One("SELECT '\\x00\\x01'::BLOB").kind, Value::Kind::kBlob);
  EXPECT_EQ(One("SELECT 'a\\x00b'::BLOB").string().size(), 3u);
}

TEST_F(DatabaseTest, ReadsDecimalsAndHugeInts) {
  EXPECT_EQ(One("SELECT 12.50::DECIMAL(10,2)").ToString(), "12.50");
  EXPECT_EQ(One("SELECT -0.05::DECIMAL(4,2)").ToString(), "-0.05");
  EXPECT_EQ(One("SELECT 12345678901234567890123456789.123456789::DECIMAL(38,9)").ToString(),
            "12345678901234567890123456789.123456789");
  EXPECT_EQ(One("SELECT (-170141183460469231731687303715884105727)::HUGEINT - 1").ToString(),
            "-170141183460469231731687303715884105728");
  EXPECT_EQ(One("SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID").string(),
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
}

TEST_F(DatabaseTest, ReadsNestedTypes) {
  EXPECT_EQ(One("SELECT [1, NULL, 3]").ToString(), "[1, NULL, 3]");
  EXPECT_EQ(One("SELECT {'a': 1, 'b': 'x'}").ToString(), "{a: 1, b: 'x'}");
  EXPECT_EQ(One("SELECT MAP {'k': [1, 2]}").ToString(), "{k: [1, 2]}");
  EXPECT_EQ(One("SELECT [[1], [], NULL]").ToString(), "[[1], [], NULL]");
  EXPECT_EQ(One("SELECT [1, 2, 3]::INTEGER[3]").ToString(), "[1, 2, 3]");
  EXPECT_EQ(One("SELECT 'b'::ENUM('a', 'b')").string(), "b");
}

TEST_F(DatabaseTest, ReadsManyChunks) {
  auto result = connection_->Query("SELECT i, i * 2 AS d FROM range(5000) t(i)");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 5000u);
  EXPECT_EQ(result->columns, (std::vector<std::string>{"i", "d"}));
  int64_t sum = 0;
  for (const auto& row : result->rows) sum += row[1].integer();
  EXPECT_EQ(sum, 5000LL * 4999);
}

TEST_F(DatabaseTest, ErrorsCarryCodesAndTheStatement) {
  auto syntax = connection_->Query("SELEC 1");
  ASSERT_FALSE(syntax.ok());
  EXPECT_TRUE(syntax.status().Is(Code::kInvalidArgument)) << syntax.status();
  EXPECT_NE(syntax.status().message().find("SELEC 1"), std::string::npos);
  auto missing = connection_->Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().Is(Code::kNotFound)) << missing.status();
  Status io = connection_->Execute("SELECT * FROM read_parquet('/nonexistent/x.parquet')");
  EXPECT_TRUE(io.Is(Code::kIOError)) << io;
}

TEST_F(DatabaseTest, UnmappedTypesAreNotSupportedWithAHint) {
  auto result = connection_->Query("SELECT '101'::BIT AS flags");
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().Is(Code::kNotSupported));
  EXPECT_NE(result.status().message().find("column flags: cast it to VARCHAR"), std::string::npos);
}

TEST_F(DatabaseTest, NeverDownloadsExtensions) {
  Status s = connection_->Execute("SELECT * FROM read_csv('s3://bucket/x.csv')");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("httpfs"), std::string::npos) << s;
}

TEST_F(DatabaseTest, ConnectionsOutliveTheirDatabaseObject) {
  ASSERT_TRUE(connection_->Execute("CREATE TABLE t AS SELECT 7 AS x").ok());
  db_.reset();
  EXPECT_EQ(One("SELECT x FROM t"), Value::Int(7));
}

TEST_F(DatabaseTest, FileDatabaseErrorsNameThePath) {
  auto db = Database::Open("/nonexistent/dir/x.duckdb");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("/nonexistent/dir/x.duckdb"), std::string::npos);
}

}  // namespace
}  // namespace freshet::engine
