// Model test of the upsert path and its change data feed against a real PostgreSQL: the same
// random sequence of inserts, updates (some changing the key, some leaving a value unchanged
// like TOAST does), deletes and truncates goes, batch by batch, into a PostgreSQL table (one
// transaction per batch) and into a lake table through UpsertWriter, with Optimize runs in
// between. After every batch the lake must equal PostgreSQL; at the end every version must
// equal, by time travel, the PostgreSQL state it was committed for; Optimize must never change
// contents; and the change feed between two versions, replayed on the first, must give the
// second. A smaller variant does the same for a table whose identity is the whole row.
//
// Scale: 100k changes over 10k+ keys. Sanitizer builds (about 10x slower) run a tenth of
// that, as does FRESHET_MODEL_SCALE=0.1 (any factor) in the environment.

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/sql_quote.h"
#include "engine/database.h"
#include "lake/change_feed.h"
#include "lake/fs/file_system.h"
#include "lake/optimize.h"
#include "lake/scan.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"
#include "postgres_test.h"

namespace freshet {
namespace {

using engine::Value;
using lake::ChangeOp;
using lake::RowChange;
using lake::Version;

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define FRESHET_MODEL_SANITIZED 1
#elif defined(__has_feature)  // Clang
#if __has_feature(address_sanitizer)
#define FRESHET_MODEL_SANITIZED 1
#endif
#endif
#ifdef FRESHET_MODEL_SANITIZED
constexpr double kBuildScale = 0.1;
#else
constexpr double kBuildScale = 1.0;
#endif

double Scale() {
  const char* configured = std::getenv("FRESHET_MODEL_SCALE");
  return configured != nullptr ? std::atof(configured) : kBuildScale;
}

// The rows of one side as canonical text lines ("id|name|amount|at_us", NULL as \N), sorted.
using Lines = std::vector<std::string>;

uint64_t LineHash(const std::string& line) { return std::hash<std::string>{}(line); }

// A compact record of one state: the sorted hashes of its lines.
std::vector<uint64_t> Fingerprint(const Lines& lines) {
  std::vector<uint64_t> out;
  out.reserve(lines.size());
  for (const auto& line : lines) out.push_back(LineHash(line));
  std::sort(out.begin(), out.end());
  return out;
}

// Canonical line SQL on each side. PostgreSQL numeric(12,2)::text and DuckDB
// DECIMAL(12,2)::VARCHAR print alike; timestamps go as epoch microseconds.
constexpr const char* kPgLine =
    "concat_ws('|', id::text, coalesce(name, '\\N'), coalesce(amount::text, '\\N'), "
    "coalesce(((extract(epoch from at) * 1000000)::bigint)::text, '\\N'))";
constexpr const char* kLakeLine =
    "concat_ws('|', CAST(id AS VARCHAR), coalesce(name, '\\N'), coalesce(CAST(amount AS "
    "VARCHAR), '\\N'), coalesce(CAST(epoch_us(\"at\") AS VARCHAR), '\\N'))";

// The first difference of two sorted line sets, for failure messages.
std::string FirstDifference(const Lines& actual, const Lines& expected) {
  Lines missing;
  Lines extra;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  return fmt::format("{} rows vs {} expected; {} missing (first: {}), {} unexpected (first: {})",
                     actual.size(), expected.size(), missing.size(),
                     missing.empty() ? "-" : missing[0], extra.size(),
                     extra.empty() ? "-" : extra[0]);
}

std::string Text(const Value& value) { return value.is_null() ? "" : value.string(); }

class UpsertModelTest : public testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (HasFatalFailure()) return;
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("freshet-model-{}-{}", ::getpid(), database());
    std::filesystem::create_directories(root_);
    table_ = (root_ / "t").string();
    auto db = engine::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    database_.emplace(std::move(db).value());
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    duck_.emplace(std::move(connection).value());
    pg_.emplace(Connect());
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    PostgresTest::TearDown();
  }

  Lines PgLines(const std::string& table) {
    Lines out;
    auto rows = pg_->Query(fmt::format("SELECT {} FROM {}", kPgLine, table));
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return out;
    for (int row = 0; row < rows->size(); ++row) out.emplace_back(*rows->Get(row, 0));
    std::sort(out.begin(), out.end());
    return out;
  }

  Lines LakeLines(std::optional<Version> version = std::nullopt) {
    Lines out;
    auto snapshot = lake::Snapshot::Load(fs_, *duck_, table_, version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return out;
    auto sql = lake::ScanSql(fs_, *duck_, *snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    if (!sql.ok()) return out;
    auto result = duck_->Query(fmt::format("SELECT {} FROM ({})", kLakeLine, *sql));
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return out;
    for (const auto& row : result->rows) out.push_back(Text(row[0]));
    std::sort(out.begin(), out.end());
    return out;
  }

  // The feed of (from, to] as (change type, line, id) in feed order.
  struct FeedRow {
    std::string type;
    std::string line;
    std::string id;
  };
  std::vector<FeedRow> Feed(Version from, Version to) {
    std::vector<FeedRow> out;
    auto sql = lake::ChangeFeedSql(fs_, *duck_, table_, from, to);
    EXPECT_TRUE(sql.ok()) << sql.status();
    if (!sql.ok()) return out;
    auto result = duck_->Query(
        fmt::format("SELECT _change_type, {}, CAST(id AS VARCHAR) FROM ({})", kLakeLine, *sql));
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return out;
    for (const auto& row : result->rows) {
      out.push_back({Text(row[0]), Text(row[1]), Text(row[2])});
    }
    return out;
  }

  std::filesystem::path root_;
  std::string table_;
  lake::LocalFileSystem fs_;
  std::optional<engine::Database> database_;
  std::optional<engine::Connection> duck_;
  std::optional<pg::Connection> pg_;
};

// One live row of the model.
struct ModelRow {
  std::optional<std::string> name;
  std::optional<int64_t> cents;  // amount * 100
  std::optional<int64_t> at_us;
};

std::string PgValue(const std::optional<std::string>& name) {
  return name ? QuoteLiteral(*name) : "NULL";
}
std::string PgAmount(const std::optional<int64_t>& cents) {
  if (!cents) return "NULL";
  int64_t magnitude = *cents < 0 ? -*cents : *cents;
  return fmt::format("{}{}.{:02d}", *cents < 0 ? "-" : "", magnitude / 100, magnitude % 100);
}
std::string PgAt(const std::optional<int64_t>& at_us) {
  if (!at_us) return "NULL";
  return fmt::format("(TIMESTAMPTZ '1970-01-01 00:00:00+00' + INTERVAL '{} microseconds')", *at_us);
}

std::vector<Value> LakeRow(int64_t id, const ModelRow& row) {
  Value amount;
  if (row.cents) {
    amount.kind = Value::Kind::kDecimal;
    amount.data = engine::Decimal{*row.cents, 12, 2};
  }
  Value at;
  if (row.at_us) {
    at.kind = Value::Kind::kTimestampTz;
    at.data = *row.at_us;
  }
  return {Value::Int(id), row.name ? Value::String(*row.name) : Value::Null(), amount, at};
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : random_(seed) {}
  uint64_t Next(uint64_t bound) { return random_() % bound; }
  bool Chance(int percent) { return static_cast<int>(Next(100)) < percent; }
  ModelRow Row() {
    ModelRow row;
    if (!Chance(10)) row.name = Name();
    if (!Chance(10)) row.cents = static_cast<int64_t>(Next(2'000'000'000)) - 1'000'000'000;
    // 2000-01-01 .. 2030-01-01, microsecond precision.
    if (!Chance(10)) row.at_us = 946684800000000 + static_cast<int64_t>(Next(946080000000000));
    return row;
  }
  std::string Name() {
    static const std::vector<std::string> kPieces = {"a", "b", "Z", " ",    "'",    "\\",
                                                     "|", "é", "ß", "日本", "🙂", "x1"};
    std::string out;
    size_t length = Next(12);
    for (size_t i = 0; i < length; ++i) out += kPieces[Next(kPieces.size())];
    return out;
  }

 private:
  std::mt19937_64 random_;
};

TEST_F(UpsertModelTest, KeyedTableEqualsPostgresAtEveryVersionAndTheFeedReplays) {
  const double scale = Scale();
  const int64_t total_changes = std::max<int64_t>(1000, static_cast<int64_t>(100'000 * scale));
  const int64_t key_space = std::max<int64_t>(200, static_cast<int64_t>(15'000 * scale));
  const int64_t initial_keys = key_space * 2 / 3;  // 10k at full scale

  Sql("CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)");
  auto schema = lake::ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"name","type":"string","nullable":true,"metadata":{}},
    {"name":"amount","type":"decimal(12,2)","nullable":true,"metadata":{}},
    {"name":"at","type":"timestamp","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  lake::CreateTableOptions options{*schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  options.configuration["freshet.primaryKey"] = R"(["id"])";
  ASSERT_TRUE(lake::CreateTable(fs_, table_, options).ok());
  lake::UpsertOptions upsert{{"id"}, false, {}};
  upsert.compact_file_count = 40;       // automatic compaction runs now and then too
  upsert.compact_min_deleted_rows = 1;  // also at the small scale of sanitized runs
  auto writer = lake::UpsertWriter::Open(fs_, *duck_, table_, upsert);
  ASSERT_TRUE(writer.ok()) << writer.status();

  Generator random(20261121);
  std::map<int64_t, ModelRow> live;
  std::vector<int64_t> live_keys;                   // for picking; rebuilt lazily
  std::map<Version, std::vector<uint64_t>> states;  // PostgreSQL's state per lake version
  states[0] = {};
  std::vector<Version> optimize_versions;
  int64_t done = 0;
  int truncates = 0;
  uint64_t lsn = 0;

  auto pick_live = [&]() {
    auto it = live.lower_bound(static_cast<int64_t>(random.Next(static_cast<uint64_t>(key_space))));
    if (it == live.end()) it = live.begin();
    return it->first;
  };
  auto pick_free = [&]() {
    for (;;) {
      auto key = static_cast<int64_t>(random.Next(static_cast<uint64_t>(key_space)));
      if (live.count(key) == 0) return key;
    }
  };

  while (done < total_changes) {
    int64_t batch_size = 1 + static_cast<int64_t>(random.Next(2500));
    if (done == 0) batch_size = initial_keys;
    lake::ChangeBatch batch;
    std::string pg_sql = "BEGIN;";
    for (int64_t i = 0; i < batch_size && done < total_changes; ++i, ++done) {
      RowChange change;
      change.lsn = ++lsn;
      uint64_t dice = random.Next(1000);
      bool room = static_cast<int64_t>(live.size()) < key_space - 100;
      if (done < initial_keys || live.empty() || (dice < 300 && room)) {
        int64_t id = pick_free();
        ModelRow row = random.Row();
        pg_sql += fmt::format("INSERT INTO t VALUES ({}, {}, {}, {});", id, PgValue(row.name),
                              PgAmount(row.cents), PgAt(row.at_us));
        change.op = ChangeOp::kInsert;
        change.row = LakeRow(id, row);
        live[id] = row;
      } else if (dice < 550) {
        // A full update.
        int64_t id = pick_live();
        ModelRow row = random.Row();
        pg_sql += fmt::format("UPDATE t SET name = {}, amount = {}, at = {} WHERE id = {};",
                              PgValue(row.name), PgAmount(row.cents), PgAt(row.at_us), id);
        change.op = ChangeOp::kUpdate;
        change.row = LakeRow(id, row);
        live[id] = row;
      } else if (dice < 750) {
        // An update that leaves name alone: the source sends it as unchanged (TOAST).
        int64_t id = pick_live();
        ModelRow row = random.Row();
        row.name = live[id].name;
        pg_sql += fmt::format("UPDATE t SET amount = {}, at = {} WHERE id = {};",
                              PgAmount(row.cents), PgAt(row.at_us), id);
        change.op = ChangeOp::kUpdate;
        change.row = LakeRow(id, row);
        change.row[1] = Value::Null();
        change.unchanged = {false, true, false, false};
        live[id] = row;
      } else if (dice < 800) {
        // The key changes; the old key arrives as a key-only old row.
        int64_t id = pick_live();
        int64_t new_id = pick_free();
        ModelRow row = live[id];
        if (random.Chance(50)) row.cents = random.Row().cents;
        pg_sql += fmt::format("UPDATE t SET id = {}, amount = {} WHERE id = {};", new_id,
                              PgAmount(row.cents), id);
        change.op = ChangeOp::kUpdate;
        change.row = LakeRow(new_id, row);
        change.old_row = {Value::Int(id), Value::Null(), Value::Null(), Value::Null()};
        live.erase(id);
        live[new_id] = row;
      } else if (dice < 999 || truncates >= 2) {
        int64_t id = pick_live();
        pg_sql += fmt::format("DELETE FROM t WHERE id = {};", id);
        change.op = ChangeOp::kDelete;
        change.old_row = {Value::Int(id), Value::Null(), Value::Null(), Value::Null()};
        live.erase(id);
      } else {
        ++truncates;
        pg_sql += "TRUNCATE t;";
        change.op = ChangeOp::kTruncate;
        live.clear();
      }
      batch.changes.push_back(std::move(change));
    }
    pg_sql += "COMMIT;";
    ASSERT_TRUE(pg_->Execute(pg_sql).ok());
    lake::ApplyStats stats;
    auto version = writer->Apply(batch, &stats);
    ASSERT_TRUE(version.ok()) << version.status();
    Lines expected = PgLines("t");
    ASSERT_EQ(static_cast<int64_t>(expected.size()), static_cast<int64_t>(live.size()));
    Lines actual = LakeLines();
    ASSERT_TRUE(actual == expected) << "after the batch ending at change " << done << " (version "
                                    << *version << "): " << FirstDifference(actual, expected);
    states[*version] = Fingerprint(expected);
    if (stats.compacted_version >= 0) {
      states[stats.compacted_version] = states[*version];
      optimize_versions.push_back(stats.compacted_version);
    }
    if (random.Chance(8)) {
      lake::OptimizeOptions optimize;
      optimize.small_file_share = 1.0;  // every file counts as small: always some work
      auto optimized = lake::Optimize(fs_, *duck_, table_, optimize);
      ASSERT_TRUE(optimized.ok()) << optimized.status();
      if (optimized->files_removed > 0) {
        Lines optimized_lines = LakeLines();
        ASSERT_TRUE(optimized_lines == expected)
            << "optimize changed the contents: " << FirstDifference(optimized_lines, expected);
        states[optimized->version] = states[*version];
        optimize_versions.push_back(optimized->version);
      }
    }
  }
  EXPECT_GE(optimize_versions.size(), 2u) << "the run should optimize a few times";

  // Every version, by time travel, equals the PostgreSQL state it was committed for.
  auto latest = lake::LatestVersion(fs_, table_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_EQ(static_cast<size_t>(*latest + 1), states.size()) << "one state per version";
  std::map<Version, Lines> kept;  // the contents of the versions the feed checks start from
  for (const auto& [version, fingerprint] : states) {
    Lines lines = LakeLines(version);
    ASSERT_EQ(Fingerprint(lines), fingerprint) << "version " << version;
  }

  // The feed between random versions, replayed on the first, gives the second. Replay keys
  // by id: a pre-image or delete must match the row it removes exactly.
  const int pairs = 12;
  for (int pair = 0; pair < pairs; ++pair) {
    auto v1 = static_cast<Version>(random.Next(static_cast<uint64_t>(*latest)));
    Version v2 = v1 + 1 + static_cast<Version>(random.Next(static_cast<uint64_t>(*latest - v1)));
    if (pair == 0) {
      v1 = 0;
      v2 = *latest;
    }
    std::map<std::string, std::string> rows;  // id -> line
    Lines start = v1 == 0 ? Lines{} : LakeLines(v1);
    for (const auto& line : start) rows[line.substr(0, line.find('|'))] = line;
    std::vector<FeedRow> feed = Feed(v1 + 1, v2);
    for (size_t i = 0; i < feed.size(); ++i) {
      const FeedRow& change = feed[i];
      if (change.type == "insert" || change.type == "update_postimage") {
        ASSERT_EQ(rows.count(change.id), 0u)
            << change.type << " of a live key, feed row " << i << " of " << v1 + 1 << ".." << v2;
        rows[change.id] = change.line;
      } else {
        ASSERT_TRUE(change.type == "delete" || change.type == "update_preimage") << change.type;
        auto it = rows.find(change.id);
        ASSERT_NE(it, rows.end()) << change.type << " of an absent key, feed row " << i;
        ASSERT_EQ(it->second, change.line) << change.type << " does not match the row it ends";
        rows.erase(it);
      }
    }
    Lines replayed;
    for (const auto& [id, line] : rows) replayed.push_back(line);
    std::sort(replayed.begin(), replayed.end());
    ASSERT_EQ(Fingerprint(replayed), states[v2]) << "feed " << v1 + 1 << ".." << v2;
  }
  // Optimize commits add nothing to the feed.
  for (Version version : optimize_versions) {
    EXPECT_TRUE(Feed(version, version).empty()) << "optimize version " << version;
  }
}

TEST_F(UpsertModelTest, WholeRowIdentityTableKeepsDuplicatesLikePostgres) {
  const double scale = Scale();
  const int64_t total_changes = std::max<int64_t>(500, static_cast<int64_t>(8'000 * scale));
  Sql("CREATE TABLE w (k int, name text)");
  Sql("ALTER TABLE w REPLICA IDENTITY FULL");
  auto schema = lake::ParseSchema(R"json({"type":"struct","fields":[
    {"name":"k","type":"integer","nullable":true,"metadata":{}},
    {"name":"name","type":"string","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  lake::CreateTableOptions options{*schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(lake::CreateTable(fs_, table_, options).ok());
  auto writer = lake::UpsertWriter::Open(fs_, *duck_, table_, {{}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();

  Generator random(7);
  std::vector<std::pair<int64_t, std::optional<std::string>>> live;  // a multiset, unordered
  auto value = [&]() {
    std::optional<std::string> name;
    if (!random.Chance(15)) name = std::string(1, static_cast<char>('a' + random.Next(3)));
    return std::make_pair(static_cast<int64_t>(random.Next(60)), name);
  };
  auto lake_row = [](const std::pair<int64_t, std::optional<std::string>>& row) {
    return std::vector<Value>{Value::Int(row.first),
                              row.second ? Value::String(*row.second) : Value::Null()};
  };
  auto pg_match = [](const std::pair<int64_t, std::optional<std::string>>& row) {
    return fmt::format(
        "ctid = (SELECT ctid FROM w WHERE k = {} AND name IS NOT DISTINCT FROM {} "
        "LIMIT 1)",
        row.first, PgValue(row.second));
  };
  std::map<Version, std::vector<uint64_t>> states;
  states[0] = {};
  const std::string line_sql = "concat_ws('|', k::text, coalesce(name, '\\N'))";
  auto pg_lines = [&]() {
    Lines out;
    auto rows = pg_->Query("SELECT " + line_sql + " FROM w");
    EXPECT_TRUE(rows.ok()) << rows.status();
    for (int row = 0; rows.ok() && row < rows->size(); ++row) out.emplace_back(*rows->Get(row, 0));
    std::sort(out.begin(), out.end());
    return out;
  };
  auto lake_lines = [&](std::optional<Version> version) {
    Lines out;
    auto snapshot = lake::Snapshot::Load(fs_, *duck_, table_, version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    auto sql = lake::ScanSql(fs_, *duck_, *snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    auto result = duck_->Query(
        "SELECT concat_ws('|', CAST(k AS VARCHAR), coalesce(name, '\\N')) FROM (" + *sql + ")");
    EXPECT_TRUE(result.ok()) << result.status();
    for (const auto& row : result->rows) out.push_back(Text(row[0]));
    std::sort(out.begin(), out.end());
    return out;
  };

  int64_t done = 0;
  while (done < total_changes) {
    int64_t batch_size = 1 + static_cast<int64_t>(random.Next(400));
    lake::ChangeBatch batch;
    std::string pg_sql = "BEGIN;";
    for (int64_t i = 0; i < batch_size && done < total_changes; ++i, ++done) {
      RowChange change;
      uint64_t dice = random.Next(100);
      if (live.size() < 50 || dice < 45) {
        auto row = value();
        pg_sql += fmt::format("INSERT INTO w VALUES ({}, {});", row.first, PgValue(row.second));
        change.op = ChangeOp::kInsert;
        change.row = lake_row(row);
        live.push_back(row);
      } else if (dice < 75) {
        size_t victim = random.Next(live.size());
        auto row = value();
        pg_sql += fmt::format("UPDATE w SET k = {}, name = {} WHERE {};", row.first,
                              PgValue(row.second), pg_match(live[victim]));
        change.op = ChangeOp::kUpdate;
        change.old_row = lake_row(live[victim]);
        change.row = lake_row(row);
        live[victim] = row;
      } else {
        size_t victim = random.Next(live.size());
        pg_sql += fmt::format("DELETE FROM w WHERE {};", pg_match(live[victim]));
        change.op = ChangeOp::kDelete;
        change.old_row = lake_row(live[victim]);
        live[victim] = live.back();
        live.pop_back();
      }
      batch.changes.push_back(std::move(change));
    }
    ASSERT_TRUE(pg_->Execute(pg_sql + "COMMIT;").ok());
    auto version = writer->Apply(batch);
    ASSERT_TRUE(version.ok()) << version.status();
    Lines expected = pg_lines();
    Lines actual = lake_lines(std::nullopt);
    ASSERT_TRUE(actual == expected)
        << "version " << *version << ": " << FirstDifference(actual, expected);
    states[*version] = Fingerprint(expected);
  }
  for (const auto& [version, fingerprint] : states) {
    ASSERT_EQ(Fingerprint(lake_lines(version)), fingerprint) << "version " << version;
  }
  // The whole feed replayed on an empty multiset gives the last state; a pre-image or delete
  // must remove a row that is there.
  auto sql = lake::ChangeFeedSql(fs_, *duck_, table_, 1);
  ASSERT_TRUE(sql.ok()) << sql.status();
  auto feed = duck_->Query(
      "SELECT _change_type, concat_ws('|', CAST(k AS VARCHAR), "
      "coalesce(name, '\\N')) FROM (" +
      *sql + ")");
  ASSERT_TRUE(feed.ok()) << feed.status();
  std::multiset<std::string> rows;
  for (const auto& row : feed->rows) {
    std::string type = Text(row[0]);
    std::string line = Text(row[1]);
    if (type == "insert" || type == "update_postimage") {
      rows.insert(line);
    } else {
      auto it = rows.find(line);
      ASSERT_NE(it, rows.end()) << type << " of a row that is not there: " << line;
      rows.erase(it);
    }
  }
  Lines replayed(rows.begin(), rows.end());
  EXPECT_EQ(Fingerprint(replayed), states.rbegin()->second);
}

}  // namespace
}  // namespace freshet
