#include "cli/app_config.h"

#include <gtest/gtest.h>

namespace freshet::cli {
namespace {

TEST(AppConfig, TheInitExampleParsesToTheDocumentedDefaults) {
  auto root = ConfigNode::Parse(ExampleConfig(), "example.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  auto config = ParseAppConfig(*root, ".");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->pipelines.size(), 1u);
  const auto& shop = config->pipelines[0];
  pipeline::PipelineConfig defaults;
  EXPECT_EQ(shop.name, "shop");
  EXPECT_EQ(shop.source.slot, "freshet_shop");
  EXPECT_EQ(shop.lake.root, defaults.lake.root);
  EXPECT_EQ(shop.flush.max_latency, defaults.flush.max_latency);
  EXPECT_EQ(shop.flush.max_rows, defaults.flush.max_rows);
  EXPECT_EQ(shop.flush.max_bytes, defaults.flush.max_bytes);
  EXPECT_EQ(shop.memory_limit_bytes, defaults.memory_limit_bytes);
  EXPECT_EQ(config->server.http_listen, "127.0.0.1:8080");
  EXPECT_FALSE(config->server.pgwire.has_value());
  EXPECT_EQ(config->log.level, spdlog::level::info);
}

TEST(AppConfig, TopLevelErrors) {
  auto parse = [](std::string_view text) {
    auto root = ConfigNode::Parse(text, "f.yaml");
    return root.ok() ? ParseAppConfig(*root, ".").status() : root.status();
  };
  EXPECT_EQ(parse("pipeline: []\n").message(),
            "f.yaml:1: pipeline: unknown key; did you mean 'pipelines'?");
  EXPECT_EQ(parse("server:\n  http: localhost\n").message(),
            "f.yaml:2: server.http: 'localhost' is not a listen address; write host:port, like "
            "127.0.0.1:8080");
  EXPECT_EQ(parse("log:\n  level: loud\n").message(),
            "f.yaml:2: log.level: unknown log level 'loud'; use one of trace, debug, info, warn, "
            "error, off");
  EXPECT_EQ(parse("").message(),
            "f.yaml: the config file is empty; run `freshet init` for an "
            "example");
  EXPECT_TRUE(parse("server:\n  http: 0.0.0.0:9000\n").ok());
}

TEST(AppConfig, SinksParsePerPipeline) {
  auto root = ConfigNode::Parse(R"(
pipelines:
  - name: shop
    source: {postgres: {dsn: "postgres://h/shop"}}
    sinks:
      - postgres:
          dsn: postgres://h/serving
          tables: [{from: public.*, to: "analytics.{table}"}]
  - name: other
    source: {postgres: {dsn: "postgres://h/other"}}
)",
                                "f.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  auto config = ParseAppConfig(*root, ".");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->sinks.size(), 1u);
  ASSERT_EQ(config->sinks.at("shop").size(), 1u);
  EXPECT_EQ(config->sinks.at("shop")[0].dsn, "postgres://h/serving");
  EXPECT_EQ(config->sinks.at("shop")[0].tables[0].to, "analytics.{table}");

  auto bad = ConfigNode::Parse(
      "pipelines:\n  - name: shop\n    source: {postgres: {dsn: \"postgres://h/s\"}}\n"
      "    sinks:\n      - postgres: {dsn: \"postgres://h/d\", tables: [{from: x}]}\n",
      "f.yaml");
  ASSERT_TRUE(bad.ok());
  Status status = ParseAppConfig(*bad, ".").status();
  EXPECT_NE(status.message().find("f.yaml:5"), std::string::npos) << status;
  EXPECT_NE(status.message().find("not a schema.table pattern"), std::string::npos) << status;
}

}  // namespace
}  // namespace freshet::cli
