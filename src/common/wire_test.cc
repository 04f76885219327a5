#include "common/wire.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

TEST(WireWriter, WritesBigEndianIntegersAndStrings) {
  WireWriter writer;
  writer.PutU8(0x7F);
  writer.PutI16(-2);
  writer.PutU32(0x01020304);
  writer.PutI64(-1);
  writer.PutCString("ab");
  writer.PutCountedBytes("xyz");
  writer.PutNull();
  EXPECT_EQ(writer.data(), std::string("\x7F\xFF\xFE\x01\x02\x03\x04"
                                       "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
                                       "ab\0"
                                       "\0\0\0\3xyz\xFF\xFF\xFF\xFF",
                                       1 + 2 + 4 + 8 + 3 + 7 + 4));
}

TEST(WireReader, ReadsWhatTheWriterWrote) {
  WireWriter writer;
  writer.PutU8(200);
  writer.PutU16(65000);
  writer.PutI16(-300);
  writer.PutU32(4000000000U);
  writer.PutI32(-7);
  writer.PutU64(0x0123456789ABCDEFULL);
  writer.PutI64(INT64_MIN);
  writer.PutCString("");
  writer.PutCString("héllo");
  writer.PutCountedBytes(std::string("a\0b", 3));
  writer.PutNull();
  writer.PutBytes("tail");

  WireReader reader(writer.data(), "test frame");
  EXPECT_EQ(*reader.ReadU8(), 200);
  EXPECT_EQ(*reader.ReadU16(), 65000);
  EXPECT_EQ(*reader.ReadI16(), -300);
  EXPECT_EQ(*reader.ReadU32(), 4000000000U);
  EXPECT_EQ(*reader.ReadI32(), -7);
  EXPECT_EQ(*reader.ReadU64(), 0x0123456789ABCDEFULL);
  EXPECT_EQ(*reader.ReadI64(), INT64_MIN);
  EXPECT_EQ(*reader.ReadCString(), "");
  EXPECT_EQ(*reader.ReadCString(), "héllo");
  bool is_null = true;
  EXPECT_EQ(*reader.ReadCountedBytes(&is_null), std::string_view("a\0b", 3));
  EXPECT_FALSE(is_null);
  EXPECT_EQ(*reader.ReadCountedBytes(&is_null), "");
  EXPECT_TRUE(is_null);
  EXPECT_FALSE(reader.ExpectEnd().ok());
  EXPECT_EQ(reader.ReadRest(), "tail");
  EXPECT_TRUE(reader.empty());
  EXPECT_TRUE(reader.ExpectEnd().ok());
}

TEST(WireReader, EveryTruncationIsCorruptionNotACrash) {
  WireWriter writer;
  writer.PutU64(1);
  writer.PutCString("name");
  writer.PutCountedBytes("value");
  const std::string full = writer.data();
  for (size_t cut = 0; cut < full.size(); ++cut) {
    WireReader reader(std::string_view(full).substr(0, cut), "frame");
    bool is_null = false;
    Status status;
    auto a = reader.ReadU64();
    if (!a.ok()) {
      status = a.status();
    } else if (auto b = reader.ReadCString(); !b.ok()) {
      status = b.status();
    } else {
      status = reader.ReadCountedBytes(&is_null).status();
    }
    ASSERT_FALSE(status.ok()) << "cut at " << cut;
    EXPECT_TRUE(status.Is(Code::kCorruption)) << status;
    EXPECT_NE(status.message().find("truncated frame"), std::string::npos) << status;
  }
}

TEST(WireReader, TruncationMessageSaysWhereAndHowMuch) {
  WireReader reader(std::string_view("\x01\x02", 2), "pgoutput Begin");
  auto value = reader.ReadU32();
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(),
            "truncated pgoutput Begin: reading an Int32 at byte 0 needs 4 bytes, 2 left");
  EXPECT_EQ(reader.position(), 0u) << "a failed read consumes nothing";
}

TEST(WireReader, RejectsNegativeLengthsAndOverlongRuns) {
  WireWriter writer;
  writer.PutI32(-5);
  WireReader negative(writer.data());
  bool is_null = false;
  EXPECT_TRUE(negative.ReadCountedBytes(&is_null).status().Is(Code::kCorruption));

  WireWriter overlong;
  overlong.PutI32(INT32_MAX);
  overlong.PutBytes("abc");
  WireReader reader(overlong.data());
  EXPECT_TRUE(reader.ReadCountedBytes(&is_null).status().Is(Code::kCorruption));
  EXPECT_TRUE(WireReader("ab").Skip(3).Is(Code::kCorruption));
  EXPECT_TRUE(WireReader("").ReadU8().status().Is(Code::kCorruption));
}

TEST(WireWriter, FramesMessagesWithTheirLength) {
  WireWriter writer;
  writer.BeginMessage('Q');
  writer.PutCString("SELECT 1");
  writer.EndMessage();
  WireReader reader(writer.data());
  EXPECT_EQ(*reader.ReadU8(), 'Q');
  EXPECT_EQ(*reader.ReadI32(), 4 + 9);
  EXPECT_EQ(*reader.ReadCString(), "SELECT 1");
  EXPECT_TRUE(reader.ExpectEnd().ok());
}

}  // namespace
}  // namespace freshet
