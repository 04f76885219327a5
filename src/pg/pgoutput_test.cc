#include "pg/pgoutput.h"

#include <gtest/gtest.h>

#include "pg/pgoutput_test_frames.h"

namespace freshet::pg {
namespace {

namespace f = test_frames;

constexpr DecodeContext kPlain{};
constexpr DecodeContext kStreamed{.in_streamed_block = true};

template <typename T>
T DecodeAs(const std::string& frame, const DecodeContext& context = kPlain) {
  auto message = DecodePgoutput(frame, context);
  EXPECT_TRUE(message.ok()) << message.status();
  if (!message.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*message)) << "variant index " << message->index();
  if (!std::holds_alternative<T>(*message)) return T{};
  return std::get<T>(std::move(*message));
}

TEST(Pgoutput, DecodesBeginAndCommitWithTimes) {
  // 2000-01-01 plus one second in the protocol's epoch is 946684801 in Unix seconds.
  auto begin = DecodeAs<BeginMessage>(f::Begin(0x1'0000'0010, 1'000'000, 77));
  EXPECT_EQ(begin.final_lsn, Lsn(0x1'0000'0010));
  EXPECT_EQ(begin.xid.value, 77u);
  EXPECT_EQ(begin.commit_time.time_since_epoch().count(), 946'684'801'000'000LL);
  auto commit = DecodeAs<CommitMessage>(f::Commit(0x10, 0x48, -5));
  EXPECT_EQ(commit.commit_lsn, Lsn(0x10));
  EXPECT_EQ(commit.end_lsn, Lsn(0x48));
  EXPECT_EQ(ToPostgresEpochMicros(commit.commit_time), -5);
}

TEST(Pgoutput, DecodesOriginTypeAndRelation) {
  EXPECT_EQ(DecodeAs<OriginMessage>(f::Origin(9, "upstream")).name, "upstream");
  auto type = DecodeAs<TypeMessage>(f::Type(16400, "public", "mood"));
  EXPECT_EQ(type.type_oid, 16400u);
  EXPECT_EQ(type.name, "mood");
  auto relation = DecodeAs<RelationMessage>(f::Relation(
      16385, "public", "orders", {{"id", 20, -1, true}, {"note", 1043, 36, false}}, 'f'));
  EXPECT_FALSE(relation.xid.has_value());
  EXPECT_EQ(relation.relation.oid, 16385u);
  EXPECT_EQ(relation.relation.schema, "public");
  EXPECT_EQ(relation.relation.name, "orders");
  EXPECT_EQ(relation.relation.replica_identity, 'f');
  ASSERT_EQ(relation.relation.columns.size(), 2u);
  EXPECT_EQ(relation.relation.columns[0], (Column{"id", 20, -1, true}));
  EXPECT_EQ(relation.relation.columns[1], (Column{"note", 1043, 36, false}));
  // An empty namespace means pg_catalog.
  EXPECT_EQ(DecodeAs<RelationMessage>(f::Relation(1, "", "x", {})).relation.schema, "pg_catalog");
}

TEST(Pgoutput, DecodesInsertWithEveryValueKind) {
  auto insert = DecodeAs<InsertMessage>(f::Insert(
      16385, {f::Text("42"), f::Null(), f::Binary(std::string("\0\x01", 2)), f::Text("")}));
  EXPECT_EQ(insert.relation_oid, 16385u);
  ASSERT_EQ(insert.new_tuple.size(), 4u);
  EXPECT_EQ(insert.new_tuple[0], (Value{ValueKind::kText, "42"}));
  EXPECT_EQ(insert.new_tuple[1].kind, ValueKind::kNull);
  EXPECT_EQ(insert.new_tuple[2], (Value{ValueKind::kBinary, std::string("\0\x01", 2)}));
  EXPECT_EQ(insert.new_tuple[3], (Value{ValueKind::kText, ""})) << "empty is not NULL";
}

TEST(Pgoutput, DecodesUpdateWithoutOldWithKeyAndWithOldRow) {
  auto plain = DecodeAs<UpdateMessage>(f::Update(5, 0, {}, {f::Text("1"), f::Unchanged()}));
  EXPECT_EQ(plain.old_kind, OldTupleKind::kNone);
  EXPECT_TRUE(plain.old_tuple.empty());
  ASSERT_EQ(plain.new_tuple.size(), 2u);
  EXPECT_EQ(plain.new_tuple[1].kind, ValueKind::kUnchangedToast) << "unchanged TOAST is not NULL";

  auto key = DecodeAs<UpdateMessage>(
      f::Update(5, 'K', {f::Text("1"), f::Null()}, {f::Text("2"), f::Text("b")}));
  EXPECT_EQ(key.old_kind, OldTupleKind::kKey);
  EXPECT_EQ(key.old_tuple[0].bytes, "1");
  EXPECT_EQ(key.new_tuple[0].bytes, "2");

  auto full = DecodeAs<UpdateMessage>(
      f::Update(5, 'O', {f::Text("1"), f::Text("a")}, {f::Text("1"), f::Text("b")}));
  EXPECT_EQ(full.old_kind, OldTupleKind::kFull);
  EXPECT_EQ(full.old_tuple[1].bytes, "a");
}

TEST(Pgoutput, DecodesDeleteTruncateAndMessage) {
  auto key = DecodeAs<DeleteMessage>(f::Delete(5, 'K', {f::Text("1"), f::Null()}));
  EXPECT_EQ(key.old_kind, OldTupleKind::kKey);
  auto full = DecodeAs<DeleteMessage>(f::Delete(5, 'O', {f::Text("1"), f::Text("x")}));
  EXPECT_EQ(full.old_kind, OldTupleKind::kFull);
  auto truncate = DecodeAs<TruncateMessage>(f::Truncate({5, 6}, 3));
  EXPECT_TRUE(truncate.cascade);
  EXPECT_TRUE(truncate.restart_identity);
  EXPECT_EQ(truncate.relation_oids, (std::vector<uint32_t>{5, 6}));
  auto message = DecodeAs<MessageMessage>(f::Message(true, 0x99, "freshet", "hi\0there")).message;
  EXPECT_TRUE(message.transactional);
  EXPECT_EQ(message.lsn, Lsn(0x99));
  EXPECT_EQ(message.prefix, "freshet");
}

TEST(Pgoutput, StreamedBlockMessagesCarryTheXid) {
  auto start = DecodeAs<StreamStartMessage>(f::StreamStart(900, true));
  EXPECT_EQ(start.xid.value, 900u);
  EXPECT_TRUE(start.first_segment);
  DecodeAs<StreamStopMessage>(f::StreamStop());
  auto insert = DecodeAs<InsertMessage>(f::Insert(5, {f::Text("1")}, 901), kStreamed);
  ASSERT_TRUE(insert.xid.has_value());
  EXPECT_EQ(insert.xid->value, 901u);
  auto relation =
      DecodeAs<RelationMessage>(f::Relation(5, "s", "t", {{"a", 23}}, 'd', 900), kStreamed);
  EXPECT_EQ(relation.xid->value, 900u);
  auto commit = DecodeAs<StreamCommitMessage>(f::StreamCommit(900, 0x100, 0x130, 0));
  EXPECT_EQ(commit.commit_lsn, Lsn(0x100));
  EXPECT_EQ(commit.end_lsn, Lsn(0x130));
  auto abort = DecodeAs<StreamAbortMessage>(f::StreamAbort(900, 905));
  EXPECT_EQ(abort.subxid.value, 905u);
  // The same insert bytes outside a block are read without an xid, and then do not parse.
  EXPECT_FALSE(DecodePgoutput(f::Insert(5, {f::Text("1")}, 901), kPlain).ok());
}

// Every prefix of every well-formed frame is a clear Corruption, never a crash.
TEST(Pgoutput, EveryTruncatedFrameIsCorruption) {
  std::vector<std::pair<std::string, DecodeContext>> frames = {
      {f::Begin(1, 2, 3), kPlain},
      {f::Commit(1, 2, 3), kPlain},
      {f::Origin(1, "o"), kPlain},
      {f::Relation(1, "s", "t", {{"a", 23, -1, true}, {"b", 25}}), kPlain},
      {f::Type(1, "s", "t"), kPlain},
      {f::Insert(1, {f::Text("abc"), f::Null(), f::Binary("x")}), kPlain},
      {f::Update(1, 'O', {f::Text("a")}, {f::Text("b")}), kPlain},
      {f::Delete(1, 'K', {f::Text("a")}), kPlain},
      {f::Truncate({1, 2}, 0), kPlain},
      {f::Message(false, 1, "p", "content"), kPlain},
      {f::StreamStart(1, true), kPlain},
      {f::StreamCommit(1, 2, 3, 4), kPlain},
      {f::StreamAbort(1, 2), kPlain},
      {f::Insert(1, {f::Text("abc")}, 7), kStreamed},
  };
  for (const auto& [frame, context] : frames) {
    ASSERT_TRUE(DecodePgoutput(frame, context).ok()) << MessageTypeName(frame[0]);
    for (size_t cut = 0; cut < frame.size(); ++cut) {
      auto message = DecodePgoutput(std::string_view(frame).substr(0, cut), context);
      ASSERT_FALSE(message.ok()) << MessageTypeName(frame[0]) << " cut at " << cut;
      EXPECT_TRUE(message.status().Is(Code::kCorruption)) << message.status();
    }
  }
  auto short_begin = DecodePgoutput(f::Begin(1, 2, 3).substr(0, 10), kPlain);
  EXPECT_EQ(short_begin.status().message(),
            "truncated pgoutput Begin: reading an Int64 at byte 8 needs 8 bytes, 1 left");
}

TEST(Pgoutput, RejectsUnknownTypesTrailingBytesAndBadMarkers) {
  auto unknown = DecodePgoutput("z123", kPlain);
  EXPECT_TRUE(unknown.status().Is(Code::kCorruption));
  EXPECT_NE(unknown.status().message().find("unknown 'z'"), std::string::npos) << unknown.status();
  EXPECT_TRUE(DecodePgoutput("", kPlain).status().Is(Code::kCorruption));
  EXPECT_TRUE(DecodePgoutput(f::Begin(1, 2, 3) + "x", kPlain).status().Is(Code::kCorruption));
  std::string bad_marker = f::Insert(1, {f::Text("a")});
  bad_marker[5] = 'X';
  EXPECT_TRUE(DecodePgoutput(bad_marker, kPlain).status().Is(Code::kCorruption));
  std::string bad_kind = f::Insert(1, {f::Text("a")});
  bad_kind[8] = 'q';
  auto kind = DecodePgoutput(bad_kind, kPlain);
  EXPECT_NE(kind.status().message().find("unknown tuple value kind"), std::string::npos)
      << kind.status();
  auto two_phase = DecodePgoutput("P", kPlain);
  EXPECT_TRUE(two_phase.status().Is(Code::kNotSupported)) << two_phase.status();
  // A truncate announcing more relations than the frame holds fails before allocating.
  WireWriter hostile;
  hostile.PutU8('T');
  hostile.PutI32(INT32_MAX);
  hostile.PutU8(0);
  EXPECT_TRUE(DecodePgoutput(hostile.data(), kPlain).status().Is(Code::kCorruption));
}

}  // namespace
}  // namespace freshet::pg
