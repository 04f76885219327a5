#include "engine/parquet.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "common/sql_quote.h"

namespace freshet::engine {
namespace {

class ParquetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        fmt::format("freshet-parquet-test-{}", ::testing::UnitTest::GetInstance()->random_seed());
    std::filesystem::create_directories(dir_);
    auto db = Database::Open("", {.threads = 1});
    ASSERT_TRUE(db.ok()) << db.status();
    auto connection = db->Connect();
    ASSERT_TRUE(connection.ok());
    connection_.emplace(std::move(connection).value());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::optional<Connection> connection_;
};

TEST_F(ParquetTest, ReturnsRowCountAndPerColumnStatistics) {
  std::string path = (dir_ / "part-0.parquet").string();
  auto stats = WriteParquet(*connection_,
                            "SELECT i AS id, 'name-' || i AS name, "
                            "CASE WHEN i % 4 = 0 THEN NULL ELSE i * 10 END AS score, "
                            "DATE '2026-01-01' + i::INTEGER AS day "
                            "FROM range(100) t(i)",
                            path);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->path, path);
  EXPECT_EQ(stats->row_count, 100);
  EXPECT_EQ(stats->file_size_bytes, static_cast<int64_t>(std::filesystem::file_size(path)));
  EXPECT_GT(stats->footer_size_bytes, 0);
  ASSERT_EQ(stats->columns.size(), 4u);

  const auto* id = stats->Column("id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->min, "0");
  EXPECT_EQ(id->max, "99");
  EXPECT_EQ(id->null_count, 0);

  const auto* name = stats->Column("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->min, "name-0");
  EXPECT_EQ(name->max, "name-99");

  const auto* score = stats->Column("score");
  ASSERT_NE(score, nullptr);
  EXPECT_EQ(score->min, "10");
  EXPECT_EQ(score->max, "990");
  EXPECT_EQ(score->null_count, 25);

  const auto* day = stats->Column("day");
  ASSERT_NE(day, nullptr);
  EXPECT_EQ(day->min, "2026-01-01");
  EXPECT_EQ(day->max, "2026-04-10");

  // The file reads back with the same contents.
  auto back = connection_->Query(
      fmt::format("SELECT count(*), count(score), min(name), max(id) FROM read_parquet({})",
                  QuoteLiteral(path)));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->rows[0][0], Value::Int(100));
  EXPECT_EQ(back->rows[0][1], Value::Int(75));
  EXPECT_EQ(back->rows[0][2], Value::String("name-0"));
  EXPECT_EQ(back->rows[0][3], Value::Int(99));
}

TEST_F(ParquetTest, NestedAndAwkwardColumnNamesGetPaths) {
  std::string path = (dir_ / "nested.parquet").string();
  auto stats = WriteParquet(*connection_,
                            "SELECT {'city': 'Oslo', 'zip': i} AS address, i AS \"we\"\"ird.name\" "
                            "FROM range(3) t(i)",
                            path);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const ParquetColumnStats* zip = nullptr;
  const ParquetColumnStats* weird = nullptr;
  for (const auto& column : stats->columns) {
    if (column.path == std::vector<std::string>{"address", "zip"}) zip = &column;
    if (column.path == std::vector<std::string>{"we\"ird.name"}) weird = &column;
  }
  ASSERT_NE(zip, nullptr);
  EXPECT_EQ(zip->max, "2");
  ASSERT_NE(weird, nullptr);
  EXPECT_EQ(weird->min, "0");
}

TEST_F(ParquetTest, AllNullColumnHasNullCountButNoBounds) {
  std::string path = (dir_ / "nulls.parquet").string();
  auto stats = WriteParquet(*connection_, "SELECT NULL::INTEGER AS x FROM range(5)", path);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const auto* x = stats->Column("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->null_count, 5);
  EXPECT_FALSE(x->min.has_value());
  EXPECT_FALSE(x->max.has_value());
}

TEST_F(ParquetTest, ZeroRowFile) {
  std::string path = (dir_ / "empty.parquet").string();
  auto stats = WriteParquet(*connection_, "SELECT 1 AS x WHERE false", path);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->row_count, 0);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(ParquetTest, BadQueryAndBadPathAreErrors) {
  auto bad_sql =
      WriteParquet(*connection_, "SELECT nope FROM nowhere", (dir_ / "x.parquet").string());
  EXPECT_FALSE(bad_sql.ok());
  auto bad_path = WriteParquet(*connection_, "SELECT 1", "/nonexistent/dir/x.parquet");
  ASSERT_FALSE(bad_path.ok());
  EXPECT_NE(bad_path.status().message().find("/nonexistent/dir/x.parquet"), std::string::npos);
}

TEST(SplitQuotedColumnPath, HandlesQuotesAndDots) {
  EXPECT_EQ(*SplitQuotedColumnPath("\"a\""), std::vector<std::string>{"a"});
  EXPECT_EQ(*SplitQuotedColumnPath("\"s\".\"a\""), (std::vector<std::string>{"s", "a"}));
  EXPECT_EQ(*SplitQuotedColumnPath("\"x\"\"y.z\""), std::vector<std::string>{"x\"y.z"});
  EXPECT_FALSE(SplitQuotedColumnPath("a").ok());
  EXPECT_FALSE(SplitQuotedColumnPath("\"a").ok());
  EXPECT_FALSE(SplitQuotedColumnPath("\"a\"b").ok());
}

}  // namespace
}  // namespace freshet::engine
