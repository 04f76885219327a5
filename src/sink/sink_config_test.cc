#include "sink/sink_config.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace freshet::sink {
namespace {

Result<std::vector<PostgresSinkConfig>> ParseText(std::string_view text) {
  auto root = ConfigNode::Parse(text, "freshet.yaml");
  if (!root.ok()) return root.status();
  FRESHET_ASSIGN_OR_RETURN(ConfigNode sinks, root->Get("sinks"));
  return ParseSinks(sinks);
}

TEST(SinkConfig, ParsesTheDocumentedShape) {
  auto sinks = ParseText(R"(
sinks:
  - postgres:
      dsn: postgres://user@127.0.0.1:5434/serving
      tables:
        - from: public.*
          to: analytics.{table}
          mode: upsert
        - from: audit.events
          mode: append
)");
  ASSERT_TRUE(sinks.ok()) << sinks.status();
  ASSERT_EQ(sinks->size(), 1u);
  const PostgresSinkConfig& sink = (*sinks)[0];
  EXPECT_EQ(sink.name, "postgres_0");
  EXPECT_EQ(sink.dsn, "postgres://user@127.0.0.1:5434/serving");
  EXPECT_EQ(sink.poll_interval, std::chrono::milliseconds(500));
  ASSERT_EQ(sink.tables.size(), 2u);
  EXPECT_EQ(sink.tables[0].to, "analytics.{table}");
  EXPECT_EQ(sink.tables[0].mode, SinkMode::kUpsert);
  EXPECT_EQ(sink.tables[1].to, "{schema}.{table}");
  EXPECT_EQ(sink.tables[1].mode, SinkMode::kAppend);
  ASSERT_NE(sink.EntryFor("public.orders"), nullptr);
  EXPECT_EQ(sink.EntryFor("public.orders")->from, "public.*");
  EXPECT_EQ(sink.EntryFor("audit.events")->mode, SinkMode::kAppend);
  EXPECT_EQ(sink.EntryFor("audit.other"), nullptr);
}

TEST(SinkConfig, UnknownKeyNamesFileLineAndKey) {
  auto sinks = ParseText(R"(
sinks:
  - postgres:
      dsn: postgres://x@h/db
      tabels: []
)");
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.status().message().find("freshet.yaml:5"), std::string::npos) << sinks.status();
  EXPECT_NE(sinks.status().message().find("tabels"), std::string::npos) << sinks.status();
}

TEST(SinkConfig, BadModeSaysWhichModesExist) {
  auto sinks = ParseText(R"(
sinks:
  - postgres:
      dsn: postgres://x@h/db
      tables: [{from: public.t, mode: merge}]
)");
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.status().message().find("use upsert, append or snapshot"), std::string::npos)
      << sinks.status();
}

TEST(SinkConfig, PatternWithoutTablePlaceholderIsRefused) {
  auto sinks = ParseText(R"(
sinks:
  - postgres:
      dsn: postgres://x@h/db
      tables: [{from: public.*, to: analytics.everything}]
)");
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.status().message().find("add {table}"), std::string::npos) << sinks.status();
}

TEST(SinkConfig, UnknownPlaceholderIsRefused) {
  auto sinks = ParseText(R"(
sinks:
  - postgres:
      dsn: postgres://x@h/db
      tables: [{from: public.t, to: "{db}.t"}]
)");
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.status().message().find("unknown placeholder"), std::string::npos)
      << sinks.status();
}

TEST(SinkConfig, MissingDsnAndEmptyTablesAreErrors) {
  EXPECT_FALSE(ParseText("sinks:\n  - postgres:\n      tables: [{from: a.b}]\n").ok());
  auto empty = ParseText("sinks:\n  - postgres:\n      dsn: postgres://h/db\n      tables: []\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("at least one table"), std::string::npos);
}

TEST(SinkConfig, DuplicateNamesAreRefused) {
  auto sinks = ParseText(R"(
sinks:
  - postgres: {dsn: "postgres://h/a", name: s, tables: [{from: a.b}]}
  - postgres: {dsn: "postgres://h/b", name: s, tables: [{from: a.b}]}
)");
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.status().message().find("used twice"), std::string::npos);
}

TEST(SinkConfig, OptionalSettings) {
  auto sinks = ParseText(R"(
sinks:
  - postgres:
      dsn: postgres://h/a
      name: serving
      poll_interval: 2s
      max_versions_per_transaction: 7
      tables: [{from: public.orders, to: serving.orders, mode: snapshot}]
)");
  ASSERT_TRUE(sinks.ok()) << sinks.status();
  EXPECT_EQ((*sinks)[0].name, "serving");
  EXPECT_EQ((*sinks)[0].poll_interval, std::chrono::milliseconds(2000));
  EXPECT_EQ((*sinks)[0].max_versions_per_transaction, 7);
  EXPECT_EQ((*sinks)[0].tables[0].mode, SinkMode::kSnapshot);
}

TEST(SinkConfig, DestinationNameFillsPlaceholders) {
  auto name = DestinationName("{schema}_copy.t_{table}", {"public", "orders"});
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->schema, "public_copy");
  EXPECT_EQ(name->table, "t_orders");
  EXPECT_FALSE(DestinationName("{table}", {"public", "orders"}).ok());
  EXPECT_FALSE(DestinationName("a.b.{table}", {"public", "orders"}).ok());
}

TEST(SinkConfig, PasswordFromFileThenEnvironment) {
  PostgresSinkConfig config;
  ::unsetenv("FRESHET_SINK_PASSWORD");
  auto none = SinkPassword(config);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ::setenv("FRESHET_SINK_PASSWORD", "from-env", 1);
  EXPECT_EQ(SinkPassword(config)->value(), "from-env");
  std::string path = ::testing::TempDir() + "/sink_password";
  std::ofstream(path) << "from-file\nignored\n";
  config.password_file = path;
  EXPECT_EQ(SinkPassword(config)->value(), "from-file");
  config.password_file = path + ".missing";
  EXPECT_TRUE(SinkPassword(config).status().Is(Code::kNotFound));
  ::unsetenv("FRESHET_SINK_PASSWORD");
}

}  // namespace
}  // namespace freshet::sink
