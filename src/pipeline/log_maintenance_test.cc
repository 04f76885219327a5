#include "pipeline/log_maintenance.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "lake/scan.h"
#include "lake/schema.h"
#include "lake/snapshot.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"

namespace freshet::pipeline {
namespace {

using engine::Value;

class LogMaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (std::filesystem::temp_directory_path() /
             fmt::format("freshet-log-maintenance-test-{}", getpid()))
                .string();
    std::filesystem::remove_all(root_);
    table_ = root_ + "/t";
    auto database = engine::Database::Open("");
    ASSERT_TRUE(database.ok()) << database.status();
    database_.emplace(std::move(*database));
    auto connection = database_->Connect();
    ASSERT_TRUE(connection.ok()) << connection.status();
    connection_.emplace(std::move(*connection));
    lake::CreateTableOptions create;
    create.schema = *lake::ParseSchema(R"json({"type":"struct","fields":[
      {"name":"id","type":"long","nullable":false,"metadata":{}},
      {"name":"n","type":"long","nullable":true,"metadata":{}}]})json");
    ASSERT_TRUE(lake::CreateTable(fs_, table_, create).ok());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Commits `commits` batches of `rows` inserts (ids counting up from 0, n = id) through a
  // writer with checkpoints off, as the pipeline's are.
  void Commit(int commits, int rows = 1) {
    lake::UpsertOptions options{.key_columns = {"id"}};
    options.writer.checkpoint_interval = 0;
    auto writer = lake::UpsertWriter::Open(fs_, *connection_, table_, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (int commit = 0; commit < commits; ++commit) {
      lake::ChangeBatch batch;
      for (int row = 0; row < rows; ++row) {
        int64_t id = (commit * rows) + row;
        batch.changes.push_back(
            {.op = lake::ChangeOp::kInsert, .row = {Value::Int(id), Value::Int(id)}});
      }
      ASSERT_TRUE(writer->Apply(batch).ok());
    }
  }

  bool HasCheckpoint(lake::Version version) const {
    return std::filesystem::exists(
        fmt::format("{}/_delta_log/{:020d}.checkpoint.parquet", table_, version));
  }

  std::string root_;
  std::string table_;
  lake::LocalFileSystem fs_;
  std::optional<engine::Database> database_;
  std::optional<engine::Connection> connection_;
};

TEST_F(LogMaintenanceTest, WritesTheNewestScheduledVersionOffTheCaller) {
  Commit(12);
  ASSERT_FALSE(HasCheckpoint(10));  // the writer wrote none itself
  auto maintenance = LogMaintenance::Start(fs_, *database_);
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  (*maintenance)->Schedule({.path = table_}, 10);
  (*maintenance)->Schedule({.path = table_}, 12);
  (*maintenance)->ReleaseMemory();
  (*maintenance)->Drain();
  EXPECT_TRUE(HasCheckpoint(12));
  EXPECT_GE((*maintenance)->written(), 1u);
  // The table reads the same from its checkpoint.
  auto snapshot = lake::Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->version(), 12);
  EXPECT_EQ(snapshot->files().size(), 12u);
}

TEST_F(LogMaintenanceTest, AFailedCheckpointIsLoggedAndTheThreadGoesOn) {
  Commit(2);
  auto maintenance = LogMaintenance::Start(fs_, *database_);
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  (*maintenance)->Schedule({.path = root_ + "/missing"}, 10);
  (*maintenance)->Drain();
  EXPECT_EQ((*maintenance)->written(), 0u);
  (*maintenance)->Schedule({.path = table_}, 2);
  (*maintenance)->Drain();
  EXPECT_EQ((*maintenance)->written(), 1u);
  EXPECT_TRUE(HasCheckpoint(2));
}

// Past a threshold the table is compacted: the rewrite runs while the writer lock is held by a
// commit, which goes on; the compaction commits holding the lock, carrying the rows that
// commit deleted over to the new file, and the writer goes on from it.
TEST_F(LogMaintenanceTest, CompactsPastAThresholdWhileTheWriterCommits) {
  Commit(6, 2);  // ids 0-11, two to a file
  auto maintenance = LogMaintenance::Start(fs_, *database_, {.file_count = 4, .deleted_share = 0});
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  lake::UpsertOptions options{.key_columns = {"id"}};
  options.writer.checkpoint_interval = 0;
  options.compact_file_count = 0;
  options.compact_deleted_share = 0;
  auto writer = lake::UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto writer_lock = std::make_shared<std::mutex>();
  CounterMetric compactions;
  int committed_by_writer = 0;
  LogMaintenance::Table table{table_, writer_lock, &compactions,
                              [&](engine::Connection& connection, const lake::Transaction& staged,
                                  lake::OptimizeResult rewritten) {
                                EXPECT_FALSE(writer_lock->try_lock());  // runs holding the lock
                                ++committed_by_writer;
                                return writer->CommitStagedCompaction(connection, staged,
                                                                      std::move(rewritten));
                              }};
  auto data_files = [&] {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(table_)) {
      count += entry.path().extension() == ".parquet" ? 1 : 0;
    }
    return count;
  };
  auto apply = [&](lake::ChangeBatch batch) { ASSERT_TRUE(writer->Apply(batch).ok()); };
  {
    std::lock_guard held(*writer_lock);  // the flush worker, committing
    (*maintenance)->Schedule(table, 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ((*maintenance)->compacted(), 0u);
    EXPECT_TRUE(HasCheckpoint(6));
    EXPECT_EQ(data_files(), 7);  // the new file is written already
    lake::ChangeBatch batch;
    batch.changes.push_back({.op = lake::ChangeOp::kDelete, .old_row = {Value::Int(0), {}}});
    batch.changes.push_back(
        {.op = lake::ChangeOp::kUpdate, .row = {Value::Int(2), Value::Int(100)}});
    apply(std::move(batch));
  }
  (*maintenance)->Drain();
  EXPECT_EQ((*maintenance)->compacted(), 1u);
  EXPECT_EQ(compactions.value(), 1);
  EXPECT_EQ(committed_by_writer, 1);
  auto snapshot = lake::Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->version(), 8);
  ASSERT_EQ(snapshot->files().size(), 2u);  // the compacted file and the update's
  int64_t deleted = 0;
  for (const auto& add : snapshot->files()) {
    if (add.deletion_vector) deleted += add.deletion_vector->cardinality;
  }
  EXPECT_EQ(deleted, 2);  // id 0, and id 2's old row
  // The writer's index followed: its next changes hit the right rows.
  lake::ChangeBatch batch;
  batch.changes.push_back({.op = lake::ChangeOp::kUpdate, .row = {Value::Int(4), Value::Int(200)}});
  batch.changes.push_back({.op = lake::ChangeOp::kDelete, .old_row = {Value::Int(11), {}}});
  apply(std::move(batch));
  auto sql = lake::ScanSql(fs_, *connection_, *lake::Snapshot::Load(fs_, *connection_, table_));
  ASSERT_TRUE(sql.ok()) << sql.status();
  auto rows = connection_->Query("SELECT id, n FROM (" + *sql + ") ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::pair<int64_t, int64_t>> got;
  for (const auto& row : rows->rows) got.emplace_back(row[0].integer(), row[1].integer());
  EXPECT_EQ(
      got,
      (std::vector<std::pair<int64_t, int64_t>>{
          {1, 1}, {2, 100}, {3, 3}, {4, 200}, {5, 5}, {6, 6}, {7, 7}, {8, 8}, {9, 9}, {10, 10}}));
}

TEST_F(LogMaintenanceTest, PauseHoldsBackScheduledWork) {
  Commit(2);
  auto maintenance = LogMaintenance::Start(fs_, *database_);
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  (*maintenance)->Pause();
  (*maintenance)->Schedule({.path = table_}, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(HasCheckpoint(2));
  (*maintenance)->Resume();
  (*maintenance)->Drain();
  EXPECT_TRUE(HasCheckpoint(2));
}

TEST_F(LogMaintenanceTest, TheIntervalIsTheTableSettingElseTen) {
  auto plain = lake::Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(CheckpointInterval(*plain), 10);
  lake::CreateTableOptions create;
  create.schema = plain->schema();
  create.configuration = {{"delta.checkpointInterval", "3"}};
  ASSERT_TRUE(lake::CreateTable(fs_, root_ + "/three", create).ok());
  auto three = lake::Snapshot::Load(fs_, *connection_, root_ + "/three");
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(CheckpointInterval(*three), 3);
}

}  // namespace
}  // namespace freshet::pipeline
