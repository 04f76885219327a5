#include "pipeline/convert.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "common/wire.h"

namespace freshet::pipeline {
namespace {

using engine::Value;

struct Cell {
  uint32_t type;
  pg::Value value;
};

template <typename Put>
pg::Value Binary(Put put) {
  WireWriter writer;
  put(writer);
  return pg::Value{.kind = pg::ValueKind::kBinary, .bytes = writer.data()};
}

pg::Value Text(std::string text) {
  return pg::Value{.kind = pg::ValueKind::kText, .bytes = std::move(text)};
}

uint64_t DoubleBits(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

uint32_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// Converts one row of `cells` (column i is named c<i>) and returns its values.
Result<std::vector<Value>> ConvertRow(
    const std::vector<Cell>& cells, pg::UnrepresentableRule rule = pg::UnrepresentableRule::kFail) {
  pg::TypeRegistry registry;
  pg::Relation relation{.oid = 1, .schema = "public", .name = "t"};
  std::vector<LakeColumn> columns;
  pg::Change change{.kind = pg::ChangeKind::kInsert};
  for (size_t index = 0; index < cells.size(); ++index) {
    std::string name = "c" + std::to_string(index);
    relation.columns.push_back({.name = name, .type_oid = cells[index].type});
    columns.push_back({name, LakeDataTypeFor(cells[index].type, -1, registry)});
    change.new_tuple.push_back(cells[index].value);
  }
  RowConverter converter(relation, columns, registry, rule);
  FRESHET_ASSIGN_OR_RETURN(lake::RowChange row, converter.Convert(change, 7));
  return row.row;
}

// The general path (DecodeValue, then ToEngineValue) for one cell: what every cell must give.
Value General(const Cell& cell) {
  pg::TypeRegistry registry;
  pg::UnrepresentableCounters counters;
  auto datum = pg::DecodeValue(cell.value, cell.type, registry);
  EXPECT_TRUE(datum.ok()) << datum.status().ToString();
  auto value = ToEngineValue(*datum, LakeDataTypeFor(cell.type, -1, registry), "c",
                             pg::UnrepresentableRule::kFail, counters);
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  return value.ok() ? *value : Value::Null();
}

TEST(RowConverter, BinaryScalarsEqualTheGeneralDecoding) {
  std::vector<Cell> cells = {
      {pg::oid::kBool, Binary([](WireWriter& w) { w.PutU8(1); })},
      {pg::oid::kBool, Binary([](WireWriter& w) { w.PutU8(0); })},
      {pg::oid::kInt2, Binary([](WireWriter& w) { w.PutI16(-32768); })},
      {pg::oid::kInt4, Binary([](WireWriter& w) { w.PutI32(-123456); })},
      {pg::oid::kInt4,
       Binary([](WireWriter& w) { w.PutI32(std::numeric_limits<int32_t>::max()); })},
      {pg::oid::kInt8,
       Binary([](WireWriter& w) { w.PutI64(std::numeric_limits<int64_t>::min()); })},
      {pg::oid::kInt8, Binary([](WireWriter& w) { w.PutI64(1234567890123); })},
      {pg::oid::kFloat4, Binary([](WireWriter& w) { w.PutU32(FloatBits(-1.5f)); })},
      {pg::oid::kFloat8, Binary([](WireWriter& w) { w.PutU64(DoubleBits(0.1)); })},
      {pg::oid::kFloat8, Binary([](WireWriter& w) { w.PutU64(DoubleBits(-HUGE_VAL)); })},
      {pg::oid::kText,
       Binary([](WireWriter& w) { w.PutBytes("a longer text than fifteen bytes"); })},
      {pg::oid::kVarchar, Binary([](WireWriter& w) { w.PutBytes(""); })},
      {pg::oid::kBpchar, Binary([](WireWriter& w) { w.PutBytes("ab  "); })},
      {pg::oid::kDate, Binary([](WireWriter& w) { w.PutI32(-10957); })},  // 1970-01-01
      {pg::oid::kDate, Binary([](WireWriter& w) { w.PutI32(9000); })},
      {pg::oid::kTimestamp, Binary([](WireWriter& w) { w.PutI64(-1); })},
      {pg::oid::kTimestamptz, Binary([](WireWriter& w) { w.PutI64(757382400123456); })},
      {pg::oid::kInt4, Text("42")},
      {pg::oid::kTimestamptz, Text("2024-01-01 00:00:00+00")},
  };
  auto row = ConvertRow(cells);
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  ASSERT_EQ(row->size(), cells.size());
  for (size_t index = 0; index < cells.size(); ++index) {
    EXPECT_EQ((*row)[index], General(cells[index])) << "cell " << index;
  }
  EXPECT_EQ((*row)[3], Value::Int(-123456));
  EXPECT_EQ((*row)[10], Value::String("a longer text than fifteen bytes"));
  EXPECT_EQ((*row)[13], (Value{Value::Kind::kDate, int64_t{0}}));
  EXPECT_EQ((*row)[15], (Value{Value::Kind::kTimestamp, kPostgresEpochMicros - 1}));
}

TEST(RowConverter, InfiniteTimestampsFollowTheRule) {
  std::vector<Cell> cells = {
      {pg::oid::kTimestamptz,
       Binary([](WireWriter& w) { w.PutI64(std::numeric_limits<int64_t>::max()); })},
      {pg::oid::kDate,
       Binary([](WireWriter& w) { w.PutI32(std::numeric_limits<int32_t>::min()); })},
  };
  auto failed = ConvertRow(cells);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("unrepresentable_values"), std::string::npos)
      << failed.status().message();
  auto nulled = ConvertRow(cells, pg::UnrepresentableRule::kNull);
  ASSERT_TRUE(nulled.ok()) << nulled.status().ToString();
  EXPECT_EQ(*nulled, (std::vector<Value>{Value::Null(), Value::Null()}));
}

TEST(RowConverter, MalformedBinaryIsCorruption) {
  auto row = ConvertRow({{pg::oid::kInt4, Binary([](WireWriter& w) { w.PutI16(1); })}});
  ASSERT_FALSE(row.ok());
  EXPECT_TRUE(row.status().Is(Code::kCorruption)) << row.status().ToString();
  EXPECT_NE(row.status().message().find("column c0"), std::string::npos);
}

TEST(RowConverter, UnchangedToastFlagsOnlyWhenPresent) {
  pg::TypeRegistry registry;
  pg::Relation relation{.oid = 1, .schema = "public", .name = "t"};
  relation.columns = {{.name = "id", .type_oid = pg::oid::kInt8, .key = true},
                      {.name = "doc", .type_oid = pg::oid::kText}};
  std::vector<LakeColumn> columns = {{"id", LakeDataTypeFor(pg::oid::kInt8, -1, registry)},
                                     {"doc", LakeDataTypeFor(pg::oid::kText, -1, registry)}};
  RowConverter converter(relation, columns, registry);
  pg::Value id = Binary([](WireWriter& w) { w.PutI64(5); });
  pg::Change update{.kind = pg::ChangeKind::kUpdate};
  update.new_tuple = {id, pg::Value{.kind = pg::ValueKind::kUnchangedToast}};
  auto toasted = converter.Convert(update, 1);
  ASSERT_TRUE(toasted.ok()) << toasted.status().ToString();
  EXPECT_EQ(toasted->unchanged, (std::vector<bool>{false, true}));
  EXPECT_EQ(toasted->row, (std::vector<Value>{Value::Int(5), Value::Null()}));
  update.new_tuple[1] = Binary([](WireWriter& w) { w.PutBytes("x"); });
  auto plain = converter.Convert(update, 1);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(plain->unchanged.empty());
  EXPECT_EQ(plain->row, (std::vector<Value>{Value::Int(5), Value::String("x")}));
}

}  // namespace
}  // namespace freshet::pipeline
