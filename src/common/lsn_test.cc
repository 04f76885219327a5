#include "common/lsn.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

TEST(Lsn, ParsesPostgresForm) {
  auto lsn = Lsn::Parse("16/B374D848");
  ASSERT_TRUE(lsn.ok()) << lsn.status();
  EXPECT_EQ(lsn->value(), (0x16ULL << 32) | 0xB374D848ULL);
  EXPECT_EQ(Lsn::Parse("0/0")->value(), 0u);
  EXPECT_EQ(Lsn::Parse("ffffffff/ffffffff")->value(), ~0ULL);
  EXPECT_EQ(Lsn::Parse("a/1")->value(), (0xAULL << 32) | 1);
}

TEST(Lsn, FormatsLikePostgres) {
  EXPECT_EQ(Lsn((0x16ULL << 32) | 0xB374D848ULL).ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0).ToString(), "0/0");
  EXPECT_EQ(Lsn(0x1000).ToString(), "0/1000");
  EXPECT_EQ(fmt::format("{}", Lsn(1ULL << 32)), "1/0");
}

TEST(Lsn, RoundTrips) {
  for (uint64_t v : {0ULL, 1ULL, 0xFFFFFFFFULL, 0x100000000ULL, 0x123456789ABCDEFULL, ~0ULL}) {
    auto parsed = Lsn::Parse(Lsn(v).ToString());
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->value(), v);
  }
}

TEST(Lsn, RejectsMalformedText) {
  for (const char* bad : {"", "/", "1/", "/1", "1", "1/2/3", "g/1", "123456789/0", "0/123456789",
                          " 1/2", "1/2 ", "-1/2", "0x1/2"}) {
    auto parsed = Lsn::Parse(bad);
    EXPECT_FALSE(parsed.ok()) << "accepted '" << bad << "'";
    if (!parsed.ok()) {
      EXPECT_TRUE(parsed.status().Is(Code::kInvalidArgument));
      EXPECT_NE(parsed.status().message().find("is not an LSN"), std::string::npos);
    }
  }
}

TEST(Lsn, ArithmeticAndOrder) {
  Lsn a(0x100);
  Lsn b = a + 0x50;
  EXPECT_EQ(b.value(), 0x150u);
  EXPECT_EQ(b - a, 0x50);
  EXPECT_EQ(a - b, -0x50);
  EXPECT_LT(a, b);
  EXPECT_EQ((b - uint64_t{0x50}), a);
  EXPECT_EQ((a - uint64_t{0x1000}).value(), 0u) << "saturates at 0/0";
  EXPECT_EQ((Lsn(~0ULL) + 5).value(), ~0ULL) << "saturates at the top";
  EXPECT_FALSE(Lsn::Invalid().IsValid());
  EXPECT_TRUE(a.IsValid());
}

}  // namespace
}  // namespace freshet
