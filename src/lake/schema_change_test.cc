#include "lake/schema_change.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "lake/change_feed.h"
#include "lake/deletion_vector.h"
#include "lake/optimize.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/table_writer.h"

namespace freshet::lake {
namespace {

using Json = nlohmann::json;

Schema ParseOrDie(const std::string& json) {
  auto schema = ParseSchema(json);
  EXPECT_TRUE(schema.ok()) << schema.status();
  return schema.ok() ? *schema : Schema{};
}

// id long, s string, n integer, pt struct<x short>, tag string (a partition column when asked).
Schema MappedSchema() {
  return ParseOrDie(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"n","type":"integer","nullable":true,"metadata":{"freshet.sourceType":"integer"}},
    {"name":"pt","type":{"type":"struct","fields":[{"name":"x","type":"short","nullable":true,
     "metadata":{}}]},"nullable":true,"metadata":{}},
    {"name":"tag","type":"string","nullable":true,"metadata":{}}]})json");
}

std::string Rows(int from, int to) {
  return fmt::format(
      "SELECT i AS id, 's' || i AS s, (i * 10)::INTEGER AS n, {{'x': i::SMALLINT}} AS pt, "
      "CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END AS tag FROM range({}, {}) t(i)",
      from, to);
}

class SchemaChangeTest : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(connection_->Execute("SET TimeZone = 'UTC'").ok());
  }

  void CreateMapped(std::vector<std::string> partition_columns = {}) {
    CreateTableOptions options{.schema = MappedSchema(),
                               .partition_columns = std::move(partition_columns),
                               .configuration = {{"delta.columnMapping.mode", "name"},
                                                 {"delta.enableChangeDataFeed", "true"}}};
    ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  }

  void Append(const std::string& sql) {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    auto added = txn->Append(sql);
    ASSERT_TRUE(added.ok()) << added.status();
    auto committed = txn->Commit();
    ASSERT_TRUE(committed.ok()) << committed.status();
  }

  // Applies `edit` to the latest snapshot and commits it.
  Status Change(const std::function<Status(SchemaChange&)>& edit) {
    FRESHET_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(fs_, *connection_, table_));
    SchemaChange change(txn.read_snapshot());
    FRESHET_RETURN_IF_ERROR(edit(change));
    change.Stage(txn);
    return txn.Commit("CHANGE COLUMN").status();
  }

  Snapshot Latest() {
    auto snapshot = Snapshot::Load(fs_, *connection_, table_);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    return std::move(snapshot).value();
  }

  // The table's rows as text, ordered by the first column.
  std::vector<std::string> Read(const std::string& columns = "*") {
    auto sql = ScanSql(fs_, *connection_, Latest());
    EXPECT_TRUE(sql.ok()) << sql.status();
    return TextRows(fmt::format("SELECT {} FROM ({}) ORDER BY 1", columns, *sql));
  }

  std::vector<std::string> TextRows(const std::string& sql) {
    auto result = connection_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status() << "\n" << sql;
    if (!result.ok()) return {};
    return TextRows(*result);
  }

  // Each row as its values joined by '|'.
  static std::vector<std::string> TextRows(const engine::QueryResult& result) {
    std::vector<std::string> out;
    for (const auto& row : result.rows) {
      std::string line;
      for (const auto& value : row) {
        line += (line.empty() ? "" : "|") +
                (value.kind == engine::Value::Kind::kString ? value.string() : value.ToString());
      }
      out.push_back(line);
    }
    return out;
  }

  std::vector<std::string> ColumnNames() {
    std::vector<std::string> names;
    Snapshot snapshot = Latest();
    for (const auto& field : snapshot.schema().fields) names.push_back(field.name);
    return names;
  }
};

TEST_F(SchemaChangeTest, CreateTableWithColumnMappingAssignsIdsAndPhysicalNames) {
  CreateMapped();
  Snapshot snapshot = Latest();
  EXPECT_EQ(snapshot.column_mapping_mode(), "name");
  const auto& reader = *snapshot.protocol().reader_features;
  const auto& writer = *snapshot.protocol().writer_features;
  EXPECT_NE(std::find(reader.begin(), reader.end(), "columnMapping"), reader.end());
  EXPECT_NE(std::find(writer.begin(), writer.end(), "columnMapping"), writer.end());
  // Five columns and the struct field inside pt.
  EXPECT_EQ(snapshot.Configuration("delta.columnMapping.maxColumnId"), "6");
  std::set<int64_t> ids;
  std::set<std::string> physical;
  for (const auto& field : snapshot.schema().fields) {
    ASSERT_TRUE(field.field_id && field.physical_name) << field.name;
    ids.insert(*field.field_id);
    physical.insert(*field.physical_name);
    EXPECT_EQ(field.physical_name->rfind("col-", 0), 0U) << *field.physical_name;
  }
  EXPECT_EQ(ids.size(), 5U);
  EXPECT_EQ(physical.size(), 5U);
  // Other field metadata stays.
  EXPECT_NE(snapshot.schema().Find("n")->metadata_json.find("freshet.sourceType"),
            std::string::npos);
}

TEST_F(SchemaChangeTest, MappedFilesUsePhysicalNamesFieldIdsAndPhysicalStats) {
  CreateMapped();
  Append(Rows(0, 10));
  Snapshot snapshot = Latest();
  ASSERT_EQ(snapshot.files().size(), 1U);
  const AddFile& add = snapshot.files()[0];
  auto path = ResolveDataPath(table_, add.path);
  ASSERT_TRUE(path.ok());
  const StructField& id = *snapshot.schema().Find("id");
  const StructField& pt = *snapshot.schema().Find("pt");
  auto schema = TextRows(fmt::format(
      "SELECT name, field_id FROM parquet_schema({}) WHERE field_id IS NOT NULL ORDER BY field_id",
      QuoteLiteral(*path)));
  ASSERT_EQ(schema.size(), 6U);
  EXPECT_EQ(schema[0], fmt::format("{}|{}", *id.physical_name, *id.field_id));
  const StructField& x = pt.type.fields[0];
  EXPECT_NE(
      std::find(schema.begin(), schema.end(), fmt::format("{}|{}", *x.physical_name, *x.field_id)),
      schema.end());
  for (const auto& row : schema) EXPECT_EQ(row.find("|id|"), std::string::npos);
  Json stats = Json::parse(*add.stats);
  EXPECT_EQ(stats["minValues"][*id.physical_name], 0);
  EXPECT_EQ(stats["maxValues"][*id.physical_name], 9);
  EXPECT_EQ(stats["minValues"][*pt.physical_name][*x.physical_name], 0);
  EXPECT_FALSE(stats["minValues"].contains("id"));
  EXPECT_EQ(Read(), TextRows(fmt::format("SELECT * FROM ({}) ORDER BY 1", Rows(0, 10))));
}

TEST_F(SchemaChangeTest, RenameAndDropKeepOldDataUnderNewNames) {
  CreateMapped();
  Append(Rows(0, 5));
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.RenameColumn("s", "label"); }).ok());
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.DropColumn("n"); }).ok());
  EXPECT_EQ(ColumnNames(), (std::vector<std::string>{"id", "label", "pt", "tag"}));
  Append(
      "SELECT i AS id, 'new' || i AS label, {'x': 1::SMALLINT} AS pt, 'x' AS tag "
      "FROM range(5, 7) t(i)");
  auto rows = Read("id, label");
  ASSERT_EQ(rows.size(), 7U);
  EXPECT_EQ(rows[0], "0|s0");
  EXPECT_EQ(rows[4], "4|s4");
  EXPECT_EQ(rows[6], "6|new6");
  // A column added again under the dropped name is a new column: old files read NULL for it,
  // not the dropped values still in them.
  ASSERT_TRUE(Change([](SchemaChange& c) {
                return c.AddColumn(
                    {.name = "n", .type = DataType::Primitive(DataType::Kind::kInteger)});
              }).ok());
  Snapshot snapshot = Latest();
  EXPECT_EQ(snapshot.Configuration("delta.columnMapping.maxColumnId"), "7");
  EXPECT_EQ(snapshot.schema().Find("n")->field_id, 7);
  Append("SELECT 7 AS id, 'seven' AS label, NULL AS pt, 'x' AS tag, 70 AS n");
  EXPECT_EQ(Read("id, n"), (std::vector<std::string>{"0|NULL", "1|NULL", "2|NULL", "3|NULL",
                                                     "4|NULL", "5|NULL", "6|NULL", "7|70"}));
}

// A timestamp_ntz column added to a table without one brings the timestampNtz feature, which
// readers need to read it.
TEST_F(SchemaChangeTest, AddingATimestampNtzColumnAddsItsFeature) {
  CreateMapped();
  ASSERT_FALSE(Latest().protocol().reader_features->empty());
  auto has_ntz = [](const std::optional<std::vector<std::string>>& features) {
    return std::find(features->begin(), features->end(), "timestampNtz") != features->end();
  };
  ASSERT_FALSE(has_ntz(Latest().protocol().reader_features));
  ASSERT_TRUE(Change([](SchemaChange& c) {
                return c.AddColumn(
                    {.name = "at", .type = DataType::Primitive(DataType::Kind::kTimestampNtz)});
              }).ok());
  EXPECT_TRUE(has_ntz(Latest().protocol().reader_features));
  EXPECT_TRUE(has_ntz(Latest().protocol().writer_features));
}

TEST_F(SchemaChangeTest, RenameOrDropWithoutColumnMappingIsRefused) {
  ASSERT_TRUE(CreateTable(fs_, table_, {.schema = MappedSchema()}).ok());
  Status renamed = Change([](SchemaChange& c) { return c.RenameColumn("s", "label"); });
  EXPECT_TRUE(renamed.Is(Code::kNotSupported)) << renamed;
  EXPECT_NE(renamed.message().find("column mapping"), std::string::npos) << renamed;
  EXPECT_TRUE(Change([](SchemaChange& c) { return c.DropColumn("s"); }).Is(Code::kNotSupported));
  EXPECT_TRUE(Change([](SchemaChange& c) { return c.DropColumn("nope"); }).Is(Code::kNotFound));
}

TEST_F(SchemaChangeTest, EnablingColumnMappingKeepsExistingFilesReadable) {
  ASSERT_TRUE(CreateTable(fs_, table_, {.schema = MappedSchema()}).ok());
  Append(Rows(0, 4));
  ASSERT_TRUE(Change([](SchemaChange& c) {
                FRESHET_RETURN_IF_ERROR(c.EnableColumnMapping());
                return c.RenameColumn("s", "label");
              }).ok());
  Snapshot snapshot = Latest();
  EXPECT_EQ(snapshot.column_mapping_mode(), "name");
  EXPECT_EQ(snapshot.schema().Find("label")->physical_name, "s");
  Append("SELECT 9 AS id, 'nine' AS label, NULL AS pt, 'x' AS tag, 90 AS n");
  EXPECT_EQ(Read("id, label, n"),
            (std::vector<std::string>{"0|s0|0", "1|s1|10", "2|s2|20", "3|s3|30", "9|nine|90"}));
}

TEST_F(SchemaChangeTest, PartitionValuesAreKeyedByPhysicalName) {
  CreateMapped({"tag"});
  Append(Rows(0, 6));
  Snapshot snapshot = Latest();
  const std::string& physical = *snapshot.schema().Find("tag")->physical_name;
  ASSERT_EQ(snapshot.files().size(), 2U);
  for (const AddFile& add : snapshot.files()) {
    EXPECT_EQ(add.partition_values.count(physical), 1U);
    EXPECT_EQ(add.path.find("tag="), std::string::npos) << add.path;
  }
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.RenameColumn("tag", "parity"); }).ok());
  EXPECT_EQ(Latest().metadata().partition_columns, std::vector<std::string>{"parity"});
  EXPECT_TRUE(
      Change([](SchemaChange& c) { return c.DropColumn("parity"); }).Is(Code::kNotSupported));
  EXPECT_EQ(Read("id, parity"),
            (std::vector<std::string>{"0|even", "1|odd", "2|even", "3|odd", "4|even", "5|odd"}));
}

// ReadFileRows (one read_parquet per group of alike files, joined with the wanted positions)
// gives the same rows as reading each file alone, across partitions, renamed, dropped and added
// columns; a second read takes the files' Parquet schemas from the cache.
TEST_F(SchemaChangeTest, ReadFileRowsMatchesReadingEachFileAlone) {
  CreateMapped({"tag"});
  Append(Rows(0, 10));
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.RenameColumn("s", "label"); }).ok());
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.DropColumn("n"); }).ok());
  ASSERT_TRUE(Change([](SchemaChange& c) {
                return c.AddColumn(
                    {.name = "extra", .type = DataType::Primitive(DataType::Kind::kString)});
              }).ok());
  Append(
      "SELECT i AS id, 'new' || i AS label, NULL AS pt, CASE WHEN i % 2 = 0 THEN 'even' ELSE "
      "'odd' END AS tag, 'x' || i AS extra FROM range(10, 20) t(i)");
  Snapshot snapshot = Latest();
  ASSERT_EQ(snapshot.files().size(), 4U);
  std::vector<FileRows> wanted;
  std::vector<ScanFile> alone;
  for (size_t file_idx = 0; file_idx < snapshot.files().size(); ++file_idx) {
    const AddFile& add = snapshot.files()[file_idx];
    std::vector<uint64_t> rows = {0, 2, 4};
    if (file_idx == 1) rows = {1};
    wanted.push_back(FileRows{.path = add.path,
                              .partition_values = add.partition_values,
                              .rows = rows,
                              .tag = static_cast<int64_t>(file_idx) + 100});
    alone.push_back(ScanFile{.path = add.path,
                             .partition_values = add.partition_values,
                             .rows_mode = ScanFile::Rows::kOnly,
                             .rows = rows,
                             .extra_columns = fmt::format(", {} AS tag_, file_row_number",
                                                          static_cast<int64_t>(file_idx) + 100)});
  }
  auto reference_sql = ScanFilesSql(fs_, *connection_, snapshot, alone);
  ASSERT_TRUE(reference_sql.ok()) << reference_sql.status();
  std::vector<std::string> expected = TextRows("SELECT * FROM (" + *reference_sql + ") ORDER BY 1");
  ASSERT_EQ(expected.size(), 10U);
  ParquetSchemaCache cache;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto result = ReadFileRows(*connection_, snapshot, wanted, &cache);
    ASSERT_TRUE(result.ok()) << result.status();
    std::vector<std::string> got = TextRows(*result);
    std::sort(got.begin(), got.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
    EXPECT_EQ(got, expected) << "attempt " << attempt;
    EXPECT_EQ(cache.size(), 4U);
  }
  // A file that is not there is an error naming it, not an empty read.
  std::vector<FileRows> missing = {
      FileRows{.path = "part-missing.parquet", .partition_values = {}, .rows = {0}, .tag = 1}};
  auto failed = ReadFileRows(*connection_, snapshot, missing, nullptr);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().ToString().find("part-missing.parquet"), std::string::npos)
      << failed.status();
}

TEST_F(SchemaChangeTest, OptimizeRewritesMappedTables) {
  CreateMapped();
  for (int i = 0; i < 4; ++i) Append(Rows(i * 5, i * 5 + 5));
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.RenameColumn("s", "label"); }).ok());
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->DeleteRows(txn->read_snapshot().files()[0].path, {0, 1}).ok());
    ASSERT_TRUE(txn->Commit("DELETE").ok());
  }
  auto before = Read("id, label, n, pt");
  ASSERT_EQ(before.size(), 18U);
  auto optimized = Optimize(fs_, *connection_, table_, {});
  ASSERT_TRUE(optimized.ok()) << optimized.status();
  EXPECT_EQ(optimized->files_added, 1);
  EXPECT_EQ(optimized->files_removed, 4);
  EXPECT_EQ(Read("id, label, n, pt"), before);
  auto path = ResolveDataPath(table_, Latest().files()[0].path);
  auto names = TextRows(
      fmt::format("SELECT name FROM parquet_schema({}) WHERE name = 's'", QuoteLiteral(*path)));
  EXPECT_TRUE(names.empty());
}

TEST_F(SchemaChangeTest, IntegerColumnsWidenInPlace) {
  CreateMapped();
  Append(Rows(0, 3));
  ASSERT_TRUE(Change([](SchemaChange& c) {
                return c.WidenColumn("n", DataType::Primitive(DataType::Kind::kLong));
              }).ok());
  Snapshot snapshot = Latest();
  const StructField& n = *snapshot.schema().Find("n");
  EXPECT_EQ(n.type.kind, DataType::Kind::kLong);
  Json metadata = Json::parse(n.metadata_json);
  EXPECT_EQ(metadata["delta.typeChanges"],
            Json::parse(R"([{"fromType":"integer","toType":"long"}])"));
  EXPECT_EQ(metadata["freshet.sourceType"], "integer");
  const auto& reader = *snapshot.protocol().reader_features;
  EXPECT_NE(std::find(reader.begin(), reader.end(), "typeWidening"), reader.end());
  EXPECT_EQ(snapshot.Configuration("delta.enableTypeWidening"), "true");
  Append("SELECT 3 AS id, 'big' AS s, 10000000000 AS n, NULL AS pt, 'x' AS tag");
  EXPECT_EQ(Read("id, n, typeof(n)"),
            (std::vector<std::string>{"0|0|BIGINT", "1|10|BIGINT", "2|20|BIGINT",
                                      "3|10000000000|BIGINT"}));
  // The change feed over versions before and after the widening reads both kinds of file.
  auto feed = ChangeFeedSql(fs_, *connection_, table_, 1, std::nullopt);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(TextRows(fmt::format("SELECT id, n, _change_type FROM ({}) ORDER BY 1", *feed)),
            (std::vector<std::string>{"0|0|insert", "1|10|insert", "2|20|insert",
                                      "3|10000000000|insert"}));
  // Narrowing or retyping is refused.
  Status narrowed = Change([](SchemaChange& c) {
    return c.WidenColumn("n", DataType::Primitive(DataType::Kind::kShort));
  });
  EXPECT_TRUE(narrowed.Is(Code::kNotSupported)) << narrowed;
  EXPECT_TRUE(Change([](SchemaChange& c) {
                return c.WidenColumn("s", DataType::Primitive(DataType::Kind::kLong));
              }).Is(Code::kNotSupported));
}

TEST(TypeWidening, FollowsTheDeltaRules) {
  using Kind = DataType::Kind;
  auto primitive = [](Kind kind) { return DataType::Primitive(kind); };
  EXPECT_TRUE(IsSupportedWidening(primitive(Kind::kShort), primitive(Kind::kLong)));
  EXPECT_TRUE(IsSupportedWidening(primitive(Kind::kFloat), primitive(Kind::kDouble)));
  EXPECT_TRUE(IsSupportedWidening(primitive(Kind::kDate), primitive(Kind::kTimestampNtz)));
  EXPECT_TRUE(IsSupportedWidening(DataType::Decimal(10, 2), DataType::Decimal(12, 4)));
  EXPECT_TRUE(IsSupportedWidening(DataType::Decimal(10, 2), DataType::Decimal(11, 2)));
  EXPECT_FALSE(IsSupportedWidening(DataType::Decimal(10, 2), DataType::Decimal(10, 2)));
  EXPECT_FALSE(IsSupportedWidening(DataType::Decimal(10, 2), DataType::Decimal(11, 4)))
      << "fewer integer digits";
  EXPECT_FALSE(IsSupportedWidening(DataType::Decimal(10, 4), DataType::Decimal(12, 2)))
      << "fewer fraction digits";
  EXPECT_FALSE(IsSupportedWidening(primitive(Kind::kDouble), primitive(Kind::kFloat)));
  EXPECT_FALSE(IsSupportedWidening(primitive(Kind::kDate), primitive(Kind::kTimestamp)));
  EXPECT_FALSE(IsSupportedWidening(primitive(Kind::kLong), primitive(Kind::kInteger)));
}

TEST_F(SchemaChangeTest, AppendsToSparkColumnMappedTable) {
  std::string source = std::string(FRESHET_DELTA_CONFORMANCE_DIR) +
                       "/data-reader-primitives-column-mapping-name/table";
  std::filesystem::copy(source, table_, std::filesystem::copy_options::recursive);
  auto before = Read("as_int, as_long, as_string");
  ASSERT_EQ(before.size(), 11U);
  Append(
      "SELECT 100 AS as_int, 1000 AS as_long, 1 AS as_byte, 2 AS as_short, true AS as_boolean, "
      "1.5 AS as_float, 2.5 AS as_double, 'freshet' AS as_string, 'b'::BLOB AS as_binary, "
      "3 AS as_big_decimal");
  ASSERT_TRUE(Change([](SchemaChange& c) { return c.RenameColumn("as_string", "text"); }).ok());
  auto after = Read("as_int, as_long, text");
  auto ours = std::find(after.begin(), after.end(), "100|1000|freshet");
  ASSERT_NE(ours, after.end());
  after.erase(ours);
  // Spark's rows read the same under the new name.
  EXPECT_EQ(after, before);
}

// Struct fields inside lists and maps are written under their physical names too.
TEST_F(SchemaChangeTest, NestedStructsInListsAndMapsRoundTrip) {
  Schema schema = ParseOrDie(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"items","type":{"type":"array","elementType":{"type":"struct","fields":[
      {"name":"k","type":"string","nullable":true,"metadata":{}}]},"containsNull":true},
     "nullable":true,"metadata":{}},
    {"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"struct","fields":[
      {"name":"v","type":"integer","nullable":true,"metadata":{}}]},"valueContainsNull":true},
     "nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(
      CreateTable(fs_, table_,
                  {.schema = schema, .configuration = {{"delta.columnMapping.mode", "name"}}})
          .ok());
  std::string rows =
      "SELECT i AS id, CASE WHEN i = 1 THEN NULL ELSE [{'k': 'a' || i}, NULL] END AS items, "
      "CASE WHEN i = 2 THEN NULL ELSE MAP {'x': {'v': i::INT}} END AS m FROM range(0, 3) t(i)";
  Append(rows);
  EXPECT_EQ(Read(), TextRows(fmt::format("SELECT * FROM ({}) ORDER BY 1", rows)));
  Snapshot snapshot = Latest();
  auto path = ResolveDataPath(table_, snapshot.files()[0].path);
  const std::string& k = *snapshot.schema().Find("items")->type.children[0].fields[0].physical_name;
  EXPECT_EQ(TextRows(fmt::format("SELECT name FROM parquet_schema({}) WHERE name = {}",
                                 QuoteLiteral(*path), QuoteLiteral(k))),
            std::vector<std::string>{k});
}

TEST_F(SchemaChangeTest, IdModeTablesAreRefusedForWriting) {
  std::string source =
      std::string(FRESHET_DELTA_CONFORMANCE_DIR) + "/data-reader-timestamp_ntz-id-mode/table";
  std::filesystem::copy(source, table_, std::filesystem::copy_options::recursive);
  auto txn = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_FALSE(txn.ok());
  EXPECT_TRUE(txn.status().Is(Code::kNotSupported)) << txn.status();
  EXPECT_NE(txn.status().message().find("mode 'id'"), std::string::npos) << txn.status();
}

}  // namespace
}  // namespace freshet::lake
