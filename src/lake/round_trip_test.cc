// Random schemas through the writer and back: every type freshet maps, with NULLs, then
// deletion vectors on more than half of the rows. Seeds are fixed, so a failure repeats.

#include <random>

#include <gtest/gtest.h>

#include "lake/scan.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

struct Column {
  std::string delta_type;  // as in a schemaString ("long", or a JSON object for nested)
  std::string expression;  // DuckDB SQL over row number i
};

// A column of a random type; `k` makes each column's values differ.
Column RandomColumn(std::mt19937& rng, int k) {
  std::string h = fmt::format("hash(i, {})", k);
  std::string null_when = fmt::format("{} % 5 = 0", h);
  auto nullable = [&](const std::string& value) {
    return fmt::format("CASE WHEN {} THEN NULL ELSE {} END", null_when, value);
  };
  switch (rng() % 16) {
    case 0:
      return {"\"boolean\"", nullable(h + " % 2 = 0")};
    case 1:
      return {"\"byte\"", nullable(fmt::format("(({} % 256)::INTEGER - 128)::TINYINT", h))};
    case 2:
      return {"\"short\"", nullable(fmt::format("(({} % 65536)::INTEGER - 32768)::SMALLINT", h))};
    case 3:
      return {"\"integer\"",
              nullable(fmt::format("(({} % 4294967296)::BIGINT - 2147483648)::INTEGER", h))};
    case 4:
      return {"\"long\"", nullable(fmt::format("({} >> 1)::BIGINT * (1 - 2 * (i % 2))", h))};
    case 5:
      return {"\"float\"", nullable(fmt::format("(({} % 100000)::DOUBLE / 7)::FLOAT", h))};
    case 6:
      return {"\"double\"", nullable(fmt::format("({} % 1000000007)::DOUBLE / 13 - 500", h))};
    case 7: {
      int precision = 1 + static_cast<int>(rng() % 38);
      int scale = static_cast<int>(rng() % (precision + 1));
      int whole = std::min(precision - scale, 18);
      int fraction = std::min(scale, 18);
      std::string text = fmt::format(
          "{}{}",
          whole > 0 ? fmt::format("({} % {}::UBIGINT)::VARCHAR", h,
                                  whole == 18 ? "1000000000000000000"
                                              : fmt::format("1{}", std::string(whole, '0')))
                    : "'0'",
          fraction > 0
              ? fmt::format(" || '.' || lpad((({} >> 3) % 1{}::UBIGINT)::VARCHAR, {}, '0')", h,
                            std::string(fraction, '0'), fraction)
              : "");
      return {fmt::format("\"decimal({},{})\"", precision, scale),
              nullable(fmt::format("CASE WHEN i % 2 = 0 THEN -1 ELSE 1 END * CAST({} AS "
                                   "DECIMAL({},{}))",
                                   text, precision, scale))};
    }
    case 8:
      return {"\"string\"", nullable(fmt::format("'s' || {} || ' ünï \"q\" ' || repeat('x', "
                                                 "({} % 40)::INTEGER)",
                                                 h, h))};
    case 9:
      return {"\"binary\"", nullable(fmt::format("encode('b' || {})", h))};
    case 10:
      return {"\"date\"", nullable(fmt::format("DATE '1900-01-01' + ({} % 80000)::INTEGER", h))};
    case 11:
      return {"\"timestamp\"",
              nullable(fmt::format("TIMESTAMPTZ '1960-01-01 00:00:00+00' + "
                                   "to_microseconds(({} % 3000000000000000)::BIGINT)",
                                   h))};
    case 12:
      return {"\"timestamp_ntz\"",
              nullable(fmt::format("TIMESTAMP '2000-01-01' + to_microseconds(({} % "
                                   "900000000000000)::BIGINT)",
                                   h))};
    case 13:
      return {R"({"type":"array","elementType":"integer","containsNull":true})",
              nullable(fmt::format("[({} % 100)::INTEGER, NULL, i::INTEGER]", h))};
    case 14:
      return {R"({"type":"struct","fields":[{"name":"a","type":"long","nullable":true,)"
              R"("metadata":{}},{"name":"b","type":"string","nullable":true,"metadata":{}}]})",
              nullable(fmt::format("{{'a': i, 'b': CASE WHEN i % 3 = 0 THEN NULL ELSE "
                                   "'v' || {} END}}",
                                   h))};
    default:
      return {R"({"type":"map","keyType":"string","valueType":"long","valueContainsNull":true})",
              nullable(fmt::format("MAP {{'k' || (i % 3): i, 'z': NULL}}"))};
  }
}

class RoundTrip : public ::testing::TestWithParam<int> {};

TEST_P(RoundTrip, RandomSchemaReadsBackEqualAfterDeletes) {
  std::mt19937 rng(static_cast<unsigned>(GetParam()));
  int columns = 3 + static_cast<int>(rng() % 8);
  std::string fields;
  std::string select = "SELECT i AS c0";
  for (int k = 1; k <= columns; ++k) {
    Column column = RandomColumn(rng, k * 1000 + GetParam());
    fields += fmt::format(R"(,{{"name":"c{}","type":{},"nullable":true,"metadata":{{}}}})", k,
                          column.delta_type);
    select += fmt::format(", {} AS c{}", column.expression, k);
  }
  auto schema = ParseSchema(
      R"({"type":"struct","fields":[{"name":"c0","type":"long","nullable":false,"metadata":{}})" +
      fields + "]}");
  ASSERT_TRUE(schema.ok()) << schema.status();

  testing::ScratchDir dir;
  LocalFileSystem fs;
  auto db = engine::Database::Open("");
  auto connection = db->Connect();
  ASSERT_TRUE(connection->Execute("SET TimeZone = 'UTC'").ok());
  std::string table = dir / "t";
  ASSERT_TRUE(CreateTable(fs, table, {*schema}).ok());
  for (int batch = 0; batch < 3; ++batch) {
    auto txn = Transaction::Begin(fs, *connection, table);
    ASSERT_TRUE(txn.ok());
    // Batch 1 is empty: empty files must read back too.
    int rows = batch == 1 ? 0 : 300;
    auto added = txn->Append(
        select + fmt::format(" FROM range({}, {}) t(i)", batch * 300, batch * 300 + rows));
    ASSERT_TRUE(added.ok()) << added.status() << "\n" << select;
    ASSERT_TRUE(txn->Commit().ok());
  }
  std::string source =
      select + " FROM range(0, 300) t(i) UNION ALL " + select + " FROM range(600, 900) t(i)";
  auto check = [&](const std::string& expected) {
    auto snapshot = Snapshot::Load(fs, *connection, table);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    auto sql = ScanSql(fs, *connection, *snapshot);
    ASSERT_TRUE(sql.ok()) << sql.status();
    auto diff = connection->Query(
        fmt::format("SELECT (SELECT count(*) FROM (({0}) EXCEPT ALL ({1}))) + "
                    "(SELECT count(*) FROM (({1}) EXCEPT ALL ({0}))), (SELECT count(*) FROM ({0}))",
                    *sql, expected));
    ASSERT_TRUE(diff.ok()) << diff.status();
    EXPECT_EQ(diff->rows[0][0].integer(), 0) << "seed " << GetParam() << ": " << select;
  };
  check(source);

  // Delete the rows at odd positions and every fourth: 5/8 of each file.
  auto del = Transaction::Begin(fs, *connection, table);
  for (const AddFile& add : del->read_snapshot().files()) {
    std::vector<uint64_t> rows;
    for (uint64_t row = 0; row < static_cast<uint64_t>(*add.NumRecords()); ++row) {
      if (row % 2 == 1 || row % 4 == 0) rows.push_back(row);
    }
    if (!rows.empty()) {
      ASSERT_TRUE(del->DeleteRows(add.path, rows).ok());
    }
  }
  ASSERT_TRUE(del->Commit("DELETE").ok());
  check("SELECT * FROM (" + source + ") WHERE c0 % 300 % 4 = 2");
}

INSTANTIATE_TEST_SUITE_P(Seeds, RoundTrip, ::testing::Range(1, 13));

}  // namespace
}  // namespace freshet::lake
