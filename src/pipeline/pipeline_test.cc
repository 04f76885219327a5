#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "lake/change_feed.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"
#include "lake/table_writer.h"
#include "pipeline/convert.h"
#include "pipeline/lake_compare_test_util.h"
#include "pipeline/resnapshot.h"
#include "postgres_test.h"

namespace freshet::pipeline {
namespace {

using namespace std::chrono_literals;

TEST(ParseDecimalTextTest, ScalesRoundsAndRefusesNonNumbers) {
  EXPECT_EQ(*ParseDecimalText("-12.34", 4), -123400);
  EXPECT_EQ(*ParseDecimalText("0.0001", 4), 1);
  EXPECT_EQ(*ParseDecimalText("7", 2), 700);
  EXPECT_EQ(*ParseDecimalText("1.235", 2), 124);
  EXPECT_FALSE(ParseDecimalText("NaN", 2).ok());
  EXPECT_FALSE(ParseDecimalText("", 2).ok());
  EXPECT_FALSE(ParseDecimalText("1.2.3", 2).ok());
}

// Runs a pipeline on a thread until Stop().
class RunningPipeline {
 public:
  RunningPipeline(PipelineConfig config) : pipeline_(std::move(config), {}) {
    thread_ = std::thread([this] { status_ = pipeline_.Run([this] { return stop_.load(); }); });
  }
  ~RunningPipeline() { (void)Stop(); }
  Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  bool failed() const { return pipeline_.state() == PipelineState::kFailed; }

 private:
  Pipeline pipeline_;
  std::atomic<bool> stop_{false};
  Status status_;
  std::thread thread_;
};

// The rows only one side has, each cut to a readable length.
std::string Difference(const std::vector<std::string>& source,
                       const std::vector<std::string>& lake) {
  std::string out;
  auto cut = [](const std::string& row) { return row.size() > 600 ? row.substr(0, 600) : row; };
  for (const std::string& row : source) {
    if (!std::binary_search(lake.begin(), lake.end(), row))
      out += "source only: " + cut(row) + "\n";
  }
  for (const std::string& row : lake) {
    if (!std::binary_search(source.begin(), source.end(), row))
      out += "lake only:   " + cut(row) + "\n";
  }
  return out;
}

class PipelineTest : public freshet::testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    root_ = (std::filesystem::temp_directory_path() /
             fmt::format("freshet-pipeline-test-{}-{}", getpid(), counter_++))
                .string();
    std::filesystem::remove_all(root_);
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    PostgresTest::TearDown();
  }

  PipelineConfig Config() {
    PipelineConfig config;
    config.name = "t";
    config.source.dsn = dsn();
    config.source.slot = "freshet_t";
    config.source.publication = "freshet_t";
    config.lake.root = root_;
    config.flush.max_latency = 200ms;
    return config;
  }

  // Waits until the lake table equals the source table, rows and column names; returns the last
  // difference.
  ::testing::AssertionResult Converges(const std::string& schema, const std::string& table,
                                       RunningPipeline& running,
                                       std::chrono::seconds timeout = 20s) {
    pg::Connection sql = Connect();
    lake::LocalFileSystem fs;
    auto database = engine::Database::Open("");
    auto connection = database->Connect();
    std::string qualified = fmt::format("\"{}\".\"{}\"", schema, table);  // as SQL quotes it
    std::string path = TablePath(root_, schema, table);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline && !running.failed()) {
      auto columns = compare::SourceColumns(sql, qualified);
      auto source = compare::PostgresRows(sql, qualified);
      if (!columns.ok() || !source.ok()) {
        return ::testing::AssertionFailure() << "source: " << source.status();
      }
      auto lake_columns = compare::LakeColumns(fs, *connection, path);
      auto lake_rows = compare::LakeRows(fs, *connection, path, *columns);
      bool same_columns = lake_columns.ok() && *lake_columns == *columns;
      if (same_columns && lake_rows.ok() && *lake_rows == *source) {
        return ::testing::AssertionSuccess();
      }
      last = lake_rows.ok() ? Difference(*source, *lake_rows) : lake_rows.status().ToString();
      if (lake_columns.ok() && !same_columns) {
        last += fmt::format("lake columns: {}; source columns: {}\n",
                            fmt::join(*lake_columns, ", "), fmt::join(*columns, ", "));
      }
      std::this_thread::sleep_for(200ms);
    }
    return ::testing::AssertionFailure() << "not equal:\n" << last;
  }

  std::string root_;
  static inline int counter_ = 0;
};

constexpr std::string_view kEdgeTable = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE TYPE pair AS (n int4, label text);
CREATE TABLE edge (
  id int PRIMARY KEY, c_bool bool, c_int2 int2, c_int4 int4, c_int8 int8, c_float4 float4,
  c_float8 float8, c_numeric numeric, c_numeric_typmod numeric(12, 4), c_text text,
  c_varchar varchar(20), c_char char(5), c_name name, c_bytea bytea, c_date date, c_time time,
  c_timetz timetz, c_ts timestamp, c_tstz timestamptz, c_interval interval, c_uuid uuid,
  c_json json, c_jsonb jsonb, c_inet inet, c_cidr cidr, c_macaddr macaddr, c_money money,
  c_enum mood, c_domain posint, c_int_array int[], c_text_array text[], c_composite pair,
  c_tstz_array timestamptz[], c_numeric_array numeric[], c_enum_array mood[]);
INSERT INTO edge (id) VALUES (1);
INSERT INTO edge VALUES (2, false, -32768, -2147483648, -9223372036854775808, 'NaN',
  '-Infinity', 'NaN', -99999999.9999, '', '', '', '', '\x', '0001-01-01', '00:00:00',
  '00:00:00+14', '0001-01-01 00:00:00', '1900-01-01 00:00:00+00', '-178000000 years',
  '00000000-0000-0000-0000-000000000000', '{}', '[]', '0.0.0.0', '::/0', '00:00:00:00:00:00',
  '-92233720368547758.08', 'sad', 1, '{}', '{}', '(,)', '{}', '{NaN}', '{}');
INSERT INTO edge VALUES (3, true, 32767, 2147483647, 9223372036854775807, '3.4028235e38',
  '1.7976931348623157e308', 'Infinity', 99999999.9999, E'h\u00e9llo w\u00f6rld \U0001F389 "q" \\b',
  E'\u00f1and\u00fa', 'ab', 'some_name', '\x00ff10', '9999-12-31', '24:00:00',
  '23:59:59.999999-12', '9999-12-31 23:59:59.999999', '2262-01-01 00:00:00+00',
  '178000000 years 11 mons 30 days 23:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{"a": [1, 2.5, null], "b": "\u00fc"}', '{"b": 1, "a": [true, null]}', '2001:db8::1/64',
  '10.0.0.0/8', 'ff:ff:ff:ff:ff:ff', '92233720368547758.07', 'happy', 2147483647,
  '{{1,2},{NULL,4}}', E'{"a b",NULL,"","NULL","x\\"y",\u00e9}', '(1,"a b")',
  '{infinity,"2024-02-29 12:00:00+00"}', '{1.50,-0.001}', '{happy,NULL}');
INSERT INTO edge VALUES (4, true, 0, -1, 1, '1.5e-7', '1e-300',
  '12345678901234567890.123456789', '0.0001', 'x', 'y', 'z', 'n', '\xdeadbeef', '0044-03-15 BC',
  '13:14:15.5', '12:00:00+05:30', '2024-02-29 13:14:15.5', '1999-12-31 23:59:59.123456+05',
  '-1 days +02:03:04', '123e4567-e89b-12d3-a456-426614174000', '"text"', '"text"',
  '192.168.1.7', '192.168.0.0/16', '08:00:2b:01:02:03', '1234.5', 'ok', 42, '[0:1]={5,6}',
  '{{a,b},{c,d}}', '(-7,)', '{"0044-03-15 12:00:00+00 BC"}', '{-0.5}', '{ok}');
INSERT INTO edge (id, c_text, c_float8, c_float4) VALUES (5, repeat(E'\u00fc', 500000),
  123456789012345680, 1e6);
)sql";

// Every type of docs/types.md, snapshotted and then streamed (inserts, updates that leave
// TOAST unchanged, deletes): the lake table reads back as SELECT shows the source.
TEST_F(PipelineTest, EveryTypeReadsBackAsPostgresShowsIt) {
  Sql(kEdgeTable);
  Sql("CREATE TABLE empty_table (id int PRIMARY KEY)");
  PipelineConfig config = Config();
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "edge", running));
    Sql("INSERT INTO edge SELECT id + 10, c_bool, c_int2, c_int4, c_int8, c_float4, c_float8, "
        "c_numeric, c_numeric_typmod, c_text, c_varchar, c_char, c_name, c_bytea, c_date, "
        "c_time, c_timetz, c_ts, c_tstz, c_interval, c_uuid, c_json, c_jsonb, c_inet, c_cidr, "
        "c_macaddr, c_money, c_enum, c_domain, c_int_array, c_text_array, c_composite, "
        "c_tstz_array, c_numeric_array, c_enum_array FROM edge");
    Sql("UPDATE edge SET c_int4 = 7 WHERE id IN (5, 15)");  // c_text stays TOASTed
    Sql("UPDATE edge SET id = 40 WHERE id = 4");            // the key changes
    Sql("DELETE FROM edge WHERE id = 13");
    ASSERT_TRUE(Converges("public", "edge", running));
    ASSERT_TRUE(running.Stop().ok());
  }
  // Contract properties of the table.
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  auto snapshot = lake::Snapshot::Load(fs, *connection, TablePath(root_, "public", "edge"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->Configuration("delta.enableChangeDataFeed"), "true");
  EXPECT_EQ(snapshot->Configuration("freshet.primaryKey"), R"(["id"])");
  EXPECT_EQ(snapshot->Configuration("freshet.mode"), "upsert");
  EXPECT_EQ(snapshot->Configuration("freshet.source"), "public.edge");
  EXPECT_NE(snapshot->schema().Find("c_numeric_typmod")->metadata_json.find("numeric(12,4)"),
            std::string::npos);
  EXPECT_EQ(snapshot->schema().Find("c_numeric_typmod")->type.DeltaName(), "decimal(12,4)");
  auto version = snapshot->AppVersion("freshet-t");
  ASSERT_TRUE(version.has_value());
  EXPECT_GT(*version, 0);
  // The watermark log names the table.
  auto watermarks = fs.List(WatermarkFolder(root_));
  ASSERT_TRUE(watermarks.ok()) << watermarks.status();
  ASSERT_FALSE(watermarks->empty());
  auto text = fs.Get(watermarks->back().path);
  ASSERT_TRUE(text.ok());
  auto json = nlohmann::json::parse(*text);
  EXPECT_EQ(json["pipeline"], "t");
  EXPECT_EQ(json["tables"]["public.edge"], snapshot->version());
  // A table the snapshot found empty exists in the lake from the start.
  EXPECT_EQ(json["tables"]["public.empty_table"], 0) << json.dump();
}

// A restart resumes from the lake's committed LSN: no new snapshot, nothing twice; added
// columns evolve the table; a truncate empties it.
TEST_F(PipelineTest, RestartResumesAndSchemaEvolves) {
  Sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM "
      "generate_series(1, 100) g");
  PipelineConfig config = Config();
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "t", running));
  }
  Sql("CREATE TABLE other (id int PRIMARY KEY)");
  Sql("INSERT INTO t VALUES (101, 'x'); UPDATE t SET v = 'y' WHERE id = 1");
  Sql("ALTER TABLE t ADD COLUMN extra numeric(8,2); UPDATE t SET extra = 1.5 WHERE id < 10");
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "t", running));
    Sql("TRUNCATE t; INSERT INTO t VALUES (7, 'after', 2)");
    ASSERT_TRUE(Converges("public", "t", running));
    ASSERT_TRUE(running.Stop().ok());
  }
  // The stop told PostgreSQL the last position: the slot is past the lake's last transaction.
  lake::LocalFileSystem lake_fs;
  auto engine = engine::Database::Open("");
  auto engine_connection = engine->Connect();
  auto last = lake::Snapshot::Load(lake_fs, *engine_connection, TablePath(root_, "public", "t"));
  ASSERT_TRUE(last.ok());
  auto slot = Connect().Query(
      "SELECT confirmed_flush_lsn - $1::pg_lsn > 0 FROM pg_replication_slots WHERE slot_name = "
      "'freshet_t'",
      {Lsn(static_cast<uint64_t>(*last->AppVersion("freshet-t"))).ToString()});
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(slot->Get(0, 0).value_or(""), "t");
  // No second snapshot: the snapshot state says done.
  lake::LocalFileSystem fs;
  auto state = fs.Get(SnapshotStatePath(root_, "t"));
  ASSERT_TRUE(state.ok());
  EXPECT_NE(state->find("\"complete\":true"), std::string::npos);
  // The newest watermark lists every table, the one created between the runs included.
  auto watermarks = fs.List(WatermarkFolder(root_));
  ASSERT_TRUE(watermarks.ok());
  auto json = nlohmann::json::parse(*fs.Get(watermarks->back().path));
  EXPECT_TRUE(json["tables"].contains("public.t")) << json.dump();
  EXPECT_TRUE(json["tables"].contains("public.other")) << json.dump();
}

// Changes made while freshet is stopped reach it on restart with the relation they were made
// under, which can be older than the catalog: a rename (and a drop) done after them must not be
// applied before them, or their columns would be undone and their values lost.
TEST_F(PipelineTest, RestartFollowsTheStreamNotTheCatalog) {
  Sql("CREATE TABLE t (id int PRIMARY KEY, d int, gone text); INSERT INTO t SELECT g, g, 'g' "
      "FROM generate_series(1, 50) g");
  PipelineConfig config = Config();
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "t", running));
  }
  Sql("INSERT INTO t VALUES (51, 51, 'x'); UPDATE t SET d = -d WHERE id <= 5");
  Sql("ALTER TABLE t RENAME COLUMN d TO dee; ALTER TABLE t DROP COLUMN gone; "
      "ALTER TABLE t ADD COLUMN gone int");
  Sql("INSERT INTO t VALUES (52, 52, 7)");
  RunningPipeline running(config);
  ASSERT_TRUE(Converges("public", "t", running));
}

// Tables that join after the initial snapshot get their existing rows copied (backfill) while
// streaming goes on: one moved into the published schema while running (with writes during the
// copy), one added to the config between runs, and a copy cut short by a stop resumes after it.
TEST_F(PipelineTest, TablesJoiningLaterGetTheirRowsCopied) {
  Sql("CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a VALUES (1, 'one'); "
      "CREATE SCHEMA stash; CREATE TABLE stash.c (id int PRIMARY KEY, v int, note text); "
      "INSERT INTO stash.c SELECT g, g, 'before' FROM generate_series(1, 30000) g");
  PipelineConfig config = Config();
  config.source.tables = {"public.*"};
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "a", running));
    // Its rows were never in the stream.
    Sql("ALTER TABLE stash.c SET SCHEMA public");
    for (int round = 0; round < 20; ++round) {
      Sql(
          fmt::format("UPDATE c SET v = -v, note = 'during' WHERE id % 20 = {0}; DELETE FROM c "
                      "WHERE id = {1}; INSERT INTO c VALUES ({2}, 0, 'new')",
                      round, 100 + round * 1000, 40000 + round));
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(Converges("public", "c", running, 60s));
  }
  Sql("CREATE TABLE stash.b (id bigint PRIMARY KEY, payload text); INSERT INTO stash.b SELECT g, "
      "repeat('x', g % 300) FROM generate_series(1, 200000) g");
  config.source.tables = {"public.*", "stash.b"};
  {
    // Stopped while b is being copied: the list of tables to copy keeps it.
    RunningPipeline running(config);
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(running.Stop().ok());
  }
  lake::LocalFileSystem fs;
  // A listed table that no longer exists leaves the list without stopping the pipeline.
  ASSERT_EQ(fs.Get(BackfillStatePath(root_, "t")).value_or(""), R"({"tables":["stash.b"]})");
  ASSERT_TRUE(
      fs.Put(BackfillStatePath(root_, "t"), R"({"tables":["public.ghost","stash.b"]})").ok());
  {
    RunningPipeline running(config);
    Sql("UPDATE stash.b SET payload = 'changed' WHERE id % 1000 = 0; DELETE FROM stash.b WHERE "
        "id > 199000");
    ASSERT_TRUE(Converges("stash", "b", running, 120s));
    ASSERT_TRUE(Converges("public", "c", running));
    // The list empties once the copy's last chunk is durable.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string list;
    while (std::chrono::steady_clock::now() < deadline) {
      list = fs.Get(BackfillStatePath(root_, "t")).value_or("");
      if (list == R"({"tables":[]})") break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(list, R"({"tables":[]})");
  }
}

// A dropped source table's lake table stays, marked freshet.sourceDropped once its last changes
// are in. A table created again under that name pauses (its lake table holds the old one's
// rows) until its folder is moved away; then it joins like a new table.
TEST_F(PipelineTest, DroppedTablesStayMarkedAndARecreatedOnePauses) {
  Sql("CREATE TABLE d (id int PRIMARY KEY, v text); INSERT INTO d VALUES (1, 'old'); "
      "CREATE TABLE keep (id int PRIMARY KEY)");
  PipelineConfig config = Config();
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::string path = TablePath(root_, "public", "d");
  auto marked = [&]() -> std::optional<std::string> {
    auto snapshot = lake::Snapshot::Load(fs, *connection, path);
    return snapshot.ok() ? snapshot->Configuration("freshet.sourceDropped") : std::nullopt;
  };
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "d", running));
    Sql("INSERT INTO d VALUES (2, 'last'); DROP TABLE d");
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!marked() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(marked());
    auto rows = compare::LakeRows(fs, *connection, path, {"id", "v"});
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(*rows, (std::vector<std::string>{"1|old", "2|last"})) << "the last changes are in";

    Sql("CREATE TABLE d (id int PRIMARY KEY, v text); INSERT INTO d VALUES (3, 'new'); "
        "INSERT INTO keep VALUES (1)");
    ASSERT_TRUE(Converges("public", "keep", running));
    std::this_thread::sleep_for(500ms);
    auto after = compare::LakeRows(fs, *connection, path, {"id", "v"});
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(*after, *rows) << "the new table's rows stay out of the old one's lake table";
    EXPECT_FALSE(running.failed());
    // A re-snapshot makes the lake table follow the new table; the old rows stay in the
    // earlier versions.
    ASSERT_TRUE(RequestResnapshot(fs, root_, "t", "public.d").ok());
    Sql("INSERT INTO d VALUES (4, 'newer')");
    ASSERT_TRUE(Converges("public", "d", running));
    EXPECT_FALSE(marked());
  }
  // Moving the folder away works too: the table is created anew at the next start.
  std::filesystem::rename(path, path + ".dropped");
  RunningPipeline running(config);
  ASSERT_TRUE(Converges("public", "d", running));
}

// float -> double, a decimal with more digits and date -> timestamp widen in place (Delta type
// widening): old files are read in the new type, new rows are written in it.
TEST_F(PipelineTest, FloatDecimalAndDateColumnsWidenInPlace) {
  Sql("CREATE TABLE w (id int PRIMARY KEY, f real, d numeric(10,2), day date); "
      "INSERT INTO w VALUES (1, 0.1, 12345678.91, '2024-02-29'), (2, NULL, -0.5, NULL)");
  RunningPipeline running(Config());
  ASSERT_TRUE(Converges("public", "w", running));
  Sql("ALTER TABLE w ALTER COLUMN f TYPE double precision, ALTER COLUMN d TYPE numeric(14,4), "
      "ALTER COLUMN day TYPE timestamp; INSERT INTO w VALUES (3, 0.1, 1234567890.1234, "
      "'2024-03-01 12:34:56.789'); UPDATE w SET f = 2.5 WHERE id = 2");
  ASSERT_TRUE(Converges("public", "w", running));
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  auto snapshot = lake::Snapshot::Load(fs, *connection, TablePath(root_, "public", "w"));
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->schema().Find("f")->type.kind, lake::DataType::Kind::kDouble);
  EXPECT_EQ(snapshot->schema().Find("d")->type, lake::DataType::Decimal(14, 4));
  EXPECT_EQ(snapshot->schema().Find("day")->type.kind, lake::DataType::Kind::kTimestampNtz);
  EXPECT_FALSE(running.failed());
}

// The writers leave checkpoints to the pipeline's maintenance thread: one is written once a
// table passes version 10, and the table reads from it.
TEST_F(PipelineTest, CheckpointsAreWrittenBesideTheFlushes) {
  Sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
  PipelineConfig config = Config();
  config.flush.max_latency = 20ms;
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::string path = TablePath(root_, "public", "t");
  {
    RunningPipeline running(config);
    for (int row = 0; row < 12; ++row) {
      Sql(fmt::format("INSERT INTO t VALUES ({}, 'v')", row));
      ASSERT_TRUE(Converges("public", "t", running));
    }
    ASSERT_TRUE(running.Stop().ok());
  }
  auto snapshot = lake::Snapshot::Load(fs, *connection, path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_GE(snapshot->version(), 10);
  ASSERT_TRUE(snapshot->checkpoint_version().has_value());
  EXPECT_GE(*snapshot->checkpoint_version(), 10);
}

TEST_F(PipelineTest, TableWithoutKeyIsRefusedWithTheFix) {
  Sql("CREATE TABLE nokey (v int)");
  Pipeline pipeline(Config(), {});
  Status status = pipeline.Run([] { return false; });
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("REPLICA IDENTITY FULL"), std::string::npos) << status;
}

}  // namespace
}  // namespace freshet::pipeline

namespace freshet::pipeline {
namespace {

// While streaming: added columns flow through; drops and renames are metadata-only commits
// through column mapping (old data reads under the new name, the physical column stays); int2 ->
// int4 -> int8 widens in place; a truncate empties the table; a new table joins. Another type
// change pauses only that table, the others go on. After each step the lake table equals the
// source (rows and column names).
TEST_F(PipelineTest, SchemaChangesGiveTheDocumentedResults) {
  Sql("CREATE TABLE a (id int PRIMARY KEY, x int, y text, z text, s smallint); "
      "CREATE TABLE b (id int PRIMARY KEY, v text); "
      "INSERT INTO a VALUES (1, 1, 'y', 'z', 1); INSERT INTO b VALUES (1, 'b')");
  RunningPipeline running(Config());
  ASSERT_TRUE(Converges("public", "a", running));
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::string a_path = TablePath(root_, "public", "a");
  auto a_snapshot = [&] { return lake::Snapshot::Load(fs, *connection, a_path); };
  auto created = a_snapshot();
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->column_mapping_mode(), "name");
  std::string z_physical = created->schema().Find("z")->physical_name.value_or("?");

  Sql("ALTER TABLE a ADD COLUMN note text; INSERT INTO a VALUES (2, 2, 'y2', 'z2', 2, 'n2')");
  ASSERT_TRUE(Converges("public", "a", running));

  Sql("ALTER TABLE a DROP COLUMN y; ALTER TABLE a RENAME COLUMN z TO w; "
      "INSERT INTO a VALUES (3, 3, 'w3', 3, 'n3')");
  ASSERT_TRUE(Converges("public", "a", running));
  auto renamed = a_snapshot();
  ASSERT_TRUE(renamed.ok());
  ASSERT_NE(renamed->schema().Find("w"), nullptr);
  EXPECT_EQ(renamed->schema().Find("w")->physical_name, z_physical)
      << "a rename keeps the physical column";
  EXPECT_EQ(renamed->schema().Find("y"), nullptr);

  // Renaming a key column renames it in freshet.primaryKey too; updates still find their rows.
  Sql("ALTER TABLE a RENAME COLUMN id TO key; UPDATE a SET w = 'w1' WHERE key = 1; "
      "DELETE FROM a WHERE key = 2");
  ASSERT_TRUE(Converges("public", "a", running));
  EXPECT_EQ(a_snapshot()->Configuration("freshet.primaryKey"), "[\"key\"]");

  // int -> bigint and smallint -> int widen in place, the key column too: updates and deletes
  // still find rows written before with the narrow key.
  Sql("ALTER TABLE a ALTER COLUMN x TYPE bigint; ALTER TABLE a ALTER COLUMN s TYPE int; "
      "ALTER TABLE a ALTER COLUMN key TYPE bigint; "
      "INSERT INTO a VALUES (4, 10000000000, 'w4', 100000, 'n4'); UPDATE a SET x = -x "
      "WHERE key = 3; DELETE FROM a WHERE key = 1");
  ASSERT_TRUE(Converges("public", "a", running));
  auto widened = a_snapshot();
  ASSERT_TRUE(widened.ok());
  const lake::StructField* x = widened->schema().Find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->type.kind, lake::DataType::Kind::kLong);
  auto x_metadata = nlohmann::json::parse(x->metadata_json);
  EXPECT_EQ(x_metadata["delta.typeChanges"],
            nlohmann::json::parse(R"([{"fromType":"integer","toType":"long"}])"));
  EXPECT_EQ(x_metadata["freshet.sourceType"], "bigint") << x->metadata_json;
  EXPECT_EQ(widened->schema().Find("s")->type.kind, lake::DataType::Kind::kInteger);
  EXPECT_EQ(widened->schema().Find("key")->type.kind, lake::DataType::Kind::kLong);
  // The change feed over every version, across the renames, the drop and the widening.
  auto feed = lake::ChangeFeedSql(fs, *connection, a_path, 0, std::nullopt);
  ASSERT_TRUE(feed.ok()) << feed.status();
  auto changes = connection->Query(
      "SELECT count(*), max(x), count(*) FILTER (WHERE _change_type = 'delete') FROM (" + *feed +
      ")");
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_EQ(changes->rows[0][1].integer(), 10000000000);
  EXPECT_EQ(changes->rows[0][2].integer(), 2);

  Sql("TRUNCATE a; INSERT INTO a VALUES (5, 5, 'w5', 5, 'n5')");
  ASSERT_TRUE(Converges("public", "a", running));

  // text -> int pauses table a; b and a new table c continue.
  auto before = compare::LakeRows(fs, *connection, a_path, {"key", "x", "w", "s", "note"});
  ASSERT_TRUE(before.ok()) << before.status();
  Sql("ALTER TABLE a ALTER COLUMN w TYPE int USING 7; INSERT INTO a VALUES (6, 6, 6, 6, 'n6'); "
      "INSERT INTO b VALUES (2, 'b2'); CREATE TABLE c (id int PRIMARY KEY); "
      "INSERT INTO c VALUES (1)");
  ASSERT_TRUE(Converges("public", "b", running));
  ASSERT_TRUE(Converges("public", "c", running));
  EXPECT_FALSE(running.failed());
  auto after = compare::LakeRows(fs, *connection, a_path, {"key", "x", "w", "s", "note"});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before) << "a paused table takes no more changes";
  EXPECT_FALSE(running.failed());
}

// The documented way to resume a paused table: a re-snapshot, served while running. The table
// takes the source's columns (v becomes a new int column, the others keep their physical
// columns), its rows are copied anew while other tables stream, and the version before stays
// readable.
TEST_F(PipelineTest, APausedTableResumesByAResnapshotWhileRunning) {
  Sql("CREATE TABLE a (id int PRIMARY KEY, x int, v text); CREATE TABLE b (id int PRIMARY KEY);"
      "INSERT INTO a VALUES (1, 1, 'one'), (2, 2, 'two')");
  RunningPipeline running(Config());
  ASSERT_TRUE(Converges("public", "a", running));
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::string path = TablePath(root_, "public", "a");
  Sql("ALTER TABLE a ALTER COLUMN v TYPE int USING id * 10; INSERT INTO a VALUES (3, 3, 30); "
      "INSERT INTO b VALUES (1)");
  ASSERT_TRUE(Converges("public", "b", running));
  auto paused = lake::Snapshot::Load(fs, *connection, path);
  ASSERT_TRUE(paused.ok()) << paused.status();
  ASSERT_EQ(paused->schema().Find("v")->type.kind, lake::DataType::Kind::kString) << "paused";

  ASSERT_TRUE(RequestResnapshot(fs, root_, "t", "public.a").ok());
  ASSERT_EQ(*PendingResnapshots(fs, root_, "t"), std::vector<std::string>{"public.a"});
  Sql("INSERT INTO a VALUES (4, 4, 40); INSERT INTO b VALUES (2)");
  ASSERT_TRUE(Converges("public", "a", running));
  ASSERT_TRUE(Converges("public", "b", running));
  EXPECT_TRUE(PendingResnapshots(fs, root_, "t")->empty());
  Sql("UPDATE a SET v = 70 WHERE id = 1; DELETE FROM a WHERE id = 2");
  ASSERT_TRUE(Converges("public", "a", running));

  auto resumed = lake::Snapshot::Load(fs, *connection, path);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->schema().Find("x")->physical_name, paused->schema().Find("x")->physical_name);
  EXPECT_NE(resumed->schema().Find("v")->physical_name, paused->schema().Find("v")->physical_name);
  EXPECT_EQ(resumed->schema().Find("v")->type.kind, lake::DataType::Kind::kInteger);
  auto time_travel = lake::Snapshot::Load(fs, *connection, path, paused->version());
  ASSERT_TRUE(time_travel.ok());
  EXPECT_EQ(time_travel->schema().Find("v")->type.kind, lake::DataType::Kind::kString);
  // The re-snapshot commit is in the change feed as the deletion of the rows it emptied.
  auto feed =
      lake::ChangeFeedSql(fs, *connection, path, paused->version() + 1, paused->version() + 1);
  ASSERT_TRUE(feed.ok()) << feed.status();
  auto deleted = connection->Query("SELECT count(*) FROM (" + *feed +
                                   ") WHERE _change_type = 'delete' AND x IN (1, 2)");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->rows[0][0].integer(), 2);
  EXPECT_FALSE(running.failed());
}

// A request for a table the pipeline does not publish is refused (and deleted); one filed while
// the pipeline is stopped is served when it starts, and repairs a lake table emptied by hand.
TEST_F(PipelineTest, ResnapshotRequestsAreServedWhenRunningOrAtStart) {
  Sql("CREATE TABLE r (id int PRIMARY KEY, v text); INSERT INTO r VALUES (1, 'a'), (2, 'b')");
  PipelineConfig config = Config();
  config.source.tables = {"public.r"};
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::string path = TablePath(root_, "public", "r");
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "r", running));
    ASSERT_TRUE(RequestResnapshot(fs, root_, "t", "public.elsewhere").ok());
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!PendingResnapshots(fs, root_, "t")->empty() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(PendingResnapshots(fs, root_, "t")->empty());
    ASSERT_TRUE(running.Stop().ok());
  }
  {
    auto txn = lake::Transaction::Begin(fs, *connection, path);
    ASSERT_TRUE(txn.ok()) << txn.status();
    for (const lake::AddFile& add : txn->read_snapshot().files()) {
      ASSERT_TRUE(txn->Remove(add.path).ok());
    }
    ASSERT_TRUE(txn->Commit("DELETE").ok());
  }
  EXPECT_FALSE(RequestResnapshot(fs, root_, "t", "no_schema").ok());
  ASSERT_TRUE(RequestResnapshot(fs, root_, "t", "public.r").ok());
  Sql("UPDATE r SET v = 'B' WHERE id = 2");
  RunningPipeline running(config);
  ASSERT_TRUE(Converges("public", "r", running));
  EXPECT_TRUE(PendingResnapshots(fs, root_, "t")->empty());
}

}  // namespace
}  // namespace freshet::pipeline

namespace freshet::pipeline {
namespace {

// A lake table written before freshet used column mapping (no physical names, no attnums)
// switches to mapping mode name at its first rename or drop: physical name = the old name.
TEST_F(PipelineTest, TablesWithoutColumnMappingSwitchAtTheFirstRename) {
  Sql("CREATE TABLE old (id int PRIMARY KEY, a text, b text); "
      "INSERT INTO old VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2')");
  lake::LocalFileSystem fs;
  std::string path = TablePath(root_, "public", "old");
  lake::CreateTableOptions create;
  for (const char* name : {"id", "a", "b"}) {
    create.schema.fields.push_back(
        {.name = name,
         .type =
             lake::DataType::Primitive(std::string(name) == "id" ? lake::DataType::Kind::kInteger
                                                                 : lake::DataType::Kind::kString),
         .metadata_json = SourceTypeMetadata(std::string(name) == "id" ? "integer" : "text")});
  }
  create.configuration = {{"delta.enableChangeDataFeed", "true"},
                          {"freshet.primaryKey", "[\"id\"]"},
                          {"freshet.mode", "upsert"},
                          {"freshet.source", "public.old"}};
  ASSERT_TRUE(lake::CreateTable(fs, path, create).ok());
  RunningPipeline running(Config());
  ASSERT_TRUE(Converges("public", "old", running));
  Sql("ALTER TABLE old RENAME COLUMN a TO aa; INSERT INTO old VALUES (3, 'a3', 'b3')");
  ASSERT_TRUE(Converges("public", "old", running));
  Sql("ALTER TABLE old DROP COLUMN b; UPDATE old SET aa = 'x' WHERE id = 2");
  ASSERT_TRUE(Converges("public", "old", running));
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  auto snapshot = lake::Snapshot::Load(fs, *connection, path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->column_mapping_mode(), "name");
  ASSERT_NE(snapshot->schema().Find("aa"), nullptr);
  EXPECT_EQ(snapshot->schema().Find("aa")->physical_name, "a");
  ASSERT_TRUE(running.Stop().ok());
}

// Overrides: an append-only table keeps every change with its operation and LSN; a table gets
// the partition columns and the key the configuration names.
TEST_F(PipelineTest, OverridesAppendOnlyPartitionsAndKey) {
  Sql("CREATE TABLE events (id int PRIMARY KEY, kind text); "
      "CREATE TABLE items (id int, day date NOT NULL, v int); "
      "CREATE UNIQUE INDEX items_id ON items (id); "
      "ALTER TABLE items REPLICA IDENTITY FULL; "
      "INSERT INTO items VALUES (1, '2024-01-01', 1), (2, '2024-01-02', 2)");
  PipelineConfig config = Config();
  config.overrides.push_back({.table = "public.events", .mode = TableMode::kAppendOnly});
  config.overrides.push_back(
      {.table = "public.items", .partition_by = {"day"}, .primary_key = {"id"}});
  RunningPipeline running(config);
  ASSERT_TRUE(Converges("public", "items", running));
  Sql("INSERT INTO events VALUES (1, 'a'), (2, 'b'); UPDATE events SET kind = 'c' WHERE id = 1; "
      "DELETE FROM events WHERE id = 2; UPDATE items SET v = 3 WHERE id = 2");
  ASSERT_TRUE(Converges("public", "items", running));
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::string events = TablePath(root_, "public", "events");
  // A delete carries the replica identity (the key) only: the other cells are NULL.
  std::vector<std::string> expected = {"1|a|insert", "1|c|update", "2|NULL|delete", "2|b|insert"};
  Result<std::vector<std::string>> rows = Status::NotFound("not yet");
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    rows = compare::LakeRows(fs, *connection, events, {"id", "kind", lake::kChangeOpColumn});
    if (rows.ok() && *rows == expected) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, expected);
  ASSERT_TRUE(running.Stop().ok());

  auto snapshot = lake::Snapshot::Load(fs, *connection, events);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->Configuration("freshet.mode"), "append_only");
  auto items = lake::Snapshot::Load(fs, *connection, TablePath(root_, "public", "items"));
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->metadata().partition_columns, std::vector<std::string>{"day"});
  EXPECT_EQ(items->Configuration("freshet.primaryKey"), R"(["id"])");
}

}  // namespace
}  // namespace freshet::pipeline

namespace freshet::pipeline {
namespace {

// overrides[].change_feed: a table created with the feed off writes no change-data files (so
// its updates read no pre-image back); turning it on later is one metadata commit, with the
// protocol feature, after which commits carry the feed.
TEST_F(PipelineTest, TheChangeFeedOverrideTurnsTheFeedOffAndOn) {
  Sql("CREATE TABLE hot (id int PRIMARY KEY, v int); "
      "INSERT INTO hot SELECT i, i FROM generate_series(1, 50) i");
  PipelineConfig config = Config();
  config.overrides.push_back({.table = "public.hot", .change_feed = false});
  std::string path = TablePath(root_, "public", "hot");
  auto change_data_files = [&] {
    std::error_code error;
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(path + "/_change_data", error)) {
      count += entry.is_regular_file() ? 1 : 0;
    }
    return count;
  };
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  {
    RunningPipeline running(config);
    ASSERT_TRUE(Converges("public", "hot", running));
    Sql("UPDATE hot SET v = v + 100 WHERE id <= 10; DELETE FROM hot WHERE id = 50");
    ASSERT_TRUE(Converges("public", "hot", running));
    ASSERT_TRUE(running.Stop().ok());
  }
  auto off = lake::Snapshot::Load(fs, *connection, path);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->Configuration("delta.enableChangeDataFeed"), "false");
  EXPECT_EQ(change_data_files(), 0);

  config.overrides.back().change_feed = true;
  {
    RunningPipeline running(config);
    Sql("UPDATE hot SET v = v + 100 WHERE id <= 10");
    ASSERT_TRUE(Converges("public", "hot", running));
    ASSERT_TRUE(running.Stop().ok());
  }
  auto on = lake::Snapshot::Load(fs, *connection, path);
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->Configuration("delta.enableChangeDataFeed"), "true");
  const auto& features = on->protocol().writer_features;
  ASSERT_TRUE(features.has_value());
  EXPECT_NE(std::find(features->begin(), features->end(), "changeDataFeed"), features->end());
  EXPECT_GT(change_data_files(), 0);
}

// unrepresentable_values: fail stops with the documented message; clamp stores the range ends.
TEST_F(PipelineTest, UnrepresentableValuesFollowTheConfiguredRule) {
  Sql("CREATE TABLE inf (id int PRIMARY KEY, ts timestamp); "
      "INSERT INTO inf VALUES (1, 'infinity'), (2, '2024-01-01')");
  {
    Pipeline pipeline(Config(), {});
    Status status = pipeline.Run([] { return false; });
    EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
    EXPECT_NE(status.message().find("unrepresentable_values"), std::string::npos) << status;
  }
  std::filesystem::remove_all(root_);
  Sql("SELECT pg_drop_replication_slot('freshet_t')");
  PipelineConfig config = Config();
  config.unrepresentable_values = UnrepresentableValues::kClamp;
  RunningPipeline running(config);
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  std::vector<std::string> expected = {"1|253402300799999999", "2|1704067200000000"};
  Result<std::vector<std::string>> rows = Status::NotFound("not yet");
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    rows = compare::LakeRows(fs, *connection, TablePath(root_, "public", "inf"), {"id", "ts"});
    if (rows.ok() && *rows == expected) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, expected);
  ASSERT_TRUE(running.Stop().ok());
}

}  // namespace
}  // namespace freshet::pipeline

namespace freshet::pipeline {
namespace {

// Names that need quoting in SQL (capitals, a dot, a space) are followed like any other: the
// table is snapshotted, streamed, and never taken for dropped by the publication checks.
TEST_F(PipelineTest, TablesWithNamesThatNeedQuotingStream) {
  Sql("CREATE TABLE \"Mixed Case.T\" (\"Id\" int PRIMARY KEY, \"Val\" text); "
      "INSERT INTO \"Mixed Case.T\" VALUES (1, 'one')");
  RunningPipeline running(Config());
  ASSERT_TRUE(Converges("public", "Mixed Case.T", running)) << running.Stop();
  // Joins later: its rows are copied by a backfill.
  Sql("CREATE TABLE \"Later\" (\"Id\" int PRIMARY KEY); INSERT INTO \"Later\" SELECT "
      "generate_series(1, 100)");
  std::this_thread::sleep_for(6s);  // past a publication check
  Sql("INSERT INTO \"Mixed Case.T\" VALUES (2, 'two'); UPDATE \"Mixed Case.T\" SET \"Val\" = 'x' "
      "WHERE \"Id\" = 1");
  ASSERT_TRUE(Converges("public", "Mixed Case.T", running));
  ASSERT_TRUE(Converges("public", "Later", running)) << running.Stop();
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  auto snapshot = lake::Snapshot::Load(fs, *connection, TablePath(root_, "public", "Mixed Case.T"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_FALSE(snapshot->Configuration("freshet.sourceDropped").has_value());
  EXPECT_FALSE(running.failed());
}

}  // namespace
}  // namespace freshet::pipeline
