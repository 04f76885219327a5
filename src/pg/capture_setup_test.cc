#include "pg/capture_setup.h"

#include <gtest/gtest.h>

#include <map>

#include "pg/capture.h"
#include "postgres_test.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

class IdSink : public SnapshotSink {
 public:
  Status OnChunkStart(const SnapshotChunk&) override { return Status::Ok(); }
  Status OnRow(const SnapshotChunk& chunk, Change&& change) override {
    ids[std::string(change.new_tuple.at(0).bytes)]++;
    ++per_chunk[chunk];
    return Status::Ok();
  }
  Status OnChunkDone(const SnapshotChunk& chunk) override {
    done.insert(chunk);
    return Status::Ok();
  }
  std::map<std::string, int> ids;  // binary int4 bytes → times read
  std::map<SnapshotChunk, int> per_chunk;
  std::set<SnapshotChunk> done;
};

class CaptureSetupTest : public PostgresTest {
 protected:
  SetupOptions Options(SnapshotMode mode) {
    return {.connect = {.dsn = dsn()},
            .publication = {.name = "pub", .tables = {"public.%"}},
            .slot = "slot",
            .mode = mode,
            .pages_per_chunk = 4};
  }
};

TEST_F(CaptureSetupTest, InitialSnapshotThenStreamMeetExactly) {
  Sql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a SELECT generate_series(1, 2000); "
      "CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b SELECT generate_series(1, 10)");
  IdSink sink;
  SnapshotProgress progress;
  auto setup = SetUpCapture(Options(SnapshotMode::kInitial), sink, progress);
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_TRUE(setup->created_slot);
  EXPECT_TRUE(setup->snapshotted);
  EXPECT_TRUE(setup->stream);
  EXPECT_EQ(progress.rows, 2010u) << "both published tables, found by pattern";
  Sql("INSERT INTO a VALUES (2001); INSERT INTO b VALUES (11)");
  CollectingSink changes;
  ChangeCapture capture({.connect = {.dsn = dsn()}, .slot = "slot", .publication = "pub"}, changes);
  auto deadline = std::chrono::steady_clock::now() + 90s;
  while (changes.transactions.empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    ASSERT_TRUE(capture.Poll(100ms).ok());
  }
  ASSERT_EQ(changes.transactions.size(), 1u) << "nothing the snapshot read comes again";
  EXPECT_EQ(changes.transactions[0].changes.size(), 2u);

  // The slot exists now: a restart with the snapshot recorded as complete reads nothing.
  IdSink again;
  SetupOptions options = Options(SnapshotMode::kInitial);
  options.snapshot_complete = true;
  auto resumed = SetUpCapture(options, again, progress);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_FALSE(resumed->created_slot);
  EXPECT_FALSE(resumed->snapshotted);
  EXPECT_TRUE(again.ids.empty());
}

TEST_F(CaptureSetupTest, UnfinishedSnapshotResumesFromItsChunks) {
  Sql("CREATE TABLE a (id int PRIMARY KEY, pad text); INSERT INTO a SELECT g, repeat('p', 100) "
      "FROM generate_series(1, 3000) g");
  Sql("VACUUM ANALYZE a");
  IdSink first;
  SnapshotProgress progress;
  ASSERT_TRUE(SetUpCapture(Options(SnapshotMode::kInitial), first, progress).ok());
  ASSERT_GT(first.done.size(), 3u);
  // Pretend the process died after the first two chunks were durable.
  std::set<SnapshotChunk> finished(first.done.begin(), std::next(first.done.begin(), 2));
  int finished_rows = first.per_chunk[*finished.begin()] + first.per_chunk[*finished.rbegin()];
  SetupOptions options = Options(SnapshotMode::kInitial);
  options.finished_chunks = finished;
  IdSink second;
  auto resumed = SetUpCapture(options, second, progress);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->resumed_snapshot);
  EXPECT_FALSE(resumed->created_slot);
  EXPECT_EQ(second.ids.size(), size_t{3000} - static_cast<size_t>(finished_rows));
  for (const auto& [id, times] : second.ids) EXPECT_EQ(first.ids.count(id), 1u);
}

TEST_F(CaptureSetupTest, NeverAndInitialOnlyModes) {
  Sql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a SELECT generate_series(1, 100)");
  IdSink sink;
  SnapshotProgress progress;
  auto never = SetUpCapture(Options(SnapshotMode::kNever), sink, progress);
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_TRUE(never->created_slot);
  EXPECT_FALSE(never->snapshotted);
  EXPECT_TRUE(never->stream);
  EXPECT_TRUE(sink.ids.empty());

  SetupOptions only = Options(SnapshotMode::kInitialOnly);
  only.slot = "slot_only";
  auto initial_only = SetUpCapture(only, sink, progress);
  ASSERT_TRUE(initial_only.ok()) << initial_only.status();
  EXPECT_TRUE(initial_only->snapshotted);
  EXPECT_FALSE(initial_only->stream);
  EXPECT_EQ(sink.ids.size(), 100u);
}

}  // namespace
}  // namespace freshet::pg
