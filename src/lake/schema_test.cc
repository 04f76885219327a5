#include "lake/schema.h"

#include <gtest/gtest.h>

namespace freshet::lake {
namespace {

TEST(Schema, ParsesNestedTypesAndColumnMappingMetadata) {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{"delta.columnMapping.id":1,
      "delta.columnMapping.physicalName":"col-1"}},
    {"name":"price","type":"decimal(38,18)","nullable":true,"metadata":{}},
    {"name":"tags","type":{"type":"array","elementType":"string","containsNull":false},
      "nullable":true,"metadata":{}},
    {"name":"attrs","type":{"type":"map","keyType":"string","valueType":
      {"type":"struct","fields":[{"name":"x","type":"timestamp_ntz","nullable":true,
      "metadata":{}}]},"valueContainsNull":true},"nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  ASSERT_EQ(schema->fields.size(), 4u);
  EXPECT_EQ(schema->fields[0].physical_name, "col-1");
  EXPECT_EQ(schema->fields[0].field_id, 1);
  EXPECT_FALSE(schema->fields[0].nullable);
  EXPECT_EQ(schema->fields[0].PhysicalName("name"), "col-1");
  EXPECT_EQ(schema->fields[0].PhysicalName("none"), "id");
  EXPECT_EQ(schema->fields[1].type.DuckDbType(), "DECIMAL(38,18)");
  EXPECT_EQ(schema->fields[2].type.DuckDbType(), "VARCHAR[]");
  EXPECT_FALSE(schema->fields[2].type.contains_null);
  EXPECT_EQ(schema->fields[3].type.DuckDbType(), "MAP(VARCHAR, STRUCT(\"x\" TIMESTAMP))");
}

TEST(Schema, RoundTripsThroughJson) {
  std::string json =
      R"({"type":"struct","fields":[{"name":"a","type":{"type":"struct","fields":[{"name":"b",)"
      R"("type":"date","nullable":true,"metadata":{"comment":"x"}}]},"nullable":true,)"
      R"("metadata":{}}]})";
  auto schema = ParseSchema(json);
  ASSERT_TRUE(schema.ok()) << schema.status();
  auto again = ParseSchema(SchemaToJson(*schema));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*schema, *again);
}

TEST(Schema, RejectsBadInputWithAClearError) {
  EXPECT_TRUE(ParseSchema("{not json").status().Is(Code::kCorruption));
  EXPECT_TRUE(ParseSchema(R"({"type":"struct"})").status().Is(Code::kCorruption));
  auto variant =
      ParseSchema(R"({"type":"struct","fields":[{"name":"v","type":"variant","nullable":true}]})");
  EXPECT_TRUE(variant.status().Is(Code::kNotSupported));
  EXPECT_NE(variant.status().message().find("variant"), std::string::npos);
  EXPECT_TRUE(ParsePrimitiveType("decimal(39,0)").status().Is(Code::kNotSupported));
  EXPECT_EQ(ParsePrimitiveType("decimal(5,2)")->scale, 2);
}

}  // namespace
}  // namespace freshet::lake
