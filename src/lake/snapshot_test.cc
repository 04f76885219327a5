#include "lake/snapshot.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

namespace stdfs = std::filesystem;

std::string CaseTable(const std::string& name) {
  return std::string(FRESHET_DELTA_CONFORMANCE_DIR) + "/" + name + "/table";
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = engine::Database::Open("");
    ASSERT_TRUE(db.ok()) << db.status();
    auto connection = db->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_.emplace(std::move(connection).value());
    ASSERT_TRUE(connection_->Execute("SET TimeZone = 'UTC'").ok());
  }

  // A scratch copy of a conformance table, for tests that damage it.
  std::string CopyOf(const std::string& name) {
    std::string target = dir_ / name;
    stdfs::copy(CaseTable(name), target, stdfs::copy_options::recursive);
    return target;
  }

  void WriteCommit(const std::string& table, Version version, const std::string& text) {
    ASSERT_TRUE(fs_.Put(JoinPath(LogPath(table), CommitFileName(version)), text).ok());
  }

  int64_t CountRows(const Snapshot& snapshot) {
    auto sql = ScanSql(fs_, *connection_, snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    if (!sql.ok()) return -1;
    auto result = connection_->Query("SELECT count(*) FROM (" + *sql + ")");
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->rows[0][0].integer() : -1;
  }

  testing::ScratchDir dir_;
  LocalFileSystem fs_;
  std::optional<engine::Connection> connection_;
};

// What identifies a logical file and its contents (checkpoints may drop or add optional
// fields such as tags, so whole actions need not compare equal).
std::vector<std::string> FileKeys(const Snapshot& snapshot) {
  std::vector<std::string> keys;
  for (const AddFile& add : snapshot.files()) {
    std::string key = add.path + "|" + add.DvUniqueId() + "|" + std::to_string(add.size);
    for (const auto& [column, value] : add.partition_values) {
      key += "|" + column + "=" + value.value_or("<null>");
    }
    keys.push_back(key + "|" + std::to_string(add.NumRecords().value_or(-1)));
  }
  return keys;
}

constexpr const char* kMinimalCommit =
    R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
    "\n"
    R"({"metaData":{"id":"x","format":{"provider":"parquet"},"schemaString":)"
    R"("{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,)"
    R"(\"metadata\":{}}]}","partitionColumns":[],"configuration":{}}})"
    "\n";

TEST_F(SnapshotTest, ResolvesEveryKindOfCheckpoint) {
  struct Expectation {
    const char* name;
    Version version;
    Version checkpoint;
    size_t files;
  };
  for (const Expectation& e : {Expectation{"basic-dv-with-checkpoint", 46, 40, 2},
                               Expectation{"multi-part-checkpoint", 1, 1, 10},
                               Expectation{"v2-checkpoint-json", 2, 2, 4}}) {
    auto snapshot = Snapshot::Load(fs_, *connection_, CaseTable(e.name));
    ASSERT_TRUE(snapshot.ok()) << e.name << ": " << snapshot.status();
    EXPECT_EQ(snapshot->version(), e.version) << e.name;
    EXPECT_EQ(snapshot->checkpoint_version(), e.checkpoint) << e.name;
    EXPECT_EQ(snapshot->files().size(), e.files) << e.name;
  }
}

TEST_F(SnapshotTest, ReplayingCommitsOnlyGivesTheSameFiles) {
  for (const char* name : {"basic-dv-with-checkpoint", "dv-partitioned-with-checkpoint",
                           "basic-with-inserts-overwrite-restore", "v2-checkpoint-json"}) {
    auto with_checkpoint = Snapshot::Load(fs_, *connection_, CaseTable(name));
    ASSERT_TRUE(with_checkpoint.ok()) << with_checkpoint.status();
    std::string copy = CopyOf(name);
    for (const auto& entry : stdfs::directory_iterator(LogPath(copy))) {
      std::string file = entry.path().filename().string();
      if (file.find("checkpoint") != std::string::npos) stdfs::remove_all(entry.path());
    }
    auto commits_only = Snapshot::Load(fs_, *connection_, copy);
    ASSERT_TRUE(commits_only.ok()) << commits_only.status();
    EXPECT_FALSE(commits_only->checkpoint_version().has_value());
    EXPECT_EQ(FileKeys(*commits_only), FileKeys(*with_checkpoint)) << name;
    EXPECT_EQ(commits_only->metadata(), with_checkpoint->metadata()) << name;
  }
}

TEST_F(SnapshotTest, IncompleteMultiPartCheckpointIsIgnored) {
  std::string copy = CopyOf("multi-part-checkpoint");
  stdfs::remove(
      JoinPath(LogPath(copy), "00000000000000000001.checkpoint.0000000002.0000000002.parquet"));
  auto snapshot = Snapshot::Load(fs_, *connection_, copy);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_FALSE(snapshot->checkpoint_version().has_value());
  EXPECT_EQ(CountRows(*snapshot), 31);
}

TEST_F(SnapshotTest, TimeTravelsByVersion) {
  auto v5 =
      Snapshot::Load(fs_, *connection_, CaseTable("basic-with-inserts-deletes-checkpoint"), 5);
  ASSERT_TRUE(v5.ok()) << v5.status();
  EXPECT_EQ(v5->version(), 5);
  EXPECT_EQ(CountRows(*v5), 45);
  EXPECT_EQ(v5->commit_info()->operation, "DELETE");
  auto too_new =
      Snapshot::Load(fs_, *connection_, CaseTable("basic-with-inserts-deletes-checkpoint"), 99);
  EXPECT_TRUE(too_new.status().Is(Code::kNotFound));
  EXPECT_NE(too_new.status().message().find("latest version is 13"), std::string::npos);
}

TEST_F(SnapshotTest, TimeTravelsByTimestampAndListsHistory) {
  std::string copy = CopyOf("basic-with-inserts-deletes-checkpoint");
  // Give commit v the modification time 1e12 + v seconds.
  auto base = stdfs::file_time_type::clock::now() - std::chrono::hours(24 * 365);
  for (Version v = 0; v <= 13; ++v) {
    stdfs::last_write_time(JoinPath(LogPath(copy), CommitFileName(v)),
                           base + std::chrono::seconds(10 * v));
  }
  auto history = History(fs_, copy);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 14u);
  int64_t t3 = (*history)[3].timestamp_ms;
  EXPECT_EQ((*history)[4].timestamp_ms - t3, 10000);
  EXPECT_EQ((*history)[0].commit_info->operation, "WRITE");
  auto at_t3 = Snapshot::LoadAsOf(fs_, *connection_, copy, t3 + 5000);
  ASSERT_TRUE(at_t3.ok()) << at_t3.status();
  EXPECT_EQ(at_t3->version(), 3);
  EXPECT_EQ(CountRows(*at_t3), 40);
  auto before = Snapshot::LoadAsOf(fs_, *connection_, copy, (*history)[0].timestamp_ms - 1);
  EXPECT_TRUE(before.status().Is(Code::kNotFound));

  // A range gives the same entries as the whole history, also where a file time goes back.
  stdfs::last_write_time(JoinPath(LogPath(copy), CommitFileName(6)), base);
  auto whole = History(fs_, copy);
  auto range = History(fs_, copy, 5, 8);
  ASSERT_TRUE(whole.ok() && range.ok()) << range.status();
  ASSERT_EQ(range->size(), 4u);
  for (size_t i = 0; i < range->size(); ++i) {
    const CommitEntry& expected = (*whole)[5 + i];
    EXPECT_EQ((*range)[i].version, expected.version);
    EXPECT_EQ((*range)[i].timestamp_ms, expected.timestamp_ms);
    EXPECT_EQ((*range)[i].commit_info.has_value(), expected.commit_info.has_value());
  }
  EXPECT_EQ((*range)[1].timestamp_ms, (*range)[0].timestamp_ms + 1);
}

TEST_F(SnapshotTest, KeepsTheLatestTxnVersionPerApplication) {
  std::string table = dir_ / "txn";
  WriteCommit(table, 0, std::string(kMinimalCommit) + R"({"txn":{"appId":"a","version":3}})");
  WriteCommit(table, 1,
              R"({"txn":{"appId":"a","version":7}})"
              "\n"
              R"({"txn":{"appId":"b","version":1}})");
  auto snapshot = Snapshot::Load(fs_, *connection_, table);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->AppVersion("a"), 7);
  EXPECT_EQ(snapshot->AppVersion("b"), 1);
  EXPECT_EQ(snapshot->AppVersion("c"), std::nullopt);
  EXPECT_EQ(CountRows(*snapshot), 0);
}

TEST_F(SnapshotTest, RefusesAnUnknownReaderFeatureByName) {
  std::string table = dir_ / "future";
  WriteCommit(table, 0,
              R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,)"
              R"("readerFeatures":["deletionVectors","fancyNewThing"],"writerFeatures":[]}})"
              "\n" +
                  std::string(kMinimalCommit).substr(std::string(kMinimalCommit).find('\n') + 1));
  auto snapshot = Snapshot::Load(fs_, *connection_, table);
  EXPECT_TRUE(snapshot.status().Is(Code::kNotSupported)) << snapshot.status();
  EXPECT_NE(snapshot.status().message().find("'fancyNewThing'"), std::string::npos);
  EXPECT_NE(snapshot.status().message().find(table), std::string::npos);
}

TEST_F(SnapshotTest, AFolderThatIsNotATableSaysSo) {
  auto missing = Snapshot::Load(fs_, *connection_, dir_ / "nothing");
  EXPECT_TRUE(missing.status().Is(Code::kNotFound));
  EXPECT_NE(missing.status().message().find("is not a Delta table"), std::string::npos);
  ASSERT_TRUE(fs_.Put(dir_ / "empty/_delta_log/readme.txt", "x").ok());
  auto empty = Snapshot::Load(fs_, *connection_, dir_ / "empty");
  EXPECT_NE(empty.status().message().find("is not a Delta table"), std::string::npos);
}

TEST_F(SnapshotTest, ACorruptCommitNamesTheFileAndLine) {
  std::string table = dir_ / "corrupt";
  WriteCommit(table, 0, kMinimalCommit);
  WriteCommit(table, 1, "{\"add\":{\"path\":\"x\",\n");
  auto snapshot = Snapshot::Load(fs_, *connection_, table);
  EXPECT_TRUE(snapshot.status().Is(Code::kCorruption));
  EXPECT_NE(snapshot.status().message().find("00000000000000000001.json line 1"), std::string::npos)
      << snapshot.status();
}

TEST_F(SnapshotTest, AGapInTheLogIsCorruption) {
  std::string table = dir_ / "gap";
  WriteCommit(table, 0, kMinimalCommit);
  WriteCommit(table, 2, R"({"txn":{"appId":"a","version":1}})");
  auto snapshot = Snapshot::Load(fs_, *connection_, table);
  EXPECT_TRUE(snapshot.status().Is(Code::kCorruption));
  EXPECT_NE(snapshot.status().message().find("00000000000000000001.json is missing"),
            std::string::npos)
      << snapshot.status();
}

TEST_F(SnapshotTest, AMissingDataFileIsNamed) {
  std::string copy = CopyOf("basic-with-inserts-deletes-checkpoint");
  auto snapshot = Snapshot::Load(fs_, *connection_, copy);
  ASSERT_TRUE(snapshot.ok());
  std::string victim = JoinPath(copy, snapshot->files()[0].path);
  stdfs::remove(victim);
  auto sql = ScanSql(fs_, *connection_, *snapshot);
  EXPECT_TRUE(sql.status().Is(Code::kNotFound));
  EXPECT_NE(sql.status().message().find(victim), std::string::npos) << sql.status();
}

TEST_F(SnapshotTest, ADeletionVectorChecksumMismatchIsNamed) {
  std::string copy = CopyOf("basic-dv-no-checkpoint");
  std::string dv_file;
  for (const auto& entry : stdfs::directory_iterator(copy)) {
    if (entry.path().filename().string().starts_with("deletion_vector_")) {
      dv_file = entry.path().string();
    }
  }
  ASSERT_FALSE(dv_file.empty());
  auto bytes = fs_.Get(dv_file);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[20] = static_cast<char>((*bytes)[20] ^ 1);
  ASSERT_TRUE(fs_.Put(dv_file, *bytes).ok());
  auto snapshot = Snapshot::Load(fs_, *connection_, copy);
  ASSERT_TRUE(snapshot.ok());
  auto sql = ScanSql(fs_, *connection_, *snapshot);
  EXPECT_TRUE(sql.status().Is(Code::kCorruption)) << sql.status();
  EXPECT_NE(sql.status().message().find("checksum mismatch"), std::string::npos);
  EXPECT_NE(sql.status().message().find(dv_file), std::string::npos);
}

TEST_F(SnapshotTest, TimestampsReadTheSameInAnySessionTimeZone) {
  // A Delta timestamp column stored without the UTC flag (as Spark's INT96 is read) and a
  // timestamp_ntz column stored with it: both must read as their UTC values.
  std::string table = dir_ / "zones";
  std::string schema =
      R"({\"type\":\"struct\",\"fields\":[{\"name\":\"ts\",\"type\":\"timestamp\",)"
      R"(\"nullable\":true,\"metadata\":{}},{\"name\":\"ntz\",\"type\":)"
      R"(\"timestamp_ntz\",\"nullable\":true,\"metadata\":{}}]})";
  WriteCommit(table, 0,
              R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,)"
              R"("readerFeatures":["timestampNtz"],"writerFeatures":["timestampNtz"]}})"
              "\n"
              R"({"metaData":{"id":"z","format":{"provider":"parquet"},"schemaString":")" +
                  schema +
                  R"(","partitionColumns":[],"configuration":{}}})"
                  "\n"
                  R"({"add":{"path":"f.parquet","partitionValues":{},"size":1,)"
                  R"("modificationTime":1,"dataChange":true}})");
  ASSERT_TRUE(connection_
                  ->Execute("COPY (SELECT TIMESTAMP '2021-01-01 10:00:00' AS ts, TIMESTAMPTZ "
                            "'2021-01-01 10:00:00+00' AS ntz) TO '" +
                            table + "/f.parquet'")
                  .ok());
  ASSERT_TRUE(connection_->Execute("SET TimeZone = 'America/New_York'").ok());
  auto snapshot = Snapshot::Load(fs_, *connection_, table);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto sql = ScanSql(fs_, *connection_, *snapshot);
  ASSERT_TRUE(sql.ok()) << sql.status();
  auto result = connection_->Query("SELECT epoch_us(ts), epoch_us(ntz) FROM (" + *sql + ")");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows[0][0].integer(), 1609495200000000);
  EXPECT_EQ(result->rows[0][1].integer(), 1609495200000000);
}

TEST_F(SnapshotTest, ScanAppliesDeletionVectors) {
  auto snapshot = Snapshot::Load(fs_, *connection_, CaseTable("basic-dv-with-checkpoint"));
  ASSERT_TRUE(snapshot.ok());
  ScanStats stats;
  auto sql = ScanSql(fs_, *connection_, *snapshot, {}, &stats);
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(stats.files, 2);
  EXPECT_EQ(stats.deleted_rows, 46);
  EXPECT_EQ(CountRows(*snapshot), 454);
}

}  // namespace
}  // namespace freshet::lake
