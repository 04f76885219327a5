#include "server/pgwire/protocol.h"

#include <gtest/gtest.h>

namespace freshet::server::pgwire {
namespace {

std::string StartupBody(int32_t code, std::string_view params) {
  WireWriter w;
  w.PutI32(code);
  w.PutBytes(params);
  return w.Take();
}

TEST(ProtocolTest, ParsesStartupPackets) {
  auto ssl = ParseStartupPacket(StartupBody(kSslRequestCode, ""));
  ASSERT_TRUE(ssl.ok()) << ssl.status();
  EXPECT_TRUE(std::holds_alternative<SslRequest>(*ssl));

  WireWriter cancel_body;
  cancel_body.PutI32(kCancelRequestCode);
  cancel_body.PutI32(1234);
  cancel_body.PutI32(-5);
  auto cancel = ParseStartupPacket(cancel_body.data());
  ASSERT_TRUE(cancel.ok());
  EXPECT_EQ(std::get<CancelRequest>(*cancel).process_id, 1234);
  EXPECT_EQ(std::get<CancelRequest>(*cancel).secret_key, -5);

  std::string params("user\0alice\0database\0db\0\0", 24);
  auto startup = ParseStartupPacket(StartupBody(kProtocolVersion3, params));
  ASSERT_TRUE(startup.ok()) << startup.status();
  const auto& message = std::get<StartupMessage>(*startup);
  EXPECT_EQ(message.Get("user"), "alice");
  EXPECT_EQ(message.Get("database"), "db");
  EXPECT_EQ(message.Get("missing"), "");
}

TEST(ProtocolTest, RejectsBadStartupPackets) {
  EXPECT_EQ(ParseStartupPacket(StartupBody(2 << 16, std::string("\0", 1))).status().code(),
            Code::kNotSupported);
  // A parameter without its terminating NULs.
  EXPECT_EQ(ParseStartupPacket(StartupBody(kProtocolVersion3, "user")).status().code(),
            Code::kCorruption);
  EXPECT_FALSE(ParseStartupPacket("").ok());
  // An SSLRequest with trailing bytes.
  EXPECT_FALSE(ParseStartupPacket(StartupBody(kSslRequestCode, "x")).ok());

  WireWriter length;
  length.PutI32(1 << 30);
  EXPECT_EQ(StartupBodySize(length.data()).status().code(), Code::kCorruption);
  WireWriter small;
  small.PutI32(3);
  EXPECT_FALSE(StartupBodySize(small.data()).ok());
  WireWriter fine;
  fine.PutI32(8);
  EXPECT_EQ(*StartupBodySize(fine.data()), 4u);
}

TEST(ProtocolTest, FramesWholeMessagesOnly) {
  WireWriter w;
  w.BeginMessage('Q');
  w.PutCString("SELECT 1");
  w.EndMessage();
  std::string bytes = w.Take();
  size_t consumed = 0;
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto frame = NextFrame(std::string_view(bytes).substr(0, cut), kMaxMessageBytes, &consumed);
    ASSERT_TRUE(frame.ok());
    EXPECT_FALSE(frame->has_value()) << "cut at " << cut;
  }
  auto frame = NextFrame(bytes, kMaxMessageBytes, &consumed);
  ASSERT_TRUE(frame.ok() && frame->has_value());
  EXPECT_EQ((*frame)->type, 'Q');
  EXPECT_EQ(consumed, bytes.size());
  auto query = ParseQuery((*frame)->body);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->sql, "SELECT 1");
}

TEST(ProtocolTest, RejectsOversizedAndNegativeLengthsFromTheHeaderAlone) {
  std::string header("Q\x7f\xff\xff\xff", 5);
  size_t consumed = 0;
  auto oversized = NextFrame(header, kMaxMessageBytes, &consumed);
  ASSERT_FALSE(oversized.ok());
  EXPECT_NE(oversized.status().message().find("exceeds the limit"), std::string::npos);
  std::string negative("Q\xff\xff\xff\xf0", 5);
  EXPECT_FALSE(NextFrame(negative, kMaxMessageBytes, &consumed).ok());
  std::string tiny("Q\0\0\0\x02", 5);
  EXPECT_FALSE(NextFrame(tiny, kMaxMessageBytes, &consumed).ok());
}

TEST(ProtocolTest, ParsesBindWithFormatsAndNulls) {
  WireWriter w;
  w.PutCString("portal");
  w.PutCString("stmt");
  w.PutI16(1);
  w.PutI16(1);  // every parameter binary
  w.PutI16(2);
  w.PutCountedBytes(std::string("\0\0\0\x07", 4));
  w.PutNull();
  w.PutI16(0);
  auto bind = ParseBind(w.data());
  ASSERT_TRUE(bind.ok()) << bind.status();
  EXPECT_EQ(bind->portal, "portal");
  EXPECT_EQ(bind->statement, "stmt");
  ASSERT_EQ(bind->parameters.size(), 2u);
  EXPECT_EQ(bind->ParameterFormat(1), Format::kBinary);
  EXPECT_FALSE(bind->parameters[1].has_value());
  EXPECT_EQ(bind->ResultFormat(3), Format::kText);
}

TEST(ProtocolTest, RejectsForgedCountsWithoutAllocating) {
  WireWriter w;
  w.PutCString("");
  w.PutCString("");
  w.PutI16(0);
  w.PutI16(32000);  // 32000 parameters claimed, none present
  auto bind = ParseBind(w.data());
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.status().code(), Code::kCorruption);

  WireWriter parse;
  parse.PutCString("s");
  parse.PutCString("SELECT $1");
  parse.PutI16(-1);
  EXPECT_FALSE(ParseParse(parse.data()).ok());

  WireWriter value;
  value.PutCString("");
  value.PutCString("");
  value.PutI16(0);
  value.PutI16(1);
  value.PutI32(1 << 30);  // a value longer than the message
  EXPECT_FALSE(ParseBind(value.data()).ok());
}

TEST(ProtocolTest, ParsesDescribeExecuteClose) {
  auto describe = ParseDescribe(std::string("Sname\0", 6));
  ASSERT_TRUE(describe.ok());
  EXPECT_EQ(describe->kind, 'S');
  EXPECT_EQ(describe->name, "name");
  EXPECT_FALSE(ParseDescribe(std::string("Xname\0", 6)).ok());
  WireWriter execute;
  execute.PutCString("p");
  execute.PutI32(10);
  auto parsed = ParseExecute(execute.data());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->max_rows, 10);
  EXPECT_FALSE(ParseExecute("p").ok());
  EXPECT_TRUE(ParseClose(std::string("P\0", 2)).ok());
}

TEST(ProtocolTest, WritesErrorFieldsWithoutNulBytes) {
  WireWriter w;
  WriteError(w, {"ERROR", "42601", std::string("bad\0text", 8), "", ""});
  const std::string& bytes = w.data();
  EXPECT_EQ(bytes[0], 'E');
  EXPECT_NE(bytes.find("42601"), std::string::npos);
  EXPECT_NE(bytes.find("badtext"), std::string::npos);
}

}  // namespace
}  // namespace freshet::server::pgwire
