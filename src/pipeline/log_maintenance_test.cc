#include "pipeline/log_maintenance.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

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

  // Commits `commits` batches through a writer with checkpoints off, as the pipeline's are.
  void Commit(int commits) {
    lake::UpsertOptions options{.key_columns = {"id"}};
    options.writer.checkpoint_interval = 0;
    auto writer = lake::UpsertWriter::Open(fs_, *connection_, table_, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (int commit = 0; commit < commits; ++commit) {
      lake::ChangeBatch batch;
      batch.changes.push_back(
          {.op = lake::ChangeOp::kInsert, .row = {Value::Int(commit), Value::Int(commit)}});
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

// Past a threshold the table is compacted under its writer lock; the writer goes on.
TEST_F(LogMaintenanceTest, CompactsPastAThresholdHoldingTheWriterLock) {
  Commit(6);
  auto maintenance = LogMaintenance::Start(fs_, *database_, {.file_count = 4, .deleted_share = 0});
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  auto writer_lock = std::make_shared<std::mutex>();
  CounterMetric compactions;
  int compacted_by_writer = 0;
  LogMaintenance::Table table{
      table_, writer_lock, &compactions,
      [&](engine::Connection& connection, const lake::OptimizeOptions& options) {
        // Runs holding the lock.
        EXPECT_FALSE(writer_lock->try_lock());
        ++compacted_by_writer;
        return lake::Optimize(fs_, connection, table_, options);
      }};
  {
    std::lock_guard held(*writer_lock);  // a commit under way
    (*maintenance)->Schedule(table, 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ((*maintenance)->compacted(), 0u);
    EXPECT_TRUE(HasCheckpoint(6));
  }
  (*maintenance)->Drain();
  EXPECT_EQ((*maintenance)->compacted(), 1u);
  EXPECT_EQ(compactions.value(), 1);
  EXPECT_EQ(compacted_by_writer, 1);
  auto snapshot = lake::Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->version(), 7);
  EXPECT_EQ(snapshot->files().size(), 1u);
  EXPECT_FALSE(CompactionDue(*snapshot, {.file_count = 4, .deleted_share = 0}));
  // Below the thresholds: a checkpoint only.
  (*maintenance)->Schedule(table, 7);
  (*maintenance)->Drain();
  EXPECT_EQ((*maintenance)->compacted(), 1u);
  EXPECT_EQ(compacted_by_writer, 1);
  EXPECT_TRUE(HasCheckpoint(7));
  Commit(1);  // a writer opened after the compaction goes on from it
  EXPECT_EQ(lake::Snapshot::Load(fs_, *connection_, table_)->files().size(), 2u);
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
