#include "sink/type_map.h"

#include <gtest/gtest.h>

#include "engine/database.h"

namespace freshet::sink {
namespace {

using Kind = lake::DataType::Kind;

lake::StructField Field(lake::DataType type, std::string metadata = "{}") {
  return lake::StructField{.name = "c", .type = std::move(type), .metadata_json = metadata};
}

TEST(TypeMap, DeltaTypesMapToPostgresSpellings) {
  EXPECT_EQ(PostgresTypeForDelta(lake::DataType::Primitive(Kind::kLong)), "bigint");
  EXPECT_EQ(PostgresTypeForDelta(lake::DataType::Primitive(Kind::kShort)), "smallint");
  EXPECT_EQ(PostgresTypeForDelta(lake::DataType::Decimal(10, 2)), "numeric(10,2)");
  EXPECT_EQ(PostgresTypeForDelta(lake::DataType::Primitive(Kind::kTimestamp)),
            "timestamp with time zone");
  EXPECT_EQ(PostgresTypeForDelta(lake::DataType::Primitive(Kind::kTimestampNtz)),
            "timestamp without time zone");
  lake::DataType list{.kind = Kind::kArray,
                      .children = {lake::DataType::Primitive(Kind::kInteger)}};
  EXPECT_EQ(PostgresTypeForDelta(list), "integer[]");
  EXPECT_EQ(PostgresTypeForDelta(lake::DataType{.kind = Kind::kStruct}), "jsonb");
}

TEST(TypeMap, SourceTypeWinsWhenPlain) {
  auto string = lake::DataType::Primitive(Kind::kString);
  EXPECT_EQ(PostgresTypeFor(Field(string, R"({"freshet.sourceType":"jsonb"})")), "jsonb");
  EXPECT_EQ(PostgresTypeFor(Field(string, R"j({"freshet.sourceType":"character varying(20)"})j")),
            "character varying(20)");
  // Anything that is not plainly a type name is ignored, never spliced into DDL.
  EXPECT_EQ(PostgresTypeFor(Field(string, R"({"freshet.sourceType":"text; DROP TABLE x"})")),
            "text");
  EXPECT_EQ(PostgresTypeFor(Field(string, "not json")), "text");
}

// The CSV expressions run in DuckDB and give PostgreSQL's input forms.
TEST(TypeMap, CsvExpressionsRenderPostgresInput) {
  auto db = engine::Database::Open("");
  ASSERT_TRUE(db.ok());
  auto connection = db->Connect();
  ASSERT_TRUE(connection.ok());
  ASSERT_TRUE(connection->Execute("SET TimeZone = 'UTC'").ok());
  auto render = [&](const lake::StructField& field, const std::string& value) {
    auto result = connection->Query("SELECT " + CsvExpression(field, "v") + " FROM (SELECT " +
                                    value + " AS v)");
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok() || result->rows.empty()) return std::string("<error>");
    const engine::Value& out = result->rows[0][0];
    return out.is_null() ? std::string("<null>") : out.string();
  };
  EXPECT_EQ(render(Field(lake::DataType::Primitive(Kind::kBinary)), "'\\x01\\xAB'::BLOB"),
            "\\x01AB");
  EXPECT_EQ(render(Field(lake::DataType::Primitive(Kind::kTimestamp)),
                   "TIMESTAMPTZ '2024-01-02 03:04:05.5+00'"),
            "2024-01-02 03:04:05.5+00");
  lake::DataType texts{.kind = Kind::kArray,
                       .children = {lake::DataType::Primitive(Kind::kString)}};
  EXPECT_EQ(render(Field(texts), R"(['a', NULL, 'b"c', 'd\e'])"), R"({"a",NULL,"b\"c","d\\e"})");
  EXPECT_EQ(render(Field(texts), "NULL::VARCHAR[]"), "<null>");
  EXPECT_EQ(render(Field(texts), "[]::VARCHAR[]"), "{}");
  lake::DataType nested{.kind = Kind::kArray, .children = {texts}};
  EXPECT_EQ(render(Field(nested), "[['x'], ['y']]"), R"({{"x"},{"y"}})");
  lake::DataType blobs{.kind = Kind::kArray,
                       .children = {lake::DataType::Primitive(Kind::kBinary)}};
  EXPECT_EQ(render(Field(blobs), "['\\x0F'::BLOB]"), R"({"\\x0F"})");
}

}  // namespace
}  // namespace freshet::sink
