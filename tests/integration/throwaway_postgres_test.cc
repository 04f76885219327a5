// The throwaway server's promise: it is removed however its owner ends, even by SIGKILL.

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "pg/connection.h"
#include "subprocess.h"
#include "throwaway_postgres.h"

namespace freshet::testing {
namespace {

// Polls `condition` until it holds or `deadline` passes; true when it held.
template <typename Condition>
bool WaitFor(Condition condition, std::chrono::seconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

TEST(ThrowawayPostgres, RemovedWhenItsOwnerIsKilled) {
  // pg-sandbox owns the server; the command it runs kills pg-sandbox with SIGKILL.
  auto result = RunCommand({PG_SANDBOX_BINARY, "--", "/bin/sh", "-c", "kill -9 $PPID"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 128 + 9) << result->output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(result->output, match,
                                std::regex(R"(listening on 127\.0\.0\.1:(\d+) \(data in (\S+)\))")))
      << result->output;
  std::string port = match[1];
  std::string root = match[2];
  EXPECT_TRUE(WaitFor([&] { return !std::filesystem::exists(root); }, std::chrono::seconds(60)))
      << root << " still exists after its owner was killed";
  auto connection =
      pg::Connection::Open({.dsn = "postgres://postgres@127.0.0.1:" + port + "/postgres",
                            .connect_timeout = std::chrono::seconds(2)});
  ASSERT_FALSE(connection.ok()) << "the server still accepts connections";
  EXPECT_TRUE(connection.status().Is(Code::kUnavailable)) << connection.status();
}

TEST(ThrowawayPostgres, StopRemovesTheFolderAndIsIdempotent) {
  auto server = ThrowawayPostgres::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  std::string root = (*server)->root();
  EXPECT_TRUE(std::filesystem::exists(root + "/data/PG_VERSION"));
  EXPECT_TRUE((*server)->Execute("postgres", "SELECT 1").ok());
  EXPECT_TRUE((*server)->Stop().ok());
  EXPECT_FALSE(std::filesystem::exists(root));
  EXPECT_TRUE((*server)->Stop().ok());
}

TEST(ThrowawayPostgres, ListensOnLoopbackOnlyWithLogicalWal) {
  auto server = ThrowawayPostgres::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto connection = pg::Connection::Open({.dsn = (*server)->Dsn()});
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto rows = connection->Query(
      "SELECT current_setting('listen_addresses'), current_setting('wal_level'), "
      "current_setting('max_replication_slots')::int, current_setting('max_wal_senders')::int");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->Get(0, 0), "127.0.0.1");
  EXPECT_EQ(rows->Get(0, 1), "logical");
  EXPECT_GE(*rows->GetInt(0, 2), 20);
  EXPECT_GE(*rows->GetInt(0, 3), 20);
}

}  // namespace
}  // namespace freshet::testing
