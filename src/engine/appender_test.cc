#include "engine/appender.h"

#include <optional>

#include <gtest/gtest.h>

#include "engine/database.h"

namespace freshet::engine {
namespace {

class AppenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open("", {.threads = 1});
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(db).value());
    auto connection = db_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_.emplace(std::move(connection).value());
  }

  std::vector<Row> Rows(const std::string& sql) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->rows : std::vector<Row>{};
  }

  std::optional<Database> db_;
  std::optional<Connection> connection_;
};

Value Of(Value::Kind kind, int64_t integer) { return {kind, integer}; }

TEST_F(AppenderTest, RoundTripsEveryScalarKind) {
  ASSERT_TRUE(connection_
                  ->Execute("CREATE TABLE t (b BOOLEAN, i8 TINYINT, i16 SMALLINT, i32 INTEGER, i64 "
                            "BIGINT, u64 UBIGINT, d DOUBLE, s VARCHAR, bl BLOB, dt DATE, tm TIME, "
                            "ts TIMESTAMP, tz TIMESTAMPTZ, dec DECIMAL(10,2), big DECIMAL(38,4), "
                            "h HUGEINT, u UUID)")
                  .ok());
  // A non-UTC session zone must not shift TIMESTAMPTZ values.
  ASSERT_TRUE(connection_->Execute("SET TimeZone = 'America/New_York'").ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok()) << appender.status();
  EXPECT_EQ(appender->columns().size(), 17u);
  EXPECT_EQ(appender->columns()[3], "i32");
  Int128 huge = static_cast<Int128>(1) << 100;
  Row row = {Value::Bool(true),
             Value::Int(-128),
             Value::Int(32000),
             Value::Int(-2'000'000'000),
             Value::Int(INT64_MIN),
             {Value::Kind::kUInt, uint64_t{18'000'000'000'000'000'000ULL}},
             {Value::Kind::kDouble, 2.5},
             Value::String("héllo"),
             {Value::Kind::kBlob, std::string("\0\xff", 2)},
             Of(Value::Kind::kDate, -719'528),  // 0000-01-01
             Of(Value::Kind::kTime, 45'296'000'001),
             Of(Value::Kind::kTimestamp, -1),
             Of(Value::Kind::kTimestampTz, 1'700'000'000'123'456),
             {Value::Kind::kDecimal, Decimal{-12345, 10, 2}},
             {Value::Kind::kDecimal, Decimal{huge, 38, 4}},
             {Value::Kind::kHugeInt, Decimal{-huge, 38, 0}},
             Value::String("123e4567-e89b-12d3-a456-426614174000")};
  ASSERT_TRUE(appender->AppendRow(row).ok()) << appender->AppendRow(row);
  ASSERT_TRUE(appender->AppendRow(Row(17)).ok());  // all NULL
  ASSERT_TRUE(appender->Flush().ok());
  auto rows = Rows("SELECT * EXCLUDE (u), u::VARCHAR FROM t ORDER BY i8 NULLS LAST");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], row);
  for (const Value& value : rows[1]) EXPECT_TRUE(value.is_null()) << value.ToString();
  // The instant is kept: rendered in UTC it is the time the micros say.
  auto text = Rows("SELECT timezone('UTC', tz)::VARCHAR FROM t WHERE tz IS NOT NULL");
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0][0], Value::String("2023-11-14 22:13:20.123456"));
}

TEST_F(AppenderTest, ConvertsCompatibleKindsIntoTheColumnType) {
  ASSERT_TRUE(
      connection_->Execute("CREATE TABLE t (dec DECIMAL(12,4), d DOUBLE, dt DATE, s VARCHAR)")
          .ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok()) << appender.status();
  Status status = appender->AppendRow({{Value::Kind::kDecimal, Decimal{125, 5, 2}},
                                       Value::Int(3),
                                       Value::String("2024-02-29"),
                                       Value::Int(7)});
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_TRUE(appender->Flush().ok());
  auto rows = Rows("SELECT dec::VARCHAR, d, dt::VARCHAR, s FROM t");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], Value::String("1.2500"));
  EXPECT_DOUBLE_EQ(rows[0][1].real(), 3.0);
  EXPECT_EQ(rows[0][2], Value::String("2024-02-29"));
  EXPECT_EQ(rows[0][3], Value::String("7"));
}

TEST_F(AppenderTest, RoundTripsNestedKinds) {
  ASSERT_TRUE(connection_
                  ->Execute("CREATE TABLE t (l INTEGER[], s STRUCT(a VARCHAR, b DECIMAL(5,1)), "
                            "m MAP(VARCHAR, BIGINT), mi MAP(INTEGER, VARCHAR), ll DATE[][], "
                            "ls STRUCT(x TIMESTAMPTZ)[])")
                  .ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok()) << appender.status();
  Row row = {
      {Value::Kind::kList, ValueList{Value::Int(1), Value::Null(), Value::Int(-3)}},
      {Value::Kind::kStruct, ValueFields{{"a", Value::String("x'y")},
                                         {"b", {Value::Kind::kDecimal, Decimal{-15, 3, 1}}}}},
      {Value::Kind::kMap, ValueFields{{"k1", Value::Int(1)}, {"k2", Value::Int(2)}}},
      {Value::Kind::kMap, ValueFields{{"5", Value::String("five")}}},
      {Value::Kind::kList,
       ValueList{{Value::Kind::kList, ValueList{Of(Value::Kind::kDate, 19000)}},
                 {Value::Kind::kList, ValueList{Of(Value::Kind::kDate, 19001)}}}},
      {Value::Kind::kList,
       ValueList{
           {Value::Kind::kStruct, ValueFields{{"x", Of(Value::Kind::kTimestampTz, 1'000'000)}}}}},
  };
  Status status = appender->AppendRow(row);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_TRUE(appender->AppendRow(Row(6)).ok());
  ASSERT_TRUE(appender->Flush().ok());
  auto rows = Rows("SELECT * FROM t ORDER BY l NULLS LAST");
  ASSERT_EQ(rows.size(), 2u);
  for (size_t column = 0; column < row.size(); ++column) {
    EXPECT_EQ(rows[0][column].ToString(), row[column].ToString()) << column;
  }
  EXPECT_TRUE(rows[1][0].is_null());
}

TEST_F(AppenderTest, AppendsToATemporaryTableInOrder) {
  ASSERT_TRUE(connection_->Execute("CREATE TEMP TABLE staged (i BIGINT, s VARCHAR)").ok());
  auto appender = Appender::Open(*connection_, "staged", "main", "temp");
  ASSERT_TRUE(appender.ok()) << appender.status();
  constexpr int kRows = 5000;  // more than one DuckDB chunk
  for (int i = 0; i < kRows; ++i) {
    ASSERT_TRUE(appender->Append(Value::Int(i)).ok());
    ASSERT_TRUE(appender->Append(Value::String(std::to_string(i))).ok());
    ASSERT_TRUE(appender->EndRow().ok());
  }
  ASSERT_TRUE(appender->Flush().ok());
  auto rows = Rows("SELECT count(*), bool_and(i::VARCHAR = s) FROM staged");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], Value::Int(kRows));
  EXPECT_EQ(rows[0][1], Value::Bool(true));
  auto order = Rows("SELECT i FROM staged LIMIT 3");
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[2][0], Value::Int(2));
}

// AppendRows: the column-wise path stores what value-by-value appends store (every plain
// type, NULLs, range edges), keeps the order across chunks and after value-by-value rows, and
// a batch it cannot take whole (a DECIMAL column; an integer out of a column's range) goes
// value by value with the same result or error.
TEST_F(AppenderTest, AppendRowsEqualsAppendingValueByValue) {
  std::string columns =
      "(n BIGINT, b BOOLEAN, i8 TINYINT, i16 SMALLINT, i32 INTEGER, i64 BIGINT, d DOUBLE, s "
      "VARCHAR, bl BLOB, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ)";
  ASSERT_TRUE(connection_->Execute("CREATE TABLE by_value " + columns).ok());
  ASSERT_TRUE(connection_->Execute("CREATE TABLE by_rows " + columns).ok());
  constexpr size_t kRows = 5000;  // more than two DuckDB chunks
  std::vector<Row> rows;
  for (size_t i = 0; i < kRows; ++i) {
    auto n = static_cast<int64_t>(i);
    auto maybe = [&](Value value) { return i % 7 == 3 ? Value::Null() : value; };
    rows.push_back({Value::Int(n), maybe(Value::Bool(i % 2 == 0)),
                    maybe(Value::Int(i % 2 ? INT8_MIN : INT8_MAX)), maybe(Value::Int(-n)),
                    maybe(Value::Int(i % 2 ? INT32_MIN : n)), maybe(Value::Int(INT64_MIN + n)),
                    maybe({Value::Kind::kDouble, 0.5 * static_cast<double>(n)}),
                    maybe(Value::String(std::string(i % 40, 'x') + std::to_string(i))),
                    maybe({Value::Kind::kBlob, std::string("\0\xff", 2)}),
                    maybe(Of(Value::Kind::kDate, n - 719'528)),
                    maybe(Of(Value::Kind::kTimestamp, n * 1'000'003)),
                    maybe(Of(Value::Kind::kTimestampTz, -n))});
  }
  auto by_value = Appender::Open(*connection_, "by_value");
  ASSERT_TRUE(by_value.ok()) << by_value.status();
  for (const Row& row : rows) ASSERT_TRUE(by_value->AppendRow(row).ok());
  ASSERT_TRUE(by_value->Flush().ok());
  auto by_rows = Appender::Open(*connection_, "by_rows");
  ASSERT_TRUE(by_rows.ok()) << by_rows.status();
  // The first rows value by value, the rest column-wise: the order holds.
  for (size_t i = 0; i < 10; ++i) ASSERT_TRUE(by_rows->AppendRow(rows[i]).ok());
  ASSERT_TRUE(by_rows
                  ->AppendRows(kRows - 10,
                               [&](size_t row, size_t column) -> const Value& {
                                 return rows[row + 10][column];
                               })
                  .ok());
  ASSERT_TRUE(by_rows->Flush().ok());
  EXPECT_EQ(Rows("SELECT * FROM by_rows"), Rows("SELECT * FROM by_value"));
  EXPECT_EQ(Rows("SELECT count(*) FROM (SELECT * FROM by_rows EXCEPT ALL SELECT * FROM "
                 "by_value)")[0][0],
            Value::Int(0));

  ASSERT_TRUE(connection_->Execute("CREATE TABLE narrow (i16 SMALLINT, dec DECIMAL(10,2))").ok());
  auto narrow = Appender::Open(*connection_, "narrow");
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  std::vector<Row> decimals = {{Value::Int(1), Value::String("1.25")},
                               {Value::Int(2), Value::Null()}};
  ASSERT_TRUE(narrow
                  ->AppendRows(decimals.size(),
                               [&](size_t row, size_t column) -> const Value& {
                                 return decimals[row][column];
                               })
                  .ok());
  ASSERT_TRUE(narrow->Flush().ok());
  EXPECT_EQ(Rows("SELECT i16, dec::VARCHAR FROM narrow ORDER BY i16")[0][1], Value::String("1.25"));
  std::vector<Row> too_big = {{Value::Int(40'000), Value::Null()}};
  Status refused = narrow->AppendRows(
      1, [&](size_t row, size_t column) -> const Value& { return too_big[row][column]; });
  EXPECT_TRUE(refused.Is(Code::kInvalidArgument)) << refused;
  EXPECT_NE(refused.message().find("i16"), std::string::npos) << refused;
}

TEST_F(AppenderTest, UnknownTableIsNotFound) {
  auto appender = Appender::Open(*connection_, "missing");
  ASSERT_FALSE(appender.ok());
  EXPECT_TRUE(appender.status().Is(Code::kNotFound)) << appender.status();
  EXPECT_NE(appender.status().message().find("missing"), std::string::npos);
}

TEST_F(AppenderTest, WrongWidthIsInvalidArgumentAndLeavesTheAppenderUsable) {
  ASSERT_TRUE(connection_->Execute("CREATE TABLE t (a INTEGER, b INTEGER)").ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok());
  Status status = appender->AppendRow({Value::Int(1)});
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("1 values for 2 columns"), std::string::npos) << status;
  ASSERT_TRUE(appender->AppendRow({Value::Int(1), Value::Int(2)}).ok());
  ASSERT_TRUE(appender->Flush().ok());
  EXPECT_EQ(Rows("SELECT * FROM t").size(), 1u);

  ASSERT_TRUE(appender->Append(Value::Int(1)).ok());
  status = appender->EndRow();
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("ends after 1 values"), std::string::npos) << status;
}

TEST_F(AppenderTest, WrongTypeNamesTheColumnAndBreaksTheAppender) {
  ASSERT_TRUE(connection_->Execute("CREATE TABLE t (id INTEGER, amount SMALLINT)").ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok());
  Status status = appender->AppendRow({Value::Int(1), Value::String("not a number")});
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("column amount (2 of 2)"), std::string::npos) << status;

  // Out of range is an error too, and the broken appender keeps reporting the first error.
  auto second = Appender::Open(*connection_, "t");
  ASSERT_TRUE(second.ok());
  status = second->AppendRow({Value::Int(1), Value::Int(70000)});
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("column amount"), std::string::npos) << status;
  EXPECT_EQ(second->Flush(), status);

  auto third = Appender::Open(*connection_, "t");
  ASSERT_TRUE(third.ok());
  status = third->AppendRow({{Value::Kind::kList, ValueList{Value::Int(1)}}, Value::Int(1)});
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("column id"), std::string::npos) << status;
}

TEST_F(AppenderTest, EmptyNestedListIsNotSupported) {
  ASSERT_TRUE(connection_->Execute("CREATE TABLE t (l INTEGER[])").ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok());
  Status status = appender->AppendRow({{Value::Kind::kList, ValueList{}}});
  EXPECT_TRUE(status.Is(Code::kNotSupported)) << status;
  EXPECT_NE(status.message().find("column l"), std::string::npos) << status;
}

TEST_F(AppenderTest, NestedMismatchNamesTheColumnAndElement) {
  ASSERT_TRUE(connection_->Execute("CREATE TABLE t (tags VARCHAR[])").ok());
  auto appender = Appender::Open(*connection_, "t");
  ASSERT_TRUE(appender.ok());
  Status status =
      appender->AppendRow({{Value::Kind::kList, ValueList{Value::String("a"), Value::Int(2)}}});
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("column tags"), std::string::npos) << status;
  EXPECT_NE(status.message().find("element 1"), std::string::npos) << status;
}

}  // namespace
}  // namespace freshet::engine
