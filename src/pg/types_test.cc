#include "pg/types.h"

#include <gtest/gtest.h>

#include "common/wire.h"

namespace freshet::pg {
namespace {

std::string Text(const std::string& bytes, uint32_t type) {
  TypeRegistry registry;
  auto datum = DecodeBinary(bytes, type, registry);
  EXPECT_TRUE(datum.ok()) << datum.status();
  return datum.ok() ? FormatPostgresText(*datum) : "";
}

std::string Float8(double value) {
  WireWriter writer;
  uint64_t raw;
  std::memcpy(&raw, &value, sizeof(raw));
  writer.PutU64(raw);
  return writer.Take();
}

TEST(Types, FloatsPrintLikePostgres) {
  EXPECT_EQ(Text(Float8(1e15), oid::kFloat8), "1e+15");
  EXPECT_EQ(Text(Float8(123456789012345.0), oid::kFloat8), "123456789012345");
  EXPECT_EQ(Text(Float8(0.0001), oid::kFloat8), "0.0001");
  EXPECT_EQ(Text(Float8(0.00001), oid::kFloat8), "1e-05");
  EXPECT_EQ(Text(Float8(-2.5), oid::kFloat8), "-2.5");
  EXPECT_EQ(Text(Float8(0.1), oid::kFloat8), "0.1");
}

TEST(Types, NumericDigitsWeightAndScale) {
  // 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3.
  WireWriter writer;
  for (int16_t v : {3, 1, 0, 3, 1, 2345, 6780}) writer.PutI16(v);
  EXPECT_EQ(Text(writer.data(), oid::kNumeric), "12345.678");
  // -0.00012 = digits [1, 2000], weight -1, negative, dscale 5.
  WireWriter small;
  for (int16_t v : {2, -1}) small.PutI16(v);
  small.PutU16(0x4000);
  small.PutI16(5);
  small.PutI16(1);
  small.PutI16(2000);
  EXPECT_EQ(Text(small.data(), oid::kNumeric), "-0.00012");
}

TEST(Types, TruncatedAndHostileBinaryValuesAreCorruption) {
  TypeRegistry registry;
  EXPECT_TRUE(DecodeBinary("\x01\x02", oid::kInt4, registry).status().Is(Code::kCorruption));
  EXPECT_TRUE(
      DecodeBinary("\x01\x02\x03\x04\x05", oid::kInt4, registry).status().Is(Code::kCorruption));
  WireWriter array;
  array.PutI32(1);
  array.PutI32(0);
  array.PutU32(oid::kInt4);
  array.PutI32(INT32_MAX);  // elements announced
  array.PutI32(1);
  EXPECT_TRUE(DecodeBinary(array.data(), 1007, registry).status().Is(Code::kCorruption));
  WireWriter numeric;
  for (int16_t v : {2, 0, 0, 0, 10000}) numeric.PutI16(v);
  EXPECT_TRUE(DecodeBinary(numeric.data(), oid::kNumeric, registry).status().Is(Code::kCorruption));
  auto unknown = DecodeBinary("x", 99999, registry);
  EXPECT_TRUE(unknown.status().Is(Code::kNotSupported)) << unknown.status();
  EXPECT_FALSE(registry.DecodesBinary(99999));
  EXPECT_TRUE(registry.DecodesBinary(1007));
}

TEST(Types, HostileTimestampsFormatWithoutOverflow) {
  TypeRegistry registry;
  for (int64_t micros : {INT64_MIN + 1, INT64_MAX - 1, int64_t{-1}}) {
    WireWriter ts;
    ts.PutI64(micros);
    auto datum = DecodeBinary(ts.data(), oid::kTimestamp, registry);
    ASSERT_TRUE(datum.ok());
    EXPECT_FALSE(FormatPostgresText(*datum).empty());
  }
  WireWriter before_epoch;
  before_epoch.PutI64(-1);
  EXPECT_EQ(FormatPostgresText(*DecodeBinary(before_epoch.data(), oid::kTimestamp, registry)),
            "1999-12-31 23:59:59.999999");
}

TEST(Types, UnrepresentableValuesFollowTheRuleAndAreCounted) {
  TypeRegistry registry;
  UnrepresentableCounters counters;
  Datum infinity = *DecodeText("Infinity", oid::kNumeric, registry);
  EXPECT_EQ(infinity.special, Special::kPositiveInfinity);
  auto failed = ToLakeValue(infinity, UnrepresentableRule::kFail, "price", counters);
  EXPECT_TRUE(failed.status().Is(Code::kInvalidArgument));
  EXPECT_NE(failed.status().message().find("price"), std::string::npos);
  EXPECT_EQ(counters.infinite_numerics, 1u);
  WireWriter nan;
  for (int16_t v : {0, 0}) nan.PutI16(v);
  nan.PutU16(0xC000);
  nan.PutI16(0);
  Datum nan_datum = *DecodeBinary(nan.data(), oid::kNumeric, registry);
  EXPECT_EQ(ToLakeValue(nan_datum, UnrepresentableRule::kNull, "x", counters)->kind,
            DatumKind::kNull);
  EXPECT_EQ(counters.nan_numerics, 1u);

  WireWriter ts;
  ts.PutI64(INT64_MAX);
  Datum forever = *DecodeBinary(ts.data(), oid::kTimestamptz, registry);
  EXPECT_EQ(FormatPostgresText(forever), "infinity");
  auto clamped = ToLakeValue(forever, UnrepresentableRule::kClamp, "until", counters);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(FormatPostgresText(*clamped), "9999-12-31 23:59:59.999999+00");
  WireWriter date;
  date.PutI32(INT32_MIN);
  auto first = ToLakeValue(*DecodeBinary(date.data(), oid::kDate, registry),
                           UnrepresentableRule::kClamp, "d", counters);
  EXPECT_EQ(FormatPostgresText(*first), "0001-01-01");
  EXPECT_EQ(counters.infinite_timestamps, 2u);
  // Finite values pass untouched and uncounted.
  Datum one = *DecodeText("1.5", oid::kNumeric, registry);
  EXPECT_EQ(ToLakeValue(one, UnrepresentableRule::kFail, "x", counters)->s, "1.5");
  EXPECT_EQ(counters.nan_numerics + counters.infinite_numerics, 2u);
  EXPECT_EQ(*ParseUnrepresentableRule("clamp"), UnrepresentableRule::kClamp);
  EXPECT_TRUE(ParseUnrepresentableRule("ignore").status().Is(Code::kInvalidArgument));
}

TEST(Types, LakeTypesFollowTheTable) {
  TypeRegistry registry;
  registry.Add(50000, TypeEntry{.typtype = 'd', .base_type = oid::kInt4, .name = "posint"});
  registry.Add(50001, TypeEntry{.typtype = 'e', .name = "mood"});
  EXPECT_EQ(LakeTypeFor(50000, -1, registry), LakeType::kInt32);
  EXPECT_EQ(LakeTypeFor(50001, -1, registry), LakeType::kString);
  EXPECT_EQ(LakeTypeFor(oid::kNumeric, -1, registry), LakeType::kString);
  EXPECT_EQ(LakeTypeFor(oid::kNumeric, (12 << 16 | 4) + 4, registry), LakeType::kDecimal);
  EXPECT_EQ(LakeTypeFor(1007, -1, registry), LakeType::kList);
  EXPECT_EQ(LakeTypeFor(oid::kTimestamptz, -1, registry), LakeType::kTimestampTz);
  EXPECT_EQ(LakeTypeName(LakeType::kTimestampTz), "timestamptz");
}

}  // namespace
}  // namespace freshet::pg
