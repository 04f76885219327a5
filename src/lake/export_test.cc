#include "lake/export.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace freshet::lake {
namespace {

TEST(Export, RendersDoublesLikeEcmaScript) {
  EXPECT_EQ(RenderFloatingPoint(1.234567890123, false), "1.234567890123");
  EXPECT_EQ(RenderFloatingPoint(5, false), "5");
  EXPECT_EQ(RenderFloatingPoint(1e21, false), "1e+21");
  EXPECT_EQ(RenderFloatingPoint(1e20, false), "100000000000000000000");
  EXPECT_EQ(RenderFloatingPoint(1.5e-7, false), "1.5e-7");
  EXPECT_EQ(RenderFloatingPoint(0.000001, false), "0.000001");
  EXPECT_EQ(RenderFloatingPoint(-0.0, false), "-0");
  EXPECT_EQ(RenderFloatingPoint(-2.5, false), "-2.5");
  EXPECT_EQ(RenderFloatingPoint(std::nan(""), false), "\"NaN\"");
  EXPECT_EQ(RenderFloatingPoint(-std::numeric_limits<double>::infinity(), false), "\"-Infinity\"");
  EXPECT_EQ(RenderFloatingPoint(static_cast<double>(3.4f), false), "3.4000000953674316");
}

TEST(Export, RendersFloatsAsTheShortest32BitDecimal) {
  EXPECT_EQ(RenderFloatingPoint(static_cast<double>(3.4f), true), "3.4");
  EXPECT_EQ(RenderFloatingPoint(static_cast<double>(1e-10f), true), "1e-10");
}

TEST(Export, EscapesOnlyWhatJsonRequires) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01\xc3\xa9"), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
}

TEST(Export, RendersDatesTimestampsDecimalsAndMaps) {
  using engine::Value;
  EXPECT_EQ(*RenderJsonValue(DataType::Primitive(DataType::Kind::kDate),
                             Value{Value::Kind::kDate, int64_t{18878}}),
            "\"2021-09-08\"");
  EXPECT_EQ(*RenderJsonValue(DataType::Primitive(DataType::Kind::kTimestamp),
                             Value{Value::Kind::kTimestampTz, int64_t{1631124671000000}}),
            "\"2021-09-08T18:11:11.000000Z\"");
  EXPECT_EQ(*RenderJsonValue(DataType::Primitive(DataType::Kind::kTimestampNtz),
                             Value{Value::Kind::kTimestamp, int64_t{-1}}),
            "\"1969-12-31T23:59:59.999999\"");
  EXPECT_EQ(*RenderJsonValue(DataType::Decimal(5, 2),
                             Value{Value::Kind::kDecimal, engine::Decimal{-7, 5, 2}}),
            "\"-0.07\"");
  DataType map{.kind = DataType::Kind::kMap};
  map.children = {DataType::Primitive(DataType::Kind::kInteger),
                  DataType::Primitive(DataType::Kind::kString)};
  auto entry = [](int64_t k, std::string v) {
    return Value{Value::Kind::kStruct,
                 engine::ValueFields{{"k", Value::Int(k)}, {"v", Value::String(std::move(v))}}};
  };
  Value entries{Value::Kind::kList, engine::ValueList{entry(2, "b"), entry(10, "a")}};
  EXPECT_EQ(*RenderJsonValue(map, entries), "[[10,\"a\"],[2,\"b\"]]");
  EXPECT_FALSE(
      RenderJsonValue(DataType::Primitive(DataType::Kind::kLong), Value::String("x")).ok());
}

}  // namespace
}  // namespace freshet::lake
