#include "common/config.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

using std::chrono::milliseconds;

constexpr char kExample[] = R"(pipelines:
  - name: shop
    flush:
      max_latency_ms: 1000
      max_bytes: 64MB
      every: 2s
    tables: ["public.*", "sales.orders"]
    enabled: yes
  - name: second
    flush:
      max_rows: lots
)";

ConfigNode MustParse(std::string_view text) {
  auto root = ConfigNode::Parse(text, "freshet.yaml");
  EXPECT_TRUE(root.ok()) << root.status();
  return *root;
}

TEST(Config, ReadsTypedValuesAlongPaths) {
  ConfigNode root = MustParse(kExample);
  auto pipelines = root.Get("pipelines")->Items();
  ASSERT_TRUE(pipelines.ok());
  ASSERT_EQ(pipelines->size(), 2u);
  const ConfigNode& shop = (*pipelines)[0];
  EXPECT_EQ(shop.path(), "pipelines[0]");
  EXPECT_EQ(*shop.Get("name")->AsString(), "shop");
  ConfigNode flush = *shop.Get("flush");
  EXPECT_EQ(flush.path(), "pipelines[0].flush");
  EXPECT_EQ(*flush.Get("max_latency_ms")->AsInt(), 1000);
  EXPECT_EQ(*flush.Get("max_bytes")->AsByteSize(), 64u << 20);
  EXPECT_EQ(*flush.Get("every")->AsDuration(), milliseconds(2000));
  EXPECT_EQ(*flush.GetInt("max_rows", 500000), 500000);
  EXPECT_EQ(*shop.Get("tables")->AsStringList(),
            (std::vector<std::string>{"public.*", "sales.orders"}));
  EXPECT_TRUE(*shop.Get("enabled")->AsBool());
}

TEST(Config, TypeErrorsNameFileLineAndKey) {
  ConfigNode root = MustParse(kExample);
  ConfigNode second = (*root.Get("pipelines")->Items())[1];
  auto rows = second.Get("flush")->Get("max_rows")->AsInt();
  ASSERT_FALSE(rows.ok());
  EXPECT_TRUE(rows.status().Is(Code::kInvalidArgument));
  EXPECT_EQ(rows.status().message(),
            "freshet.yaml:11: pipelines[1].flush.max_rows: expected an integer, got 'lots'");
}

TEST(Config, MissingKeyNamesTheParent) {
  ConfigNode root = MustParse(kExample);
  auto slot = (*root.Get("pipelines")->Items())[0].Get("slot");
  ASSERT_FALSE(slot.ok());
  EXPECT_EQ(slot.status().message(), "freshet.yaml:2: pipelines[0]: missing required key 'slot'");
}

TEST(Config, UnknownKeysAreErrorsWithSuggestions) {
  ConfigNode root = MustParse("flush:\n  max_rows: 1\n  max_lattency_ms: 5\n");
  Status s = root.Get("flush")->CheckKeys({"max_rows", "max_latency_ms", "max_bytes"});
  EXPECT_EQ(s.message(),
            "freshet.yaml:3: flush.max_lattency_ms: unknown key; did you mean "
            "'max_latency_ms'?");
  Status far = root.CheckKeys({"pipelines", "server"});
  EXPECT_EQ(far.message(),
            "freshet.yaml:1: flush: unknown key; known keys here: pipelines, server");
  EXPECT_TRUE(root.CheckKeys({"flush"}).ok());
}

TEST(Config, DuplicateKeysAreErrors) {
  ConfigNode root = MustParse("a: 1\nb: 2\na: 3\n");
  Status s = root.CheckKeys({"a", "b"});
  EXPECT_EQ(s.message(), "freshet.yaml:3: a: key appears twice (first on line 1)");
}

TEST(Config, SyntaxErrorsGiveLineAndColumn) {
  auto root = ConfigNode::Parse("a: [1, 2\nb: 3\n", "bad.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.status().message().find("bad.yaml:"), std::string::npos);
  EXPECT_NE(root.status().message().find("YAML syntax error"), std::string::npos);
}

TEST(Config, MissingFileSaysHowToFix) {
  auto root = ConfigNode::LoadFile("/nonexistent/freshet.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(root.status().Is(Code::kNotFound));
  EXPECT_NE(root.status().message().find("freshet init"), std::string::npos);
}

TEST(Config, ShapeErrors) {
  ConfigNode root = MustParse("a: {x: 1}\nb: [1]\nc:\n");
  EXPECT_EQ(root.Get("a")->AsString().status().message(),
            "freshet.yaml:1: a: expected a string, got a map");
  EXPECT_EQ(root.Get("b")->AsInt().status().message(),
            "freshet.yaml:2: b: expected an integer, got a list");
  EXPECT_FALSE(root.Get("c")->AsString().ok());
  EXPECT_FALSE(root.Get("a")->Items().ok());
}

TEST(ByteSize, ParsesUnits) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("512KB"), 512u << 10);
  EXPECT_EQ(*ParseByteSize("64MB"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("64 mib"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("2GB"), 2ULL << 30);
  EXPECT_EQ(*ParseByteSize("1TB"), 1ULL << 40);
  for (const char* bad : {"", "MB", "12XB", "-1MB", "1.5GB", "99999999999999999999"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseByteSize("20000000TB").ok()) << "overflow";
}

TEST(ListenAddress, ParsesHostAndPort) {
  auto v4 = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  EXPECT_EQ(ParseListenAddress("[::1]:5433")->host, "::1");
  EXPECT_EQ(ParseListenAddress(":0")->host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress(":0")->port, 0);
  for (const char* bad : {"", "localhost", "host:", "host:http", "h:70000", "h:-1", "h:123456"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(*ParseDuration("10m"), milliseconds(600000));
  EXPECT_EQ(*ParseDuration("2h"), milliseconds(7200000));
  EXPECT_EQ(*ParseDuration("7d"), milliseconds(7 * 86400000LL));
  for (const char* bad : {"", "5", "s", "5 weeks", "1.5s"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace freshet
