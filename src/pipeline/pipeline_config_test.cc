#include "pipeline/pipeline_config.h"

#include <gtest/gtest.h>

namespace freshet::pipeline {
namespace {

Result<std::vector<PipelineConfig>> Parse(std::string_view yaml) {
  auto root = ConfigNode::Parse(yaml, "freshet.yaml");
  if (!root.ok()) return root.status();
  FRESHET_ASSIGN_OR_RETURN(ConfigNode pipelines, root->Get("pipelines"));
  return ParsePipelines(pipelines);
}

std::string ErrorOf(std::string_view yaml) {
  auto parsed = Parse(yaml);
  return parsed.ok() ? "OK" : parsed.status().message();
}

TEST(PipelineConfig, MinimalConfigGetsDefaults) {
  auto parsed = Parse(R"(pipelines:
  - name: shop
    source:
      postgres:
        dsn: postgres://app@127.0.0.1:5432/shop
)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  const PipelineConfig& shop = (*parsed)[0];
  EXPECT_EQ(shop.name, "shop");
  EXPECT_EQ(shop.AppId(), "freshet-shop");
  EXPECT_EQ(shop.source.slot, "freshet_shop");
  EXPECT_EQ(shop.source.publication, "freshet_shop");
  EXPECT_EQ(shop.source.tables, std::vector<std::string>{"public.*"});
  EXPECT_EQ(shop.source.snapshot, SnapshotMode::kInitial);
  EXPECT_EQ(shop.lake.root, "./lake");
  EXPECT_EQ(shop.flush.max_latency, std::chrono::milliseconds(1000));
  EXPECT_EQ(shop.flush.max_rows, 500'000u);
  EXPECT_EQ(shop.flush.max_bytes, 16u << 20);
  EXPECT_EQ(shop.memory_limit_bytes, 512u << 20);
}

TEST(PipelineConfig, FullConfigWithOverrides) {
  auto parsed = Parse(R"(pipelines:
  - name: shop
    source:
      postgres:
        dsn: postgres://app@127.0.0.1:5432/shop
        password_file: /run/secrets/pg
        slot: shop_slot
        publication: shop_pub
        tables: ["public.*", "sales.orders"]
        exclude: ["public.audit_*"]
        snapshot: initial_only
    lake:
      root: /data/lake
    flush:
      max_latency_ms: 250
      max_rows: 1000
      max_bytes: 8MB
    memory_limit: 1GB
    overrides:
      - table: public.events
        partition_by: [day]
        mode: append_only
        change_feed: false
      - table: public.*
        primary_key: [id, tenant]
)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const PipelineConfig& shop = (*parsed)[0];
  EXPECT_EQ(shop.source.password_file, "/run/secrets/pg");
  EXPECT_EQ(shop.source.slot, "shop_slot");
  EXPECT_EQ(shop.source.exclude, std::vector<std::string>{"public.audit_*"});
  EXPECT_EQ(shop.source.snapshot, SnapshotMode::kInitialOnly);
  EXPECT_EQ(shop.flush.max_latency, std::chrono::milliseconds(250));
  EXPECT_EQ(shop.flush.max_bytes, 8u << 20);
  EXPECT_EQ(shop.memory_limit_bytes, 1ULL << 30);
  const TableOverride* events = shop.OverrideFor("public.events");
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->mode, TableMode::kAppendOnly);
  EXPECT_EQ(events->partition_by, std::vector<std::string>{"day"});
  EXPECT_EQ(events->change_feed, false);
  const TableOverride* orders = shop.OverrideFor("public.orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->primary_key, (std::vector<std::string>{"id", "tenant"}));
  EXPECT_EQ(orders->change_feed, std::nullopt);
  EXPECT_EQ(shop.OverrideFor("sales.orders"), nullptr);
}

TEST(PipelineConfig, ErrorsNameLineAndKey) {
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: shop\n    source:\n      postgres:\n"
                    "        dsn: x\n        snapshot: sometimes\n"),
            "freshet.yaml:6: pipelines[0].source.postgres.snapshot: 'sometimes' is not a snapshot "
            "mode; use initial, never or initial_only");
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: shop\n    source:\n      postgres:\n"
                    "        dsn: x\n    flush:\n      max_row: 5\n"),
            "freshet.yaml:7: pipelines[0].flush.max_row: unknown key; did you mean 'max_rows'?");
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: Shop!\n    source:\n      postgres:\n        dsn: x\n"),
            "freshet.yaml:2: pipelines[0].name: pipeline name 'Shop!' may hold only lower-case "
            "letters, digits and _ (at most 48)");
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: shop\n"),
            "freshet.yaml:2: pipelines[0]: missing required key 'source'");
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: shop\n    source:\n      postgres:\n        dsn: x\n"
                    "        tables: [orders]\n"),
            "freshet.yaml:6: pipelines[0].source.postgres.tables: 'orders' is not a schema.table "
            "pattern; write it like public.orders or public.*");
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: shop\n    source:\n      postgres:\n        dsn: x\n"
                    "    memory_limit: 1MB\n"),
            "freshet.yaml:6: pipelines[0].memory_limit: must be at least 16MB");
  EXPECT_EQ(ErrorOf("pipelines:\n  - name: shop\n    source:\n      postgres:\n        dsn: x\n"
                    "    unrepresentable_values: drop\n"),
            "freshet.yaml:6: pipelines[0].unrepresentable_values: 'drop' is not a rule; use "
            "fail, null or clamp (docs/types.md)");
  auto parsed = Parse(
      "pipelines:\n  - name: shop\n    source:\n      postgres:\n        dsn: x\n"
      "    unrepresentable_values: clamp\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].unrepresentable_values, UnrepresentableValues::kClamp);
}

TEST(PipelineConfig, NamesAndSlotsMustBeUnique) {
  std::string one = "  - name: a\n    source:\n      postgres:\n        dsn: x\n";
  std::string two = "  - name: a\n    source:\n      postgres:\n        dsn: y\n";
  EXPECT_EQ(ErrorOf("pipelines:\n" + one + two),
            "freshet.yaml:6: pipelines[1]: pipeline name 'a' is used twice");
  std::string shared =
      "  - name: b\n    source:\n      postgres:\n        dsn: x\n"
      "        slot: freshet_a\n";
  EXPECT_EQ(ErrorOf("pipelines:\n" + one + shared),
            "freshet.yaml:6: pipelines[1]: pipelines 'a' and 'b' would share slot 'freshet_a'; "
            "give each its own");
}

}  // namespace
}  // namespace freshet::pipeline
