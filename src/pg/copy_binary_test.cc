#include "pg/copy_binary.h"

#include <gtest/gtest.h>

#include "common/wire.h"

namespace freshet::pg {
namespace {

std::string TwoRows() {
  WireWriter w;
  w.PutBytes(std::string_view("PGCOPY\n\377\r\n\0", 11));
  w.PutU32(0);
  w.PutU32(0);
  w.PutI16(2);
  w.PutCountedBytes("ab");
  w.PutNull();
  w.PutI16(2);
  w.PutCountedBytes("");
  w.PutCountedBytes("xyz");
  w.PutI16(-1);
  return w.Take();
}

TEST(CopyBinaryParser, ParsesRowsFedInAnyPieces) {
  const std::string data = TwoRows();
  for (size_t piece = 1; piece <= data.size(); ++piece) {
    std::vector<Tuple> rows;
    CopyBinaryParser parser([&](Tuple&& tuple) {
      rows.push_back(std::move(tuple));
      return Status::Ok();
    });
    for (size_t at = 0; at < data.size(); at += piece) {
      ASSERT_TRUE(parser.Feed(std::string_view(data).substr(at, piece)).ok()) << piece;
    }
    ASSERT_TRUE(parser.Finish().ok());
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0][0], (Value{ValueKind::kBinary, "ab"}));
    EXPECT_EQ(rows[0][1].kind, ValueKind::kNull);
    EXPECT_EQ(rows[1][0], (Value{ValueKind::kBinary, ""})) << "empty is not NULL";
    EXPECT_EQ(parser.rows(), 2u);
  }
}

TEST(CopyBinaryParser, TruncatedOrCorruptDataIsAnError) {
  const std::string data = TwoRows();
  for (size_t cut = 0; cut < data.size(); ++cut) {
    CopyBinaryParser parser([](Tuple&&) { return Status::Ok(); });
    ASSERT_TRUE(parser.Feed(std::string_view(data).substr(0, cut)).ok());
    EXPECT_TRUE(parser.Finish().Is(Code::kCorruption)) << cut;
  }
  CopyBinaryParser bad_signature([](Tuple&&) { return Status::Ok(); });
  EXPECT_TRUE(bad_signature.Feed(std::string("PGCOPX\n\377\r\n\0\0\0\0\0\0\0\0\0", 19))
                  .Is(Code::kCorruption));
  CopyBinaryParser trailing([](Tuple&&) { return Status::Ok(); });
  EXPECT_TRUE(trailing.Feed(data + "x").Is(Code::kCorruption));
  std::string negative = data.substr(0, 19) + std::string("\0\1\xFF\xFF\xFF\xFE", 6);
  CopyBinaryParser bad_length([](Tuple&&) { return Status::Ok(); });
  EXPECT_TRUE(bad_length.Feed(negative).Is(Code::kCorruption));
}

}  // namespace
}  // namespace freshet::pg
