// `freshet run` as a real process against a real PostgreSQL, with the OLTP generator writing:
// streaming, SIGTERM and restart, SIGKILL at random moments, and bad input.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/change_feed.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"
#include "pipeline/lake_compare_test_util.h"
#include "pipeline/pipeline.h"
#include "postgres_test.h"
#include "subprocess.h"
#include "workload/generator.h"

extern char** environ;

namespace freshet {
namespace {

using namespace std::chrono_literals;

// A child process with its output in a file.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  void Signal(int signal) { kill(pid_, signal); }
  // The exit code (128 + signal when killed), or -1 when it did not end within `timeout`.
  int Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class PipelineEndToEnd : public testing::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    dir_ = (std::filesystem::temp_directory_path() /
            fmt::format("freshet-e2e-{}-{}", getpid(), counter_++))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    pg::Connection sql = Connect();
    ASSERT_TRUE(workload::CreateShopSchema(sql, 1).ok());
  }
  void TearDown() override {
    StopGenerator();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
    PostgresTest::TearDown();
  }

  std::string WriteConfig(const std::string& extra = "") {
    std::string path = dir_ + "/freshet.yaml";
    std::ofstream(path) << fmt::format(
        "pipelines:\n"
        "  - name: shop\n"
        "    source:\n"
        "      postgres:\n"
        "        dsn: \"{}\"\n"
        "        tables: [\"public.*\"]\n"
        "    lake:\n"
        "      root: {}/lake\n"
        "    flush:\n"
        "      max_latency_ms: 300\n"
        "{}"
        "server:\n"
        "  http: 127.0.0.1:0\n",
        dsn(), dir_, extra);
    return path;
  }

  std::unique_ptr<Process> StartRun(const std::string& config) {
    auto process = std::make_unique<Process>(
        std::vector<std::string>{FRESHET_BINARY, "run", "--config", config}, dir_ + "/run.log");
    EXPECT_TRUE(process->started());
    return process;
  }

  void StartGenerator(double rate) {
    generator_ = std::thread([this, rate] {
      workload::GeneratorOptions options;
      options.connection.dsn = dsn();
      options.changes_per_second = rate;
      options.duration = 0ms;
      options.create_schema = false;
      options.seed = 7;
      auto stats = workload::RunGenerator(
          options, [this] { return stop_generator_.load(); }, nullptr);
      generator_status_ = stats.status();
      if (stats.ok()) generator_stats_ = *stats;
    });
  }
  void StopGenerator() {
    stop_generator_ = true;
    if (generator_.joinable()) generator_.join();
  }

  // Waits until every shop table in the lake equals its source table.
  ::testing::AssertionResult Drained(std::chrono::seconds timeout = 60s) {
    pg::Connection sql = Connect();
    lake::LocalFileSystem fs;
    auto database = engine::Database::Open("");
    auto connection = database->Connect();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (const char* table : {"customers", "products", "orders", "order_items"}) {
        std::string qualified = fmt::format("public.{}", table);
        auto columns = pipeline::compare::SourceColumns(sql, qualified);
        auto source = pipeline::compare::PostgresRows(sql, qualified);
        if (!columns.ok() || !source.ok()) return ::testing::AssertionFailure() << "source";
        auto lake_rows = pipeline::compare::LakeRows(
            fs, *connection, pipeline::TablePath(dir_ + "/lake", "public", table), *columns);
        if (!lake_rows.ok() || *lake_rows != *source) {
          all = false;
          last = fmt::format("{}: {} source rows, {}", qualified, source->size(),
                             lake_rows.ok() ? fmt::format("{} lake rows", lake_rows->size())
                                            : lake_rows.status().ToString());
          break;
        }
      }
      if (all) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(300ms);
    }
    return ::testing::AssertionFailure() << "lake differs from source: " << last << "\nlog:\n"
                                         << ReadFile(dir_ + "/run.log").substr(0, 20000);
  }

  std::string dir_;
  std::thread generator_;
  std::atomic<bool> stop_generator_{false};
  Status generator_status_;
  workload::GeneratorStats generator_stats_;
  static inline int counter_ = 0;
};

// Streaming while the generator writes; SIGTERM flushes and exits within 5 s; the restart
// resumes from the lake without a new snapshot; after a drain every table equals its source.
TEST_F(PipelineEndToEnd, StreamsStopsOnSigtermAndResumesWithoutSnapshot) {
  std::string config = WriteConfig();
  StartGenerator(400);
  auto run = StartRun(config);
  std::this_thread::sleep_for(3s);
  auto sent = std::chrono::steady_clock::now();
  run->Signal(SIGTERM);
  int code = run->Wait(10s);
  auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(code, 0) << ReadFile(dir_ + "/run.log");
  EXPECT_LT(took, 5s);
  std::string first_log = ReadFile(dir_ + "/run.log");
  EXPECT_NE(first_log.find("initial snapshot done"), std::string::npos) << first_log;

  run = StartRun(config);
  std::this_thread::sleep_for(2s);
  StopGenerator();
  ASSERT_TRUE(generator_status_.ok()) << generator_status_;
  ASSERT_TRUE(Drained());
  run->Signal(SIGTERM);
  EXPECT_EQ(run->Wait(10s), 0);
  std::string second_log = ReadFile(dir_ + "/run.log").substr(first_log.size());
  EXPECT_EQ(second_log.find("snapshot"), std::string::npos) << second_log;
  EXPECT_NE(second_log.find("streaming"), std::string::npos) << second_log;

  auto status = testing::RunCommand({FRESHET_BINARY, "status", "--config", config});
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->output.find("public.orders"), std::string::npos) << status->output;
  EXPECT_NE(status->output.find("snapshot complete"), std::string::npos) << status->output;
}

// The crash test: SIGKILL at random moments while the generator writes (between and inside
// flushes and commits), then a last run drains: every table equals its source, and the change
// feed written after the initial snapshot holds exactly as many changes as the generator made
// (a replayed transaction would add update images, or lose none).
// FRESHET_CRASH_KILLS sets the number of kills (5 by default; the slow suite runs 20).
TEST_F(PipelineEndToEnd, SurvivesSigkillAtRandomMoments) {
  int kills = 5;
  if (const char* env = std::getenv("FRESHET_CRASH_KILLS")) kills = std::atoi(env);
  std::string config = WriteConfig();
  const std::vector<std::string> tables = {"customers", "products", "orders", "order_items"};
  lake::LocalFileSystem fs;
  std::map<std::string, lake::Version> after_snapshot;
  {
    auto run = StartRun(config);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (ReadFile(dir_ + "/run.log").find("streaming") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << ReadFile(dir_ + "/run.log");
      std::this_thread::sleep_for(50ms);
    }
    for (const std::string& table : tables) {
      // A table the snapshot found empty is created by its first streamed change.
      auto version = lake::LatestVersion(fs, pipeline::TablePath(dir_ + "/lake", "public", table));
      ASSERT_TRUE(version.ok() || version.status().Is(Code::kNotFound)) << version.status();
      after_snapshot[table] = version.ok() ? *version : -1;
    }
    StartGenerator(800);
    std::this_thread::sleep_for(1s);
    run->Signal(SIGKILL);
    EXPECT_EQ(run->Wait(10s), 128 + SIGKILL);
  }
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(200, 2500);
  for (int kill = 1; kill < kills; ++kill) {
    auto run = StartRun(config);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    run->Signal(SIGKILL);
    EXPECT_EQ(run->Wait(10s), 128 + SIGKILL) << "run " << kill << " ended before the kill:\n"
                                             << ReadFile(dir_ + "/run.log");
  }
  auto run = StartRun(config);
  std::this_thread::sleep_for(1s);
  StopGenerator();
  ASSERT_TRUE(generator_status_.ok()) << generator_status_;
  ASSERT_TRUE(Drained());
  run->Signal(SIGTERM);
  EXPECT_EQ(run->Wait(10s), 0);

  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  uint64_t feed_changes = 0;
  for (const std::string& table : tables) {
    std::string path = pipeline::TablePath(dir_ + "/lake", "public", table);
    auto latest = lake::LatestVersion(fs, path);
    ASSERT_TRUE(latest.ok());
    if (*latest <= after_snapshot[table]) continue;
    auto feed = lake::ChangeFeedSql(fs, *connection, path, after_snapshot[table] + 1, *latest);
    ASSERT_TRUE(feed.ok()) << feed.status();
    auto counted = connection->Query(
        fmt::format("SELECT count(*) FROM ({}) WHERE _change_type <> 'update_preimage'", *feed));
    ASSERT_TRUE(counted.ok()) << counted.status();
    feed_changes += static_cast<uint64_t>(counted->rows.at(0).at(0).integer());
  }
  EXPECT_EQ(feed_changes, generator_stats_.changes())
      << "inserts " << generator_stats_.inserts << ", updates " << generator_stats_.updates
      << ", deletes " << generator_stats_.deletes;
}

// Schema changes while a writer keeps changing rows and `freshet run` is killed (SIGKILL) a
// random time after each change: ADD COLUMN, RENAME COLUMN, DROP COLUMN, int -> bigint, a new
// table, TRUNCATE. After a last run drains, each table equals its source, rows and column
// names, and the renames kept the column's data.
TEST_F(PipelineEndToEnd, SchemaChangesSurviveSigkill) {
  Sql("CREATE TABLE evolving (id int PRIMARY KEY, a int, b text); "
      "INSERT INTO evolving SELECT g, g, 'b' || g FROM generate_series(1, 200) g");
  std::string config = WriteConfig();
  std::atomic<bool> stop_writer{false};
  Status writer_status;
  // Touches only the columns no step renames or drops.
  std::thread writer([&] {
    pg::Connection sql = Connect();
    for (int id = 1000; !stop_writer.load(); ++id) {
      Status status = sql.Execute(fmt::format(
          "INSERT INTO evolving (id, a) VALUES ({0}, {0}); UPDATE evolving SET a = a + 1 WHERE "
          "id = {1}; DELETE FROM evolving WHERE id = {2}",
          id, id - 3, id % 10 == 0 ? id - 9 : -1));
      if (!status.ok()) {
        writer_status = status;
        return;
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  // Renamed columns are not written after their rename, so the final compare checks that the
  // rename kept their data.
  const std::vector<std::string> steps = {
      "ALTER TABLE evolving ADD COLUMN c text; UPDATE evolving SET c = 'c' || id WHERE id % 3 = 0",
      "TRUNCATE evolving; INSERT INTO evolving SELECT g, g, 'b' || g, 'c' FROM "
      "generate_series(1, 100) g",
      "ALTER TABLE evolving RENAME COLUMN b TO bee",
      "ALTER TABLE evolving DROP COLUMN c; ALTER TABLE evolving ADD COLUMN d int; "
      "UPDATE evolving SET d = id WHERE id % 7 = 0",
      "ALTER TABLE evolving ALTER COLUMN a TYPE bigint; "
      "UPDATE evolving SET a = a + 5000000000 WHERE id % 11 = 0",
      "CREATE TABLE joined (id int PRIMARY KEY, v text); INSERT INTO joined VALUES (1, 'one')",
      "ALTER TABLE evolving RENAME COLUMN d TO dee"};
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(100, 1500);
  {
    auto run = StartRun(config);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (ReadFile(dir_ + "/run.log").find("streaming") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << ReadFile(dir_ + "/run.log");
      std::this_thread::sleep_for(50ms);
    }
    run->Signal(SIGKILL);
    run->Wait(10s);
  }
  for (const std::string& step : steps) {
    auto run = StartRun(config);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    Sql(step);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    run->Signal(SIGKILL);
    run->Wait(10s);
  }
  auto run = StartRun(config);
  std::this_thread::sleep_for(1s);
  stop_writer = true;
  writer.join();
  ASSERT_TRUE(writer_status.ok()) << writer_status;

  pg::Connection sql = Connect();
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  auto connection = database->Connect();
  for (const char* table : {"evolving", "joined"}) {
    std::string qualified = fmt::format("public.{}", table);
    std::string path = pipeline::TablePath(dir_ + "/lake", "public", table);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    std::string last;
    bool equal = false;
    while (!equal && std::chrono::steady_clock::now() < deadline) {
      auto columns = pipeline::compare::SourceColumns(sql, qualified);
      auto source = pipeline::compare::PostgresRows(sql, qualified);
      ASSERT_TRUE(columns.ok() && source.ok());
      auto lake_columns = pipeline::compare::LakeColumns(fs, *connection, path);
      auto lake_rows = pipeline::compare::LakeRows(fs, *connection, path, *columns);
      equal =
          lake_columns.ok() && *lake_columns == *columns && lake_rows.ok() && *lake_rows == *source;
      last = fmt::format("{}: source {} rows ({}), lake {}", qualified, source->size(),
                         fmt::join(*columns, ", "),
                         lake_columns.ok() ? fmt::format("({})", fmt::join(*lake_columns, ", "))
                                           : lake_columns.status().ToString());
      if (!equal) std::this_thread::sleep_for(300ms);
    }
    EXPECT_TRUE(equal) << last << "\nlog:\n" << ReadFile(dir_ + "/run.log").substr(0, 30000);
  }
  run->Signal(SIGTERM);
  EXPECT_EQ(run->Wait(10s), 0);
  std::string log = ReadFile(dir_ + "/run.log");
  EXPECT_NE(log.find("renames column b to bee"), std::string::npos) << log;
  EXPECT_NE(log.find("widens column a to long"), std::string::npos) << log;
  EXPECT_EQ(log.find("PAUSED"), std::string::npos) << log;
}

// Bad input ends with one clear line that says how to fix it, and a non-zero exit.
TEST_F(PipelineEndToEnd, BadInputGivesOneLineWithTheFix) {
  Sql("CREATE TABLE nokey (v int)");
  auto result = testing::RunCommand({FRESHET_BINARY, "run", "--config", WriteConfig()});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 1) << result->output;
  EXPECT_NE(result->output.find("public.nokey has no primary key"), std::string::npos)
      << result->output;
  EXPECT_NE(result->output.find("REPLICA IDENTITY FULL"), std::string::npos) << result->output;
  Sql("DROP TABLE nokey");

  // A wrong password.
  std::string config = dir_ + "/bad.yaml";
  std::ofstream(config) << fmt::format(
      "pipelines:\n  - name: shop\n    source:\n      postgres:\n        dsn: \"{}\"\n"
      "    lake:\n      root: {}/lake\n",
      server().DsnFor("postgres", "wrong-password", database()), dir_);
  result = testing::RunCommand({FRESHET_BINARY, "run", "--config", config});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 1) << result->output;
  EXPECT_NE(result->output.find("fix:"), std::string::npos) << result->output;
  EXPECT_EQ(result->output.find("wrong-password"), std::string::npos) << result->output;

  // Nothing listens there.
  std::ofstream(config) << fmt::format(
      "pipelines:\n  - name: shop\n    source:\n      postgres:\n"
      "        dsn: postgres://postgres@127.0.0.1:1/shop\n    lake:\n      root: {}/lake\n",
      dir_);
  result = testing::RunCommand({FRESHET_BINARY, "run", "--config", config});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 1) << result->output;
  EXPECT_NE(result->output.find("fix:"), std::string::npos) << result->output;
}

TEST(PipelineWalLevel, ReplicaIsRefusedWithTheFix) {
  testing::PostgresOptions options;
  options.wal_level = "replica";
  auto server = testing::ThrowawayPostgres::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  std::string dir =
      std::filesystem::temp_directory_path() / fmt::format("freshet-wal-{}", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/f.yaml") << fmt::format(
      "pipelines:\n  - name: shop\n    source:\n      postgres:\n        dsn: \"{}\"\n"
      "    lake:\n      root: {}/lake\n",
      (*server)->Dsn(), dir);
  auto result = testing::RunCommand({FRESHET_BINARY, "run", "--config", dir + "/f.yaml"});
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 1) << result->output;
  EXPECT_NE(result->output.find("wal_level"), std::string::npos) << result->output;
  EXPECT_NE(result->output.find("fix:"), std::string::npos) << result->output;
}

}  // namespace
}  // namespace freshet
