#include "lake/vacuum.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/change_feed.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"
#include "lake/upsert_writer.h"

namespace freshet::lake {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class VacuumTest : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    auto schema = ParseSchema(R"json({"type":"struct","fields":[
      {"name":"id","type":"long","nullable":false,"metadata":{}}]})json");
    ASSERT_TRUE(CreateTable(fs_, table_, {*schema}).ok());
  }

  void Append(int from, int to) {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Append(fmt::format("SELECT i AS id FROM range({}, {}) t(i)", from, to)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }

  int64_t Count(Version version) {
    auto snapshot = Snapshot::Load(fs_, *connection_, table_, version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return -1;
    auto sql = ScanSql(fs_, *connection_, *snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    if (!sql.ok()) return -1;
    auto result = connection_->Query("SELECT count(*) FROM (" + *sql + ")");
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->rows[0][0].integer() : -1;
  }

  // Makes every file of the table (log included) ten days old.
  void AgeEverything() {
    auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(240);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(table_)) {
      if (entry.is_regular_file()) std::filesystem::last_write_time(entry.path(), old);
    }
  }
};

TEST_F(VacuumTest, KeepsEveryFileAVersionInsideRetentionNeeds) {
  Append(0, 100);    // version 1
  Append(100, 300);  // version 2
  {                  // version 3 deletes rows of the first file with a DV
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->DeleteRows(txn->read_snapshot().files()[0].path, {0, 1, 2}).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  {  // stray files: an old one of a failed commit, and a hidden one
    std::ofstream(table_ + "/part-stray.parquet") << "x";
    std::ofstream(table_ + "/.hidden") << "x";
  }
  AgeEverything();
  std::string removed;
  {  // version 4, now: removes one file entirely
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok());
    removed = txn->read_snapshot().files()[1].path;
    ASSERT_TRUE(txn->Remove(removed).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  std::map<Version, int64_t> counts;
  for (Version version = 1; version <= 4; ++version) counts[version] = Count(version);

  // Retention of 7 days: version 3 was current at the cutoff, so 3 and 4 must stay readable
  // (the file version 4 removed included); only the old unreferenced file goes.
  VacuumOptions options;
  options.dry_run = true;
  auto dry = Vacuum(fs_, *connection_, table_, options);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->oldest_retained_version, 3);
  ASSERT_EQ(dry->deleted.size(), 1u);
  EXPECT_EQ(dry->deleted[0], table_ + "/part-stray.parquet");
  EXPECT_TRUE(std::filesystem::exists(table_ + "/part-stray.parquet"));

  options.dry_run = false;
  auto done = Vacuum(fs_, *connection_, table_, options);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->deleted, dry->deleted);
  EXPECT_FALSE(std::filesystem::exists(table_ + "/part-stray.parquet"));
  EXPECT_TRUE(std::filesystem::exists(table_ + "/.hidden"));
  EXPECT_EQ(Count(3), counts[3]);
  EXPECT_EQ(Count(4), counts[4]);

  // Ten days later with one day of retention: only version 4 is kept; the removed file (old
  // enough) goes, version 4 still reads.
  options.retain_hours = 24;
  options.now_ms = [] { return NowMs() + 10LL * 24 * 3600 * 1000; };
  auto later = Vacuum(fs_, *connection_, table_, options);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->oldest_retained_version, 4);
  auto removed_path = ResolveDataPath(table_, removed);
  ASSERT_TRUE(removed_path.ok());
  EXPECT_FALSE(std::filesystem::exists(*removed_path));
  EXPECT_EQ(Count(4), counts[4]);
  EXPECT_GE(later->deleted.size(), 1u);
}

// Change-data files are kept while a commit inside retention added them and deleted, like
// data files, once older than the cutoff and needed by no retained version.
TEST_F(VacuumTest, KeepsTheChangeFeedOfRetainedVersionsOnly) {
  std::string table = table_ + "-feed";
  CreateTableOptions create{*ParseSchema(R"json({"type":"struct","fields":[
      {"name":"id","type":"long","nullable":false,"metadata":{}},
      {"name":"n","type":"long","nullable":true,"metadata":{}}]})json")};
  create.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(CreateTable(fs_, table, create).ok());
  auto writer = UpsertWriter::Open(fs_, *connection_, table, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto upsert = [&](int64_t id, int64_t n) {
    RowChange change;
    change.op = ChangeOp::kInsert;
    change.row = {engine::Value::Int(id), engine::Value::Int(n)};
    auto version = writer->Apply(ChangeBatch{{change}});
    ASSERT_TRUE(version.ok()) << version.status();
  };
  upsert(1, 10);  // version 1
  upsert(1, 11);  // version 2
  upsert(2, 20);  // version 3
  auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(240);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(table)) {
    if (entry.is_regular_file()) std::filesystem::last_write_time(entry.path(), old);
  }
  upsert(2, 21);  // version 4, now
  auto change_files = [&] {
    std::set<std::string> files;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(table + "/_change_data")) {
      if (entry.is_regular_file()) files.insert(entry.path().string());
    }
    return files;
  };
  // The updates (versions 2 and 4) wrote change-data files; the inserts' feed is their adds.
  ASSERT_EQ(change_files().size(), 2u);

  // Version 3 was current at the cutoff: the feed of versions 3 and 4 stays; 1 and 2 go.
  auto done = Vacuum(fs_, *connection_, table);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->oldest_retained_version, 3);
  EXPECT_EQ(change_files().size(), 1u);
  size_t deleted_change_files = 0;
  for (const std::string& path : done->deleted) {
    deleted_change_files += path.find("/_change_data/") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(deleted_change_files, 1u);
  auto sql = ChangeFeedSql(fs_, *connection_, table, 3, std::nullopt);
  ASSERT_TRUE(sql.ok()) << sql.status();
  auto feed = connection_->Query("SELECT count(*) FROM (" + *sql + ")");
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->rows[0][0].integer(), 3);  // insert 2; update pre- and post-image of 2
}

// Spark-written tables (partition folders with escaped names, deletion vectors, checkpoints):
// vacuum with no retention deletes only files the latest version does not read.
TEST(VacuumConformanceTest, LatestVersionReadsTheSameAfterVacuum) {
  auto db = engine::Database::Open("");
  ASSERT_TRUE(db.ok());
  auto connection = db->Connect();
  ASSERT_TRUE(connection.ok());
  LocalFileSystem fs;
  size_t deleted = 0;
  for (const char* name : {"dv-partitioned-with-checkpoint", "data-reader-escaped-chars",
                           "basic-dv-with-checkpoint"}) {
    testing::ScratchDir dir;
    std::string table = dir / "table";
    std::filesystem::copy(std::string(FRESHET_DELTA_CONFORMANCE_DIR) + "/" + name + "/table", table,
                          std::filesystem::copy_options::recursive);
    std::filesystem::permissions(table, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(table)) {
      std::filesystem::permissions(entry.path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add);
    }
    auto rows_of = [&]() -> std::string {
      auto snapshot = Snapshot::Load(fs, *connection, table);
      if (!snapshot.ok()) return snapshot.status().ToString();
      auto sql = ScanSql(fs, *connection, *snapshot);
      if (!sql.ok()) return sql.status().ToString();
      auto result = connection->Query("SELECT * FROM (" + *sql + ") ORDER BY ALL");
      if (!result.ok()) return result.status().ToString();
      std::string text;
      for (const auto& row : result->rows) {
        for (const auto& value : row) text += value.ToString() + "|";
        text += "\n";
      }
      return text;
    };
    std::string before = rows_of();
    VacuumOptions options;
    options.retain_hours = 0;
    options.now_ms = [] { return NowMs() + 3600 * 1000; };
    auto result = Vacuum(fs, *connection, table, options);
    ASSERT_TRUE(result.ok()) << name << ": " << result.status();
    EXPECT_EQ(rows_of(), before) << name;
    EXPECT_GT(result->kept_files, 0) << name;
    deleted += result->deleted.size();
  }
  EXPECT_GE(deleted, 18u);  // dv-partitioned-with-checkpoint alone has 18 unreferenced files
}

}  // namespace
}  // namespace freshet::lake
