#include "server/pgwire/types.h"

#include <gtest/gtest.h>

namespace freshet::server::pgwire {
namespace {

using engine::ColumnType;
using engine::TypeId;
using engine::Value;

std::string Text(const Value& value, ColumnType type) {
  std::string out;
  AppendText(value, type, &out);
  return out;
}

TEST(TypesTest, FormatsDatesAndTimesAsPostgresDoes) {
  EXPECT_EQ(FormatDate(0), "1970-01-01");
  EXPECT_EQ(FormatDate(20454), "2026-01-01");
  EXPECT_EQ(FormatDate(-719163), "0001-12-31 BC");
  EXPECT_EQ(FormatTime(0), "00:00:00");
  EXPECT_EQ(FormatTime(3'723'500'000), "01:02:03.5");
  EXPECT_EQ(FormatTimestamp(1'500'000), "1970-01-01 00:00:01.5");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(Text({Value::Kind::kTimestampTz, int64_t{0}}, {TypeId::kTimestampTz}),
            "1970-01-01 00:00:00+00");
}

TEST(TypesTest, FormatsNumbersAsPostgresDoes) {
  EXPECT_EQ(FormatFloat8(0.1), "0.1");
  EXPECT_EQ(FormatFloat8(1e20), "1e+20");
  EXPECT_EQ(FormatFloat8(-1.0 / 0.0), "-Infinity");
  EXPECT_EQ(FormatFloat4(0.1f), "0.1");
  EXPECT_EQ(Text(Value::Bool(true), {TypeId::kBool}), "t");
  EXPECT_EQ(Text({Value::Kind::kDouble, 1.5}, {TypeId::kFloat}), "1.5");
  EXPECT_EQ(Text({Value::Kind::kDecimal, engine::Decimal{-1250, 10, 2}}, {TypeId::kDecimal}),
            "-12.50");
}

TEST(TypesTest, FormatsByteaArraysAndIntervals) {
  EXPECT_EQ(Text({Value::Kind::kBlob, std::string("\x01\xab", 2)}, {TypeId::kBlob}), "\\x01ab");
  ColumnType text_list{TypeId::kList, 0, 0, {ColumnType{TypeId::kVarchar}}};
  Value list{Value::Kind::kList,
             engine::ValueList{Value::String("a b"), Value::Null(), Value::String(""),
                               Value::String("x\"y"), Value::String("plain")}};
  EXPECT_EQ(Text(list, text_list), "{\"a b\",NULL,\"\",\"x\\\"y\",plain}");
  EXPECT_EQ(PgTypeFor(text_list).oid, 1015u);  // varchar[]
  Value interval{Value::Kind::kStruct, engine::ValueFields{{"months", Value::Int(14)},
                                                           {"days", Value::Int(3)},
                                                           {"micros", Value::Int(3'600'000'000)}}};
  EXPECT_EQ(Text(interval, {TypeId::kInterval}), "1 year 2 mons 3 days 01:00:00");
}

TEST(TypesTest, EncodesBinaryValues) {
  std::string out;
  ASSERT_TRUE(AppendBinary(Value::Int(7), {TypeId::kInteger}, &out).ok());
  EXPECT_EQ(out, std::string("\0\0\0\x07", 4));
  out.clear();
  ASSERT_TRUE(AppendBinary({Value::Kind::kDate, int64_t{10957}}, {TypeId::kDate}, &out).ok());
  EXPECT_EQ(out, std::string("\0\0\0\0", 4));  // 2000-01-01 is PostgreSQL's epoch
  out.clear();
  ASSERT_TRUE(AppendBinary({Value::Kind::kDecimal, engine::Decimal{-123450, 10, 2}},
                           {TypeId::kDecimal, 10, 2}, &out)
                  .ok());
  // -1234.50: digits [1234, 5000], weight 0, negative, dscale 2.
  EXPECT_EQ(out, std::string("\0\x02\0\0\x40\0\0\x02\x04\xd2\x13\x88", 12));
}

// Big-endian 32-bit words, then `tail`.
std::string Words(std::initializer_list<uint32_t> words, std::string_view tail = "") {
  std::string out;
  for (uint32_t word : words) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(word >> shift));
  }
  out.append(tail);
  return out;
}

TEST(TypesTest, EncodesArraysStructsAndMapsInBinary) {
  ColumnType ints{TypeId::kList, 0, 0, {ColumnType{TypeId::kInteger}}};
  std::string out;
  ASSERT_TRUE(AppendBinary({Value::Kind::kList,
                            engine::ValueList{Value::Int(1), Value::Null(), Value::Int(-2)}},
                           ints, &out)
                  .ok());
  // ndim 1, has nulls, int4 (23); length 3, lower bound 1; 1, NULL, -2.
  EXPECT_EQ(out, Words({1, 1, 23, 3, 1, 4, 1, 0xFFFFFFFF, 4, 0xFFFFFFFE}));
  out.clear();
  ASSERT_TRUE(AppendBinary({Value::Kind::kList, engine::ValueList{}}, ints, &out).ok());
  EXPECT_EQ(out, Words({0, 0, 23}));  // empty: no dimensions
  out.clear();
  ColumnType texts{TypeId::kList, 0, 0, {ColumnType{TypeId::kVarchar}}};
  ASSERT_TRUE(
      AppendBinary({Value::Kind::kList, engine::ValueList{Value::String("ab")}}, texts, &out).ok());
  EXPECT_EQ(out, Words({1, 0, 1043, 1, 1, 2}, "ab"));
  // A struct is presented as text; its binary form is that text.
  ColumnType pair{TypeId::kStruct, 0, 0, {ColumnType{TypeId::kInteger}}};
  Value value{Value::Kind::kStruct, engine::ValueFields{{"x", Value::Int(1)}}};
  std::string text;
  AppendText(value, pair, &text);
  out.clear();
  ASSERT_TRUE(AppendBinary(value, pair, &out).ok());
  EXPECT_EQ(out, text);
  EXPECT_FALSE(text.empty());
}

TEST(TypesTest, DecodesBinaryParameters) {
  EXPECT_EQ(*BinaryParameterToText(oid::kInt4, std::string("\0\0\x01\0", 4)), "256");
  EXPECT_EQ(*BinaryParameterToText(oid::kInt8, std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8)),
            "-1");
  EXPECT_EQ(*BinaryParameterToText(oid::kBool, std::string("\x01", 1)), "true");
  EXPECT_EQ(*BinaryParameterToText(oid::kNumeric,
                                   std::string("\0\x02\0\0\x40\0\0\x02\x04\xd2\x13\x88", 12)),
            "-1234.50");
  EXPECT_FALSE(BinaryParameterToText(oid::kInt4, "abc").ok());
  EXPECT_FALSE(BinaryParameterToText(99999, "abc").ok());
}

}  // namespace
}  // namespace freshet::server::pgwire
