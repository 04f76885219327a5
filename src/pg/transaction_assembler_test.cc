#include "pg/transaction_assembler.h"

#include <gtest/gtest.h>

#include "pg/pgoutput_test_frames.h"

namespace freshet::pg {
namespace {

namespace f = test_frames;

class AssemblerTest : public ::testing::Test {
 protected:
  void Feed(const std::string& frame) {
    Status status = assembler_.Feed(frame);
    ASSERT_TRUE(status.ok()) << status;
  }
  void FeedOrders() {
    Feed(f::Relation(100, "public", "orders", {{"id", 23, -1, true}, {"body", 25}}));
  }

  CollectingSink sink_;
  AssemblerOptions options_{.stream_memory_limit_bytes = 1 << 20};
  TransactionAssembler assembler_{options_, sink_};
};

TEST_F(AssemblerTest, GroupsChangesByTransactionWithCommitLsnTimeAndXid) {
  Feed(f::Begin(0x500, 1'000'000, 731));
  Feed(f::Origin(0x500, "upstream"));
  FeedOrders();
  Feed(f::Insert(100, {f::Text("1"), f::Text("hello")}));
  Feed(f::Update(100, 0, {}, {f::Text("1"), f::Unchanged()}));
  Feed(f::Delete(100, 'K', {f::Text("1"), f::Null()}));
  Feed(f::Commit(0x500, 0x530, 1'000'000));
  ASSERT_EQ(sink_.transactions.size(), 1u);
  const Transaction& txn = sink_.transactions[0];
  EXPECT_EQ(txn.info.xid.value, 731u);
  EXPECT_EQ(txn.info.commit_lsn, Lsn(0x500));
  EXPECT_EQ(txn.info.end_lsn, Lsn(0x530));
  EXPECT_EQ(txn.info.origin, "upstream");
  EXPECT_EQ(txn.info.commit_time.time_since_epoch().count(), 946'684'801'000'000LL);
  EXPECT_FALSE(txn.info.streamed);
  ASSERT_EQ(txn.changes.size(), 3u);
  EXPECT_EQ(txn.changes[0].kind, ChangeKind::kInsert);
  EXPECT_EQ(txn.changes[0].relation->name, "orders");
  EXPECT_EQ(txn.changes[1].kind, ChangeKind::kUpdate);
  EXPECT_EQ(txn.changes[1].new_tuple[1].kind, ValueKind::kUnchangedToast);
  EXPECT_EQ(txn.changes[2].kind, ChangeKind::kDelete);
  EXPECT_EQ(txn.changes[2].old_kind, OldTupleKind::kKey);
  ASSERT_EQ(txn.schema_events.size(), 1u);
  EXPECT_EQ(txn.schema_events[0].kind, SchemaEventKind::kTableAdded);
  EXPECT_FALSE(assembler_.in_transaction());
}

TEST_F(AssemblerTest, SchemaChangeMidStreamKeepsEachChangesOwnRelationVersion) {
  Feed(f::Begin(0x10, 0, 1));
  FeedOrders();
  Feed(f::Insert(100, {f::Text("1"), f::Text("a")}));
  Feed(f::Commit(0x10, 0x20, 0));
  Feed(f::Begin(0x30, 0, 2));
  Feed(f::Relation(100, "public", "orders", {{"id", 23, -1, true}, {"body", 25}, {"qty", 23}}));
  Feed(f::Insert(100, {f::Text("2"), f::Text("b"), f::Text("5")}));
  Feed(f::Commit(0x30, 0x40, 0));
  ASSERT_EQ(sink_.transactions.size(), 2u);
  EXPECT_EQ(sink_.transactions[0].changes[0].relation->columns.size(), 2u);
  EXPECT_EQ(sink_.transactions[1].changes[0].relation->columns.size(), 3u);
  ASSERT_EQ(sink_.transactions[1].schema_events.size(), 1u);
  EXPECT_EQ(sink_.transactions[1].schema_events[0].kind, SchemaEventKind::kColumnAdded);
  EXPECT_EQ(sink_.transactions[1].schema_events[0].column, "qty");
}

TEST_F(AssemblerTest, TruncateBecomesOneChangePerTable) {
  FeedOrders();
  Feed(f::Relation(101, "public", "lines", {{"id", 23, -1, true}}));
  Feed(f::Begin(0x10, 0, 1));
  Feed(f::Truncate({100, 101}, 1));
  Feed(f::Commit(0x10, 0x20, 0));
  ASSERT_EQ(sink_.transactions.size(), 1u);
  ASSERT_EQ(sink_.transactions[0].changes.size(), 2u);
  EXPECT_EQ(sink_.transactions[0].changes[1].kind, ChangeKind::kTruncate);
  EXPECT_EQ(sink_.transactions[0].changes[1].relation->name, "lines");
  EXPECT_TRUE(sink_.transactions[0].changes[1].cascade);
  EXPECT_EQ(sink_.loose_schema_events.size(), 2u) << "relations announced between transactions";
}

TEST_F(AssemblerTest, LogicalMessagesTransactionalAndNot) {
  Feed(f::Message(false, 0x5, "freshet_heartbeat", "1"));
  Feed(f::Begin(0x10, 0, 1));
  Feed(f::Message(true, 0x8, "app", "in txn"));
  Feed(f::Commit(0x10, 0x20, 0));
  ASSERT_EQ(sink_.loose_messages.size(), 1u);
  EXPECT_EQ(sink_.loose_messages[0].prefix, "freshet_heartbeat");
  ASSERT_EQ(sink_.transactions.size(), 1u);
  ASSERT_EQ(sink_.transactions[0].messages.size(), 1u);
  EXPECT_EQ(sink_.transactions[0].messages[0].content, "in txn");
}

TEST_F(AssemblerTest, ProtocolViolationsAreCorruptionAndUnknownRelationIsNotFound) {
  EXPECT_TRUE(assembler_.Feed(f::Insert(100, {f::Text("1")})).Is(Code::kCorruption));
  EXPECT_TRUE(assembler_.Feed(f::Commit(1, 2, 3)).Is(Code::kCorruption));
  EXPECT_TRUE(assembler_.Feed(f::StreamCommit(9, 1, 2, 3)).Is(Code::kCorruption));
  EXPECT_TRUE(assembler_.Feed(f::StreamStop()).Is(Code::kCorruption));
  Feed(f::Begin(0x10, 0, 1));
  Status unknown = assembler_.Feed(f::Insert(999, {f::Text("1")}));
  EXPECT_TRUE(unknown.Is(Code::kNotFound)) << unknown;
  EXPECT_NE(unknown.message().find("999"), std::string::npos);
  EXPECT_TRUE(assembler_.Feed(f::Begin(0x11, 0, 2)).Is(Code::kCorruption));
  assembler_.Reset();
  EXPECT_FALSE(assembler_.in_transaction());
}

// Two streamed transactions interleave; one aborts a subtransaction and commits, the other
// aborts entirely. Only the committed changes arrive, in their original order.
TEST_F(AssemblerTest, StreamedTransactionsCommitWholeAndAbortCleanly) {
  FeedOrders();
  Feed(f::StreamStart(50, true));
  Feed(f::Insert(100, {f::Text("1"), f::Text("a")}, 50));
  Feed(f::Insert(100, {f::Text("2"), f::Text("sub")}, 51));
  Feed(f::StreamStop());
  Feed(f::StreamStart(60, true));
  Feed(f::Insert(100, {f::Text("9"), f::Text("doomed")}, 60));
  Feed(f::StreamStop());
  // An ordinary transaction commits between the blocks and is delivered at once.
  Feed(f::Begin(0x15, 0, 70));
  Feed(f::Insert(100, {f::Text("7"), f::Text("small")}));
  Feed(f::Commit(0x15, 0x16, 0));
  ASSERT_EQ(sink_.transactions.size(), 1u);
  Feed(f::StreamStart(50, false));
  Feed(f::Insert(100, {f::Text("3"), f::Text("b")}, 50));
  Feed(f::Message(true, 0x90, "app", "from the aborted subtransaction", 51));
  Feed(f::StreamStop());
  Feed(f::StreamAbort(50, 51));
  Feed(f::StreamAbort(60, 60));
  Feed(f::StreamCommit(50, 0x100, 0x120, 0));
  ASSERT_EQ(sink_.transactions.size(), 2u);
  const Transaction& txn = sink_.transactions[1];
  EXPECT_TRUE(txn.info.streamed);
  EXPECT_EQ(txn.info.xid.value, 50u);
  EXPECT_EQ(txn.info.end_lsn, Lsn(0x120));
  ASSERT_EQ(txn.changes.size(), 2u);
  EXPECT_EQ(txn.changes[0].new_tuple[0].bytes, "1");
  EXPECT_EQ(txn.changes[1].new_tuple[0].bytes, "3");
  EXPECT_TRUE(txn.messages.empty()) << "the subtransaction's message was rolled back too";
  EXPECT_EQ(assembler_.stats().aborted_streamed_transactions, 1u);
  EXPECT_EQ(assembler_.stats().held_bytes, 0u);
}

// A streamed transaction far larger than the limit is spilled to disk, and comes back whole
// and in order, with the relation version each change was decoded with.
TEST_F(AssemblerTest, LargeStreamedTransactionSpillsAndReplaysInOrder) {
  constexpr int kRows = 20000;
  const std::string body(200, 'x');
  FeedOrders();
  Feed(f::StreamStart(50, true));
  for (int i = 0; i < kRows; ++i) {
    if (i == kRows / 2) {
      Feed(f::Relation(100, "public", "orders", {{"id", 23, -1, true}, {"body", 25}, {"extra", 16}},
                       'd', 50));
    }
    std::vector<f::Col> cols = {f::Text(std::to_string(i)), i % 7 == 0 ? f::Null() : f::Text(body)};
    if (i >= kRows / 2) cols.push_back(f::Unchanged());
    Feed(f::Insert(100, cols, 50));
    if (i % 5000 == 4999) {
      Feed(f::StreamStop());
      Feed(f::StreamStart(50, false));
    }
  }
  Feed(f::Message(true, 0x77, "app", "last", 50));
  Feed(f::StreamStop());
  EXPECT_GT(assembler_.stats().spills, 0u);
  EXPECT_GT(assembler_.stats().spilled_bytes, size_t{kRows} * 200 / 2);
  EXPECT_LE(assembler_.stats().peak_held_bytes, (size_t{1} << 20) + 4096);
  Feed(f::StreamCommit(50, 0x100, 0x120, 0));
  ASSERT_EQ(sink_.transactions.size(), 1u);
  const Transaction& txn = sink_.transactions[0];
  ASSERT_EQ(txn.changes.size(), size_t{kRows});
  for (int i = 0; i < kRows; ++i) {
    const Change& change = txn.changes[i];
    ASSERT_EQ(change.new_tuple[0].bytes, std::to_string(i));
    ASSERT_EQ(change.new_tuple[1].kind, i % 7 == 0 ? ValueKind::kNull : ValueKind::kText);
    ASSERT_EQ(change.relation->columns.size(), i >= kRows / 2 ? 3u : 2u) << i;
    if (i >= kRows / 2) {
      ASSERT_EQ(change.new_tuple[2].kind, ValueKind::kUnchangedToast);
    }
  }
  ASSERT_EQ(txn.schema_events.size(), 1u);
  EXPECT_EQ(txn.schema_events[0].column, "extra");
  ASSERT_EQ(txn.messages.size(), 1u);
  EXPECT_EQ(txn.messages[0].content, "last");
}

TEST_F(AssemblerTest, AbortOfASpilledTransactionDeliversNothing) {
  FeedOrders();
  Feed(f::StreamStart(50, true));
  for (int i = 0; i < 10000; ++i)
    Feed(f::Insert(100, {f::Text("1"), f::Text(std::string(300, 'y'))}, 50));
  Feed(f::StreamStop());
  EXPECT_GT(assembler_.stats().spills, 0u);
  Feed(f::StreamAbort(50, 50));
  EXPECT_TRUE(sink_.transactions.empty());
  EXPECT_EQ(assembler_.stats().held_bytes, 0u);
}

}  // namespace
}  // namespace freshet::pg
