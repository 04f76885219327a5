#include "sink/postgres_sink.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "sink/inspect.h"
#include "sink/sink_test_fixture.h"

namespace freshet::sink {
namespace {

using lake::ChangeOp;
using sink::testing::DeleteItem;
using sink::testing::Item;
using sink::testing::ItemsSchemaJson;

// Polls `predicate` until it holds or `timeout` passes.
template <typename Predicate>
bool WaitFor(Predicate predicate, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return predicate();
}

class PostgresSinkTest : public sink::testing::SinkTest {
 protected:
  PostgresSinkConfig Config(SinkMode mode = SinkMode::kUpsert) {
    PostgresSinkConfig config;
    config.name = "serving";
    config.dsn = dsn();
    config.poll_interval = std::chrono::milliseconds(20);
    config.tables = {{.from = "public.*", .to = "serving.{table}", .mode = mode}};
    return config;
  }

  static const SinkTableStatus* Find(const SinkStatus& status, const std::string& table) {
    for (const auto& entry : status.tables) {
      if (entry.lake_table == table) return &entry;
    }
    return nullptr;
  }
  // The result points into `status`, so a temporary would leave it dangling.
  static const SinkTableStatus* Find(SinkStatus&& status, const std::string& table) = delete;

  MetricsRegistry metrics_;
};

TEST_F(PostgresSinkTest, APassCopiesEveryMatchingTableAndReportsIt) {
  CreateLakeTable(TablePath("public", "items"), ItemsSchemaJson());
  Apply({Item(ChangeOp::kInsert, 1, "one", 100), Item(ChangeOp::kInsert, 2, "two", 200)});
  std::string other = TablePath("audit", "items");
  CreateLakeTable(other, ItemsSchemaJson());
  Apply({Item(ChangeOp::kInsert, 9, "nine", 900)});

  auto sink = PostgresSink::Create(Config(), root_, "shop", metrics_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto behind = (*sink)->RunPass();
  ASSERT_TRUE(behind.ok()) << behind.status();
  EXPECT_FALSE(*behind);
  EXPECT_EQ(Rows("SELECT * FROM serving.items ORDER BY id"),
            (std::vector<std::string>{"1|one|1.00|∅", "2|two|2.00|∅"}));
  // audit.* does not match public.*.
  EXPECT_EQ(Rows("SELECT count(*) FROM pg_tables WHERE schemaname = 'audit'"),
            std::vector<std::string>{"0"});

  SinkStatus status = (*sink)->status();
  EXPECT_TRUE(status.connected);
  ASSERT_EQ(status.tables.size(), 1u);
  const SinkTableStatus& items = status.tables[0];
  EXPECT_EQ(items.lake_table, "public.items");
  EXPECT_EQ(items.destination, "serving.items");
  EXPECT_EQ(items.applied_version, 1);
  EXPECT_EQ(items.lag_versions, 0);
  EXPECT_EQ(items.state, "caught up");
  EXPECT_EQ(items.rows_applied, 2);
  std::string text = FormatSinkStatus(status);
  EXPECT_NE(text.find("public.items"), std::string::npos) << text;
  EXPECT_EQ(text.find(server().superuser_password()), std::string::npos) << text;
  std::string exposition = metrics_.RenderPrometheus();
  EXPECT_NE(exposition.find("freshet_sink_applied_version{pipeline=\"shop\",sink=\"serving\","
                            "table=\"public.items\"} 1"),
            std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("freshet_sink_rows_total{pipeline=\"shop\",sink=\"serving\","
                            "table=\"public.items\"} 2"),
            std::string::npos)
      << exposition;
}

TEST_F(PostgresSinkTest, SeveralVersionsPerTransactionWhenBehind) {
  CreateLakeTable(TablePath("public", "items"), ItemsSchemaJson());
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  PostgresSinkConfig config = Config();
  config.max_versions_per_transaction = 3;
  auto sink = PostgresSink::Create(config, root_, "shop", metrics_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->RunPass().ok());
  for (int i = 0; i < 7; ++i) Apply({Item(ChangeOp::kUpdate, 1, "one", 100 + i)});
  auto behind = (*sink)->RunPass();
  ASSERT_TRUE(behind.ok()) << behind.status();
  SinkStatus status = (*sink)->status();  // a copy: Find points into it
  const SinkTableStatus* items = Find(status, "public.items");
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->applied_version, 4);
  EXPECT_EQ(items->lag_versions, 4);
  EXPECT_EQ(items->state, "following");
  EXPECT_GE(items->lag_seconds, 0);
  EXPECT_TRUE(*behind);
  while (*(*sink)->RunPass()) {
  }
  status = (*sink)->status();
  EXPECT_EQ(Find(status, "public.items")->applied_version, 8);
  // From outside the worker: the offsets table against the lake.
  Apply({Item(ChangeOp::kInsert, 2, "two", 200)});
  auto inspected = InspectSink(config, fs_, root_);
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  const SinkTableStatus* outside = Find(*inspected, "public.items");
  ASSERT_NE(outside, nullptr);
  EXPECT_EQ(outside->applied_version, 8);
  EXPECT_EQ(outside->latest_version, 9);
  EXPECT_EQ(outside->lag_versions, 1);
  EXPECT_EQ(outside->state, "following");
  EXPECT_EQ(outside->destination, "serving.items");
  EXPECT_EQ(Rows("SELECT * FROM serving.items"), std::vector<std::string>{"1|one|1.06|∅"});
}

TEST_F(PostgresSinkTest, UnreachableDestinationIsUnavailableAndNotConnected) {
  CreateLakeTable(TablePath("public", "items"), ItemsSchemaJson());
  PostgresSinkConfig config = Config();
  config.dsn = "postgres://nobody@127.0.0.1:1/none";
  auto sink = PostgresSink::Create(config, root_, "shop", metrics_);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto pass = (*sink)->RunPass();
  ASSERT_FALSE(pass.ok());
  EXPECT_TRUE(pass.status().Is(Code::kUnavailable)) << pass.status();
  EXPECT_FALSE((*sink)->status().connected);
  EXPECT_FALSE((*sink)->status().last_error.empty());
}

TEST_F(PostgresSinkTest, BatchFilesOfDeadWorkersAreRemovedAtStart) {
  // 4194305 is above Linux's largest pid_max, so no such process exists.
  std::string stale = dir_.path() + "/freshet-sink-4194305-1-1.csv";
  std::string mine = dir_.path() + "/freshet-sink-" + std::to_string(::getpid()) + "-1-1.csv";
  std::ofstream(stale) << "1\n";
  std::ofstream(mine) << "1\n";
  SinkOptions options;
  options.temp_dir = dir_.path();
  auto sink = PostgresSink::Create(Config(), root_, "shop", metrics_, options);
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(mine));
}

TEST_F(PostgresSinkTest, BadDsnFailsAtStart) {
  PostgresSinkConfig config = Config();
  config.dsn = "postgres://[bad";
  auto sink = PostgresSink::Start(config, root_, "shop", metrics_);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("sink serving"), std::string::npos) << sink.status();
}

// The destination goes away twice while the lake keeps changing: connections refused for a
// while, then a crash-restart of the server. The worker retries and ends equal to the lake.
TEST_F(PostgresSinkTest, DestinationDownForAWhileCatchesUp) {
  auto destination = freshet::testing::ThrowawayPostgres::Start();
  ASSERT_TRUE(destination.ok()) << destination.status();
  ASSERT_TRUE((*destination)->CreateDatabase("serving").ok());
  CreateLakeTable(TablePath("public", "items"), ItemsSchemaJson());
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});

  PostgresSinkConfig config = Config();
  config.dsn = (*destination)->Dsn("serving");
  SinkOptions options;
  options.min_backoff = std::chrono::milliseconds(50);
  options.max_backoff = std::chrono::milliseconds(400);
  auto sink = PostgresSink::Start(config, root_, "shop", metrics_, options);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto applied = [&](int64_t version) {
    return WaitFor([&] {
      SinkStatus status = (*sink)->status();
      const SinkTableStatus* items = Find(status, "public.items");
      return items != nullptr && items->applied_version == version;
    });
  };
  ASSERT_TRUE(applied(1));

  // Refuse connections and end the sink's session.
  ASSERT_TRUE((*destination)
                  ->Execute("postgres",
                            "ALTER DATABASE serving ALLOW_CONNECTIONS false; SELECT "
                            "pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                            "'serving'")
                  .ok());
  int64_t version = 0;
  for (int i = 2; i <= 6; ++i) version = Apply({Item(ChangeOp::kInsert, i, "n", i * 100)});
  ASSERT_TRUE(WaitFor([&] { return !(*sink)->status().connected; }));
  ASSERT_TRUE(
      (*destination)->Execute("postgres", "ALTER DATABASE serving ALLOW_CONNECTIONS true").ok());
  ASSERT_TRUE(applied(version));

  // A crash and recovery of the destination server.
  ASSERT_TRUE((*destination)->Restart("immediate").ok());
  version = Apply({DeleteItem(1), Item(ChangeOp::kUpdate, 2, "two", 222)});
  ASSERT_TRUE(applied(version)) << FormatSinkStatus((*sink)->status());
  (*sink)->Stop();

  auto check = pg::Connection::Open({.dsn = (*destination)->Dsn("serving")});
  ASSERT_TRUE(check.ok()) << check.status();
  auto rows = check->Query(
      "SELECT string_agg(id || ':' || amount, ',' ORDER BY id) FROM "
      "serving.items");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->Get(0, 0), "2:2.22,3:3.00,4:4.00,5:5.00,6:6.00");
  EXPECT_GT(metrics_
                .Counter("freshet_sink_errors_total",
                         "Failed sink steps and connection "
                         "attempts",
                         {{"pipeline", "shop"}, {"sink", "serving"}})
                .value(),
            0);
}

}  // namespace
}  // namespace freshet::sink
