#include "pg/capture.h"

#include <gtest/gtest.h>

#include <map>

#include "pg/replication_setup.h"
#include "postgres_test.h"

namespace freshet::pg {
namespace {

using namespace std::chrono_literals;
using testing::PostgresTest;
using testing::ThrowawayPostgres;

// Sets up table t, its publication and slot on `dsn`, and inserts rows [first, last], one
// transaction per five rows.
void Prepare(const std::string& dsn, bool create) {
  auto sql = Connection::Open({.dsn = dsn});
  ASSERT_TRUE(sql.ok()) << sql.status();
  if (create) {
    ASSERT_TRUE(sql->Execute("CREATE TABLE t (id int PRIMARY KEY)").ok());
    ASSERT_TRUE(EnsurePublication(*sql, {.name = "pub", .tables = {"public.t"}}).ok());
    auto replication = Connection::Open({.dsn = dsn, .replication = true});
    ASSERT_TRUE(replication.ok());
    ASSERT_TRUE(CreateSlot(*replication, "slot", false).ok());
  }
}

void Insert(const std::string& dsn, int first, int last) {
  auto sql = Connection::Open({.dsn = dsn});
  ASSERT_TRUE(sql.ok()) << sql.status();
  for (int id = first; id <= last; id += 5) {
    ASSERT_TRUE(sql->Execute(fmt::format("INSERT INTO t SELECT generate_series({}, {})", id,
                                         std::min(id + 4, last)))
                    .ok());
  }
}

// Polls until `rows` distinct ids arrived (or a deadline passes), confirming transactions as
// if they had been made durable, but only up to 20 behind the newest, so a reconnect resends
// some that were delivered.
void CaptureRows(ChangeCapture& capture, CollectingSink& sink, size_t rows,
                 size_t* confirmed_upto) {
  auto deadline = std::chrono::steady_clock::now() + 180s;
  auto count = [&] {
    size_t n = 0;
    for (const Transaction& txn : sink.transactions) n += txn.changes.size();
    return n;
  };
  while (count() < rows) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << count() << " of " << rows;
    Status status = capture.Poll(100ms);
    ASSERT_TRUE(status.ok()) << status;
    for (; *confirmed_upto + 20 < sink.transactions.size(); ++*confirmed_upto) {
      capture.Confirm(sink.transactions[*confirmed_upto].info.end_lsn);
    }
  }
}

void ExpectEachIdOnce(const CollectingSink& sink, int last) {
  std::map<std::string, int> seen;
  for (const Transaction& txn : sink.transactions) {
    for (const Change& change : txn.changes) ++seen[change.new_tuple.at(0).bytes];
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(last)) << "a change was lost";
  for (const auto& [id, times] : seen) ASSERT_EQ(times, 1) << "duplicate change";
}

class CaptureTest : public PostgresTest {};

TEST_F(CaptureTest, TerminatedWalsenderLosesAndRepeatsNothing) {
  Prepare(dsn(), true);
  Insert(dsn(), 1, 1000);
  CollectingSink sink;
  ChangeCapture capture({.connect = {.dsn = dsn()},
                         .slot = "slot",
                         .publication = "pub",
                         .backoff = {.initial = 20ms, .max_attempts = 50}},
                        sink);
  size_t confirmed = 0;
  CaptureRows(capture, sink, 300, &confirmed);
  Connection sql = Connect();
  auto killed = sql.Query(
      "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = "
      "'slot' AND active_pid IS NOT NULL");
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->size(), 1);
  Insert(dsn(), 1001, 1500);
  CaptureRows(capture, sink, 1500, &confirmed);
  ExpectEachIdOnce(sink, 1500);
  EXPECT_GE(capture.stats().reconnects, 1u);
  EXPECT_GT(capture.stats().skipped_transactions, 0u)
      << "transactions delivered but not confirmed are resent and must be skipped";
}

TEST(CaptureRestart, ServerRestartMidStreamLosesAndRepeatsNothing) {
  auto server = ThrowawayPostgres::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  std::string dsn = (*server)->Dsn("postgres");
  Prepare(dsn, true);
  Insert(dsn, 1, 1000);
  CollectingSink sink;
  ChangeCapture capture({.connect = {.dsn = dsn},
                         .slot = "slot",
                         .publication = "pub",
                         .backoff = {.initial = 50ms, .max_attempts = 200}},
                        sink);
  size_t confirmed = 0;
  CaptureRows(capture, sink, 300, &confirmed);
  // Immediate: a fast shutdown would wait for this client to confirm everything sent.
  ASSERT_TRUE((*server)->Restart("immediate").ok());
  Insert(dsn, 1001, 1500);
  CaptureRows(capture, sink, 1500, &confirmed);
  ExpectEachIdOnce(sink, 1500);
  EXPECT_GE(capture.stats().reconnects, 1u);
}

TEST_F(CaptureTest, HeartbeatsAdvanceTheSlotWhileOnlyUnpublishedTablesChange) {
  Prepare(dsn(), true);
  Sql("CREATE TABLE unrelated (id serial PRIMARY KEY, v text)");
  CollectingSink sink;
  ChangeCapture capture({.connect = {.dsn = dsn()},
                         .slot = "slot",
                         .publication = "pub",
                         .status_interval = 100ms,
                         .heartbeat_interval = 100ms},
                        sink);
  Connection sql = Connect();
  auto start = GetSlot(sql, "slot");
  ASSERT_TRUE(start.ok());
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    ASSERT_TRUE(sql.Execute("INSERT INTO unrelated (v) SELECT repeat('x', 1000) FROM "
                            "generate_series(1, 100); CHECKPOINT")
                    .ok());
    ASSERT_TRUE(capture.Poll(200ms).ok());
    auto now = GetSlot(sql, "slot");
    ASSERT_TRUE(now.ok());
    if (now->restart_lsn > start->restart_lsn &&
        now->confirmed_flush_lsn > start->confirmed_flush_lsn) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "restart_lsn stayed at " << now->restart_lsn.ToString();
  }
  EXPECT_GT(capture.stats().heartbeats_confirmed, 0u);
  EXPECT_TRUE(sink.transactions.empty());
  EXPECT_TRUE(sink.loose_messages.empty()) << "heartbeats are not passed on";
}

TEST_F(CaptureTest, DroppedPublicationStopsWithTheFixInsteadOfRetrying) {
  Prepare(dsn(), true);
  CollectingSink sink;
  ChangeCapture capture({.connect = {.dsn = dsn()}, .slot = "slot", .publication = "pub"}, sink);
  Insert(dsn(), 1, 5);
  size_t confirmed = 0;
  CaptureRows(capture, sink, 5, &confirmed);
  Sql("DROP PUBLICATION pub");
  Insert(dsn(), 6, 10);
  Status status;
  auto deadline = std::chrono::steady_clock::now() + 90s;
  while (status.ok()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    status = capture.Poll(200ms);
  }
  EXPECT_TRUE(status.Is(Code::kNotFound)) << status;
  EXPECT_NE(status.message().find("create the publication"), std::string::npos) << status;
}

TEST(CaptureInvalidatedSlot, SaysToDropTheSlotAndResnapshot) {
  auto server = ThrowawayPostgres::Start({.settings = {{"max_slot_wal_keep_size", "'1MB'"}}});
  ASSERT_TRUE(server.ok()) << server.status();
  std::string dsn = (*server)->Dsn("postgres");
  Prepare(dsn, true);
  auto sql = Connection::Open({.dsn = dsn});
  ASSERT_TRUE(sql.ok());
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (int id = 1;; id += 100) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    ASSERT_TRUE(sql->Execute(fmt::format("INSERT INTO t SELECT generate_series({}, {}); "
                                         "SELECT pg_switch_wal()",
                                         id, id + 99))
                    .ok());
    ASSERT_TRUE(sql->Execute("CHECKPOINT").ok());
    auto slot = GetSlot(*sql, "slot");
    ASSERT_TRUE(slot.ok());
    if (slot->wal_status == "lost") break;
  }
  CollectingSink sink;
  ChangeCapture capture({.connect = {.dsn = dsn}, .slot = "slot", .publication = "pub"}, sink);
  Status status = capture.Poll(5s);
  EXPECT_TRUE(status.Is(Code::kInvalidArgument)) << status;
  EXPECT_NE(status.message().find("drop it and start again"), std::string::npos) << status;
}

TEST_F(CaptureTest, MissingSlotIsReportedAtOnce) {
  CollectingSink sink;
  ChangeCapture capture({.connect = {.dsn = dsn()}, .slot = "absent", .publication = "pub"}, sink);
  Status status = capture.Poll(1s);
  EXPECT_TRUE(status.Is(Code::kNotFound)) << status;
}

}  // namespace
}  // namespace freshet::pg
