// Slow acceptance tests (ctest label `slow`, `make test-slow`): 200 MB transactions, streamed
// and not, pass through capture with the process's peak RSS under the assembler's memory
// limit + 100 MB; a 1M-row table snapshotted under concurrent writes, plus the stream, equals
// the final table.

#include <sys/resource.h>

#include <gtest/gtest.h>

#include "pg/replication_setup.h"
#include "pg/replication_stream.h"
#include "pg/snapshot_consistency_test_util.h"
#include "pg/transaction_assembler.h"
#include "postgres_test.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;

constexpr size_t kLimitBytes = 64 << 20;
constexpr int kRows = 200'000;  // of 1 KB each: 200 MB

// Counts what passes and keeps nothing, as a pipeline that flushes per batch would.
class CountingSink : public ChangeSink {
 public:
  Status OnBegin(const TransactionInfo&) override { return Status::Ok(); }
  Status OnSchemaEvent(const SchemaEvent&) override { return Status::Ok(); }
  Status OnChange(Change&& change) override {
    ++changes;
    bytes += change.new_tuple.at(1).bytes.size();
    return Status::Ok();
  }
  Status OnMessage(LogicalMessage&&) override { return Status::Ok(); }
  Status OnCommit(const TransactionInfo& info) override {
    commits.push_back(info);
    return Status::Ok();
  }
  Status OnRestart() override { return Status::Ok(); }

  uint64_t changes = 0;
  uint64_t bytes = 0;
  std::vector<TransactionInfo> commits;
};

size_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

class LargeTransactionTest : public PostgresTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LargeTransactionTest, TwoHundredMegabytesPassWithinTheMemoryLimit) {
  const bool streaming = GetParam();
  Sql("CREATE TABLE big (id int PRIMARY KEY, body text)");
  Connection sql = Connect();
  ASSERT_TRUE(EnsurePublication(sql, {.name = "pub", .tables = {"public.big"}}).ok());
  auto replication = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(replication.ok());
  ASSERT_TRUE(CreateSlot(*replication, "slot", false).ok());
  // Rows under the TOAST threshold are stored uncompressed: the WAL really carries 200 MB.
  ASSERT_TRUE(sql.Execute(fmt::format("INSERT INTO big SELECT g, rpad(md5(g::text), 1000, "
                                      "md5((g + 1)::text)) FROM generate_series(1, {}) g",
                                      kRows))
                  .ok());
  auto stream = ReplicationStream::Start(
      std::move(*replication), {.slot = "slot", .publication = "pub", .streaming = streaming});
  ASSERT_TRUE(stream.ok()) << stream.status();
  CountingSink sink;
  TransactionAssembler assembler({.stream_memory_limit_bytes = kLimitBytes}, sink);
  auto deadline = std::chrono::steady_clock::now() + 600s;
  while (sink.commits.empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    auto next = stream->Next(1s);
    ASSERT_TRUE(next.ok()) << next.status();
    if (*next) {
      ASSERT_TRUE(assembler.Feed((*next)->payload).ok());
    }
  }
  EXPECT_EQ(sink.changes, uint64_t{kRows});
  EXPECT_EQ(sink.bytes, uint64_t{kRows} * 1000);
  EXPECT_EQ(sink.commits[0].streamed, streaming);
  if (streaming) {
    EXPECT_GT(assembler.stats().spilled_bytes, 100u << 20);
  }
  EXPECT_LE(assembler.stats().peak_held_bytes, kLimitBytes + (1 << 20));
  size_t peak = PeakRssBytes();
  RecordProperty("peak_rss_mb", static_cast<int>(peak >> 20));
  EXPECT_LT(peak, kLimitBytes + (100u << 20)) << "peak RSS " << (peak >> 20) << " MB";
}

INSTANTIATE_TEST_SUITE_P(StreamedAndWhole, LargeTransactionTest, ::testing::Values(true, false),
                         [](const auto& param_info) {
                           return param_info.param ? "Streamed" : "Whole";
                         });

class SnapshotAtScaleTest : public PostgresTest {};

TEST_F(SnapshotAtScaleTest, MillionRowSnapshotPlusStreamEqualsTheTableUnderConcurrentWrites) {
  test_snapshot::CheckSnapshotPlusStream(dsn(), 1'000'000, /*pages_per_chunk=*/1024);
}

}  // namespace
}  // namespace freshet::pg
