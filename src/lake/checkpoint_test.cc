#include "lake/checkpoint.h"

#include <chrono>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

namespace stdfs = std::filesystem;

class CheckpointTest : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(connection_->Execute("SET TimeZone = 'UTC'").ok());
    auto schema = ParseSchema(
        R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
        R"({"name":"p","type":"string","nullable":true,"metadata":{}}]})");
    CreateTableOptions options{*schema, {"p"}, {{"delta.checkpointInterval", "3"}}};
    ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  }

  // Appends ids [from, to) and deletes the first row of the first file; returns the version.
  Version AppendAndDelete(FileSystem& fs, int from, int to, Status* checkpoint = nullptr) {
    auto txn = Transaction::Begin(fs, *connection_, table_);
    EXPECT_TRUE(txn.ok()) << txn.status();
    EXPECT_TRUE(txn->Append(fmt::format("SELECT i AS id, 'p' || (i % 2) AS p FROM range({}, {}) "
                                        "t(i)",
                                        from, to))
                    .ok());
    DeleteANewRow(*txn);
    auto version = txn->Commit();
    EXPECT_TRUE(version.ok()) << version.status();
    if (checkpoint != nullptr) *checkpoint = txn->checkpoint_status();
    return version.value_or(-1);
  }

  // Deletes one more row of the first file (other than `skip`) that keeps a row: our DVs
  // always cover rows 0..c-1, so row c is new.
  void DeleteANewRow(Transaction& txn, const std::string& skip = "") {
    for (const AddFile& file : txn.read_snapshot().files()) {
      if (file.path == skip) continue;
      int64_t deleted = file.deletion_vector ? file.deletion_vector->cardinality : 0;
      if (deleted + 1 < file.NumRecords().value_or(0)) {
        EXPECT_TRUE(txn.DeleteRows(file.path, {static_cast<uint64_t>(deleted)}).ok());
        return;
      }
    }
  }

  // A table of the same commits without the checkpoints: what a replay of every commit gives.
  std::string ReplayOnly() {
    std::string replay = dir_ / "replay";
    stdfs::create_directories(LogPath(replay));
    for (const auto& entry : stdfs::directory_iterator(LogPath(table_))) {
      if (entry.path().extension() == ".json") {
        stdfs::copy(entry.path(), LogPath(replay) + "/" + entry.path().filename().string());
      }
    }
    return replay;
  }

  int64_t Count(const Snapshot& snapshot) {
    auto sql = ScanSql(fs_, *connection_, snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    auto result = connection_->Query("SELECT count(*) FROM (" + sql.value_or("SELECT 1") + ")");
    return result.ok() ? result->rows[0][0].integer() : -1;
  }
};

TEST_F(CheckpointTest, WriterCheckpointsEveryIntervalInTheSpecSchema) {
  for (int i = 0; i < 7; ++i) AppendAndDelete(fs_, i * 10, i * 10 + 10);
  std::string log = LogPath(table_);
  EXPECT_TRUE(stdfs::exists(log + "/00000000000000000003.checkpoint.parquet"));
  EXPECT_TRUE(stdfs::exists(log + "/00000000000000000006.checkpoint.parquet"));
  EXPECT_FALSE(stdfs::exists(log + "/00000000000000000007.checkpoint.parquet"));
  auto last = nlohmann::json::parse(*fs_.Get(log + "/_last_checkpoint"));
  EXPECT_EQ(last["version"], 6);

  auto from_checkpoint = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(from_checkpoint.ok()) << from_checkpoint.status();
  EXPECT_EQ(from_checkpoint->checkpoint_version(), 6);
  EXPECT_EQ(Count(*from_checkpoint), 70 - 6);

  // The checkpoint restates the commits: replaying JSON only gives the same table.
  stdfs::remove(log + "/00000000000000000003.checkpoint.parquet");
  stdfs::remove(log + "/00000000000000000006.checkpoint.parquet");
  auto replayed = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->files().size(), from_checkpoint->files().size());
  for (size_t i = 0; i < replayed->files().size(); ++i) {
    EXPECT_EQ(replayed->files()[i].path, from_checkpoint->files()[i].path);
    EXPECT_EQ(replayed->files()[i].deletion_vector, from_checkpoint->files()[i].deletion_vector);
    EXPECT_EQ(replayed->files()[i].partition_values, from_checkpoint->files()[i].partition_values);
  }
  EXPECT_EQ(replayed->metadata(), from_checkpoint->metadata());
  EXPECT_EQ(replayed->protocol(), from_checkpoint->protocol());
}

TEST_F(CheckpointTest, CheckpointColumnsFollowTheSpec) {
  for (int i = 0; i < 3; ++i) AppendAndDelete(fs_, i * 10, i * 10 + 10);
  auto columns = connection_->Query(
      "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('" +
      LogPath(table_) + "/00000000000000000003.checkpoint.parquet'))");
  ASSERT_TRUE(columns.ok()) << columns.status();
  std::vector<std::string> names;
  for (const auto& row : columns->rows) names.push_back(row[0].string());
  EXPECT_EQ(names, (std::vector<std::string>{"txn", "add", "remove", "metaData", "protocol"}));
  EXPECT_NE(columns->rows[1][1].string().find("partitionValues MAP(VARCHAR, VARCHAR)"),
            std::string::npos);
  EXPECT_NE(columns->rows[1][1].string().find("deletionVector STRUCT(storageType VARCHAR"),
            std::string::npos);
}

TEST_F(CheckpointTest, AFailedCheckpointKeepsTheCommitAndTheTableReadable) {
  AppendAndDelete(fs_, 0, 10);
  AppendAndDelete(fs_, 10, 20);
  FaultyFileSystem faulty(fs_);
  faulty.FailNext(FaultyFileSystem::Op::kPut, Status::IOError("injected"), "checkpoint");
  Status checkpoint;
  EXPECT_EQ(AppendAndDelete(faulty, 20, 30, &checkpoint), 3);
  EXPECT_TRUE(checkpoint.Is(Code::kIOError)) << checkpoint;
  EXPECT_FALSE(stdfs::exists(LogPath(table_) + "/00000000000000000003.checkpoint.parquet"));
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->version(), 3);
  EXPECT_EQ(Count(*snapshot), 30 - 2);
  // _last_checkpoint failing after the checkpoint file: readers still find the checkpoint.
  faulty.FailNext(FaultyFileSystem::Op::kPut, Status::IOError("injected"), "_last_checkpoint");
  AppendAndDelete(faulty, 30, 40);
  AppendAndDelete(faulty, 40, 50);
  EXPECT_EQ(AppendAndDelete(faulty, 50, 60, &checkpoint), 6);
  EXPECT_TRUE(checkpoint.Is(Code::kIOError));
  auto later = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->checkpoint_version(), 6);
  EXPECT_EQ(Count(*later), 60 - 5);
}

TEST_F(CheckpointTest, CleanupKeepsEveryVersionFromTheLastExpiredCheckpoint) {
  for (int i = 0; i < 7; ++i) AppendAndDelete(fs_, i * 10, i * 10 + 10);
  int64_t far_future = int64_t{4102444800000};  // 2100-01-01
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto kept = CleanupLog(fs_, table_, now);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->deleted_files, 0);  // nothing is 30 days old yet
  auto cleaned = CleanupLog(fs_, table_, far_future);
  ASSERT_TRUE(cleaned.ok()) << cleaned.status();
  EXPECT_EQ(cleaned->earliest_version, 6);
  EXPECT_EQ(cleaned->deleted_files, 6 + 1);  // commits 0-5 and checkpoint 3
  auto latest = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(Count(*latest), 70 - 6);
  auto v6 = Snapshot::Load(fs_, *connection_, table_, 6);
  EXPECT_TRUE(v6.ok()) << v6.status();
  auto v2 = Snapshot::Load(fs_, *connection_, table_, 2);
  EXPECT_TRUE(v2.status().Is(Code::kNotFound));
  EXPECT_NE(v2.status().message().find("earliest readable version is 6"), std::string::npos)
      << v2.status();
}

TEST(Interval, ParsesDeltaDurations) {
  EXPECT_EQ(*ParseIntervalMs("interval 30 days"), 30 * 86'400'000LL);
  EXPECT_EQ(*ParseIntervalMs("interval 1 hour"), 3'600'000);
  EXPECT_EQ(*ParseIntervalMs("2 weeks"), 14 * 86'400'000LL);
  EXPECT_TRUE(ParseIntervalMs("soon").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(ParseIntervalMs("interval 3 fortnights").status().Is(Code::kInvalidArgument));
}

TEST_F(CheckpointTest, CommitsCleanUpExpiredLogFilesAfterACheckpoint) {
  // A writer clock a year ahead makes every earlier commit older than the 30-day retention.
  for (int i = 0; i < 5; ++i) AppendAndDelete(fs_, i * 10, i * 10 + 10);
  WriterOptions future;
  future.now_ms = [] { return int64_t{4102444800000}; };
  auto txn = Transaction::Begin(fs_, *connection_, table_, future);
  ASSERT_TRUE(txn->Append("SELECT 1000 AS id, 'x' AS p").ok());
  ASSERT_EQ(*txn->Commit(), 6);
  EXPECT_TRUE(txn->checkpoint_status().ok()) << txn->checkpoint_status();
  EXPECT_FALSE(stdfs::exists(LogPath(table_) + "/00000000000000000000.json"));
  EXPECT_TRUE(stdfs::exists(LogPath(table_) + "/00000000000000000006.json"));
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(Count(*snapshot), 50 - 4 + 1);
}

// (path, DV, time, size) of every tombstone a snapshot holds.
std::set<std::string> TombstoneKeys(const Snapshot& snapshot, int64_t oldest = INT64_MIN) {
  std::set<std::string> keys;
  for (const RemoveFile& remove : snapshot.tombstones()) {
    if (remove.deletion_timestamp.value_or(0) < oldest) continue;
    keys.insert(fmt::format("{}|{}|{}|{}", remove.path, remove.DvUniqueId(),
                            remove.deletion_timestamp.value_or(-1), remove.size.value_or(-1)));
  }
  return keys;
}

std::set<std::string> FileKeysOf(const Snapshot& snapshot) {
  std::set<std::string> keys;
  for (const AddFile& add : snapshot.files()) keys.insert(add.path + "|" + add.DvUniqueId());
  return keys;
}

// Checkpoints written from the previous one (its tombstones copied inside DuckDB) hold exactly
// the unexpired tombstones a replay of every commit gives: deletion-vector replacements,
// whole-file removes, expired ones left out, and the tombstone of a file re-added after the
// checkpoint that held it dropped.
TEST_F(CheckpointTest, CheckpointsFromThePreviousKeepTheTombstonesOfAFullReplay) {
  int64_t now = int64_t{1'700'000'000'000};
  WriterOptions writer;
  writer.now_ms = [&now] { return now; };
  std::optional<AddFile> removed;  // removed whole at step 4, re-added at step 8
  for (int step = 0; step < 14; ++step) {
    now += 3'600'000;
    if (step == 2) now += 8 * 86'400'000LL;  // the tombstones of steps 0 and 1 expire
    if (step == 8) {
      ASSERT_TRUE(removed.has_value());
      auto latest = LatestVersion(fs_, table_);
      ASSERT_TRUE(latest.ok());
      ASSERT_TRUE(fs_.PutIfAbsent(JoinPath(LogPath(table_), CommitFileName(*latest + 1)),
                                  ToJsonLine(*removed) + "\n")
                      .ok());
      continue;
    }
    auto txn = Transaction::Begin(fs_, *connection_, table_, writer);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Append(fmt::format("SELECT i AS id, 'p' || (i % 2) AS p FROM range({}, {}) "
                                        "t(i)",
                                        step * 10, step * 10 + 10))
                    .ok());
    const auto& files = txn->read_snapshot().files();
    if (step == 4) {
      ASSERT_GE(files.size(), 2u);
      removed = files.back();
      ASSERT_TRUE(txn->Remove(files.back().path).ok());
    }
    DeleteANewRow(*txn, removed ? removed->path : "");
    ASSERT_TRUE(txn->Commit().ok());
    ASSERT_TRUE(txn->checkpoint_status().ok()) << txn->checkpoint_status();
  }
  auto latest = Snapshot::Load(fs_, *connection_, table_, std::nullopt, /*tombstones=*/false);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_EQ(latest->version(), 14);
  ASSERT_EQ(latest->checkpoint_version(), 12);
  ASSERT_TRUE(WriteCheckpointFromPrevious(fs_, *connection_, *latest, now).ok());

  // The reference: every commit replayed, no checkpoint.
  auto replayed = Snapshot::Load(fs_, *connection_, ReplayOnly());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  auto checkpointed = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.status();
  ASSERT_EQ(checkpointed->checkpoint_version(), 14);
  int64_t oldest = now - kDefaultTombstoneRetentionMs;
  EXPECT_EQ(TombstoneKeys(*checkpointed), TombstoneKeys(*replayed, oldest));
  EXPECT_LT(TombstoneKeys(*replayed, oldest).size(), TombstoneKeys(*replayed).size());
  EXPECT_GT(TombstoneKeys(*checkpointed).size(), 8u);
  for (const RemoveFile& remove : checkpointed->tombstones()) {
    EXPECT_FALSE(remove.path == removed->path && remove.DvUniqueId() == removed->DvUniqueId())
        << "the re-added file kept its tombstone";
  }
  EXPECT_EQ(FileKeysOf(*checkpointed), FileKeysOf(*replayed));
}

// A writer that keeps its snapshot from its own commits (CommittedSnapshot, Begin(snapshot))
// checkpoints from that snapshot, whose tombstones Advance carries and each checkpoint clears:
// every checkpoint must hold what a replay of every commit gives, also across another writer's
// commit (after which the writer loads the log again).
TEST_F(CheckpointTest, CheckpointsFromAWritersOwnSnapshotsMatchAFullReplay) {
  std::optional<Snapshot> snapshot;
  for (int step = 0; step < 14; ++step) {
    if (step == 7) {
      AppendAndDelete(fs_, 1000, 1010);  // another writer
      snapshot.reset();
    }
    if (!snapshot) {
      auto loaded = Snapshot::Load(fs_, *connection_, table_, std::nullopt, false);
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      snapshot = std::move(loaded).value();
    }
    auto txn = Transaction::Begin(fs_, *connection_, std::move(*snapshot));
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Append(fmt::format("SELECT i AS id, 'p' || (i % 2) AS p FROM range({}, {}) "
                                        "t(i)",
                                        step * 10, step * 10 + 10))
                    .ok());
    std::string removed;
    if (step % 4 == 3) {
      removed = txn->read_snapshot().files().front().path;
      ASSERT_TRUE(txn->Remove(removed).ok());
    }
    DeleteANewRow(*txn, removed);
    ASSERT_TRUE(txn->Commit().ok());
    ASSERT_TRUE(txn->checkpoint_status().ok()) << txn->checkpoint_status();
    auto committed = txn->CommittedSnapshot();
    ASSERT_TRUE(committed.ok()) << committed.status();
    ASSERT_TRUE(committed->has_value());
    snapshot = std::move(**committed);
  }
  std::string replay = ReplayOnly();
  int checkpoints = 0;
  for (Version version = 3; version <= 15; version += 3) {
    auto checkpointed = Snapshot::Load(fs_, *connection_, table_, version);
    ASSERT_TRUE(checkpointed.ok()) << checkpointed.status();
    ASSERT_EQ(checkpointed->checkpoint_version(), version);
    auto replayed = Snapshot::Load(fs_, *connection_, replay, version);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(TombstoneKeys(*checkpointed), TombstoneKeys(*replayed)) << "version " << version;
    EXPECT_EQ(FileKeysOf(*checkpointed), FileKeysOf(*replayed)) << "version " << version;
    ++checkpoints;
  }
  EXPECT_EQ(checkpoints, 5);
}

}  // namespace
}  // namespace freshet::lake
