// The sink under SIGKILL: a worker process applies a lake table that keeps changing and is
// killed ten times at random moments (mid-COPY, between COPY and COMMIT, idle). Afterwards the
// destination equals the lake, and the offsets table's history (logged by a trigger, inside
// the applying transactions) is one unbroken chain: no version skipped, none applied twice.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "lake/change_feed.h"
#include "lake/snapshot.h"
#include "sink/destination.h"
#include "sink/postgres_sink.h"
#include "sink/sink_test_fixture.h"

extern char** environ;

namespace freshet::sink {
namespace {

using lake::ChangeOp;
using lake::RowChange;
using sink::testing::DeleteItem;
using sink::testing::Item;
using sink::testing::ItemsSchemaJson;

pid_t SpawnWorker(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

class SinkCrashTest : public sink::testing::SinkTest {
 protected:
  void SetUp() override {
    SinkTest::SetUp();
    if (HasFatalFailure()) return;
    CreateLakeTable(TablePath("public", "items"), ItemsSchemaJson());
    pg::Connection connection = Connect();
    ASSERT_TRUE(EnsureOffsetsTable(connection).ok());
    Sql("CREATE TABLE offset_log (seq bigserial, old_version bigint, new_version bigint); "
        "CREATE FUNCTION log_offset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO offset_log (old_version, new_version) VALUES (CASE WHEN TG_OP = 'UPDATE' "
        "THEN OLD.version END, NEW.version); RETURN NEW; END $$; "
        "CREATE TRIGGER log_offset AFTER INSERT OR UPDATE ON freshet_sink_offsets FOR EACH ROW "
        "EXECUTE FUNCTION log_offset()");
  }

  // One random batch of changes over ids 1..400, applied to the lake and to `expected_`.
  int64_t ApplyRandomBatch(std::mt19937& random) {
    std::vector<RowChange> changes;
    std::uniform_int_distribution<int64_t> id_of(1, 400);
    for (int i = 0; i < 300; ++i) {
      int64_t id = id_of(random);
      int64_t cents = static_cast<int64_t>(random() % 100000);
      if (random() % 5 == 0) {
        changes.push_back(DeleteItem(id));
        expected_.erase(id);
      } else {
        std::string name = "n" + std::to_string(random() % 1000);
        changes.push_back(Item(ChangeOp::kUpdate, id, name, cents));
        expected_[id] = fmt::format("{}|{}|{}.{:02d}|∅", id, name, cents / 100, cents % 100);
      }
    }
    return Apply(std::move(changes));
  }

  // Starts a worker in `mode` ten times while a writer changes the lake, SIGKILLs each at a
  // random moment, then lets a last worker catch up. Returns the lake's latest version, which
  // the destination's offset must then hold.
  int64_t KillTenTimesThenCatchUp(const std::string& mode) {
    std::mt19937 random(20261121);
    int64_t latest = ApplyRandomBatch(random);
    std::vector<std::string> args = {SINK_WORKER_BINARY, root_, dsn(), mode, "4", dir_.path()};
    std::string log = dir_.path() + "/worker.log";

    std::atomic<bool> writing{true};
    std::atomic<int64_t> written{latest};
    std::mt19937 writer_random(7);
    std::thread writer([&] {
      for (int i = 0; i < 120 && writing; ++i) {
        written = ApplyRandomBatch(writer_random);
        std::this_thread::sleep_for(std::chrono::milliseconds(15));
      }
    });
    // The kills are to land while changes are applied, after the first copy: a slow machine
    // (the sanitizer build) could otherwise kill every worker inside its first copy, and the
    // last one would copy everything, leaving no applied change to check.
    pid_t first = SpawnWorker(args, log);
    EXPECT_GT(first, 0);
    auto copied_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < copied_by &&
           Rows("SELECT count(*) FROM offset_log") == std::vector<std::string>{"0"}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(first, SIGKILL);
    ::waitpid(first, nullptr, 0);
    int kills = 0;
    for (int round = 0; round < 10; ++round) {
      pid_t pid = SpawnWorker(args, log);
      EXPECT_GT(pid, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 500));
      EXPECT_EQ(::kill(pid, SIGKILL), 0);
      int status = 0;
      EXPECT_EQ(::waitpid(pid, &status, 0), pid);
      if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++kills;
    }
    writing = false;
    writer.join();
    EXPECT_EQ(kills, 10);
    // The writer's own compaction may have committed after its last batch.
    auto lake_latest = lake::LatestVersion(fs_, TablePath("public", "items"));
    EXPECT_TRUE(lake_latest.ok()) << lake_latest.status();
    latest = lake_latest.value_or(-1);
    EXPECT_GE(latest, written.load());

    pid_t pid = SpawnWorker(args, log);
    EXPECT_GT(pid, 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline &&
           Rows("SELECT version FROM freshet_sink_offsets") !=
               std::vector<std::string>{std::to_string(latest)}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return latest;
  }

  std::map<int64_t, std::string> expected_;
};

TEST_F(SinkCrashTest, KilledTenTimesWhileApplyingStillEqualAndOffsetsUnbroken) {
  int64_t latest = KillTenTimesThenCatchUp("upsert");
  ASSERT_EQ(Rows("SELECT version FROM freshet_sink_offsets"),
            std::vector<std::string>{std::to_string(latest)});

  std::vector<std::string> expected;
  for (const auto& [id, row] : expected_) expected.push_back(row);
  EXPECT_EQ(Rows("SELECT * FROM serving.items ORDER BY id"), expected);

  // Every committed offset move starts where the previous one ended.
  std::vector<std::string> moves =
      Rows("SELECT coalesce(old_version::text, 'none'), new_version FROM offset_log ORDER BY seq");
  ASSERT_FALSE(moves.empty());
  std::string previous = "none";
  for (const auto& move : moves) {
    std::string old_version = move.substr(0, move.find('|'));
    std::string new_version = move.substr(move.find('|') + 1);
    EXPECT_EQ(old_version, previous) << "offset history: " << ::testing::PrintToString(moves);
    if (previous != "none") {
      EXPECT_GT(std::stoll(new_version), std::stoll(previous));
    }
    previous = new_version;
  }
  EXPECT_EQ(previous, std::to_string(latest));
  std::cout << moves.size() << " offset moves over " << latest << " versions\n";
}

// Append mode shows exactly-once on the rows themselves: after ten kills the destination holds,
// per lake version and change type, exactly as many rows as the lake's change feed.
TEST_F(SinkCrashTest, AppendModeKilledTenTimesHoldsEachChangeExactlyOnce) {
  int64_t latest = KillTenTimesThenCatchUp("append");
  ASSERT_EQ(Rows("SELECT version FROM freshet_sink_offsets"),
            std::vector<std::string>{std::to_string(latest)});
  std::vector<std::string> first = Rows("SELECT min(new_version) FROM offset_log");
  ASSERT_EQ(first.size(), 1u);
  int64_t copied = std::stoll(first[0]);
  auto feed = lake::ChangeFeedSql(fs_, *duck_, TablePath("public", "items"), copied + 1, latest);
  ASSERT_TRUE(feed.ok()) << feed.status();
  auto counts = duck_->Query(
      "SELECT s FROM (SELECT _commit_version || '|' || _change_type || '|' || count(*) AS s FROM "
      "(" +
      *feed + ") GROUP BY _commit_version, _change_type) ORDER BY s");
  ASSERT_TRUE(counts.ok()) << counts.status();
  std::vector<std::string> lake_counts;
  for (const auto& row : counts->rows) lake_counts.push_back(row[0].string());
  ASSERT_FALSE(lake_counts.empty());
  std::vector<std::string> destination_counts =
      Rows(fmt::format("SELECT s FROM (SELECT _commit_version || '|' || _change_type || '|' || "
                       "count(*) AS s FROM serving.items WHERE _commit_version > {} GROUP BY "
                       "_commit_version, _change_type) x ORDER BY s COLLATE \"C\"",
                       copied));
  EXPECT_EQ(destination_counts, lake_counts);
}

}  // namespace
}  // namespace freshet::sink
