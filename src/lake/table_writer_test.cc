#include "lake/table_writer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "lake/checkpoint.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

Schema MixedSchema() {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"d","type":"decimal(20,3)","nullable":true,"metadata":{}},
    {"name":"ts","type":"timestamp","nullable":true,"metadata":{}},
    {"name":"ntz","type":"timestamp_ntz","nullable":true,"metadata":{}},
    {"name":"day","type":"date","nullable":true,"metadata":{}},
    {"name":"f","type":"float","nullable":true,"metadata":{}},
    {"name":"flag","type":"boolean","nullable":true,"metadata":{}},
    {"name":"tags","type":{"type":"array","elementType":"integer","containsNull":true},
     "nullable":true,"metadata":{}},
    {"name":"pt","type":{"type":"struct","fields":[{"name":"x","type":"short","nullable":true,
     "metadata":{}}]},"nullable":true,"metadata":{}}]})json");
  return *schema;
}

// Rows [from, to) of a table in MixedSchema, with NULLs, unicode and negative decimals.
std::string MixedRows(int from, int to) {
  return fmt::format(
      "SELECT i AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE 'zürich-' || i || '-😀' END AS s, "
      "CASE WHEN i % 5 = 0 THEN NULL ELSE ((i - 500) * 1.125)::DECIMAL(20,3) END AS d, "
      "TIMESTAMPTZ '2024-02-29 12:00:00+00' + to_microseconds(i * 1000003) AS ts, "
      "TIMESTAMP '1999-12-31 23:59:59.5' + to_microseconds(i) AS ntz, "
      "CASE WHEN i % 3 = 0 THEN NULL ELSE DATE '1970-01-01' + (i::INT - 300) END AS day, "
      "(i / 3.0)::FLOAT AS f, i % 2 = 0 AS flag, "
      "CASE WHEN i % 4 = 0 THEN NULL ELSE [i::INT, NULL, -i::INT] END AS tags, "
      "CASE WHEN i % 6 = 0 THEN NULL ELSE {{'x': (i % 100)::SMALLINT}} END AS pt "
      "FROM range({}, {}) t(i)",
      from, to);
}

class TableWriterTest : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(connection_->Execute("SET TimeZone = 'UTC'").ok());
  }

  Result<Snapshot> Load(FileSystem& fs) { return Snapshot::Load(fs, *connection_, table_); }

  // Rows in (a EXCEPT ALL b) plus (b EXCEPT ALL a): 0 when the two multisets are equal.
  int64_t Difference(const std::string& a, const std::string& b) {
    auto result = connection_->Query(
        fmt::format("SELECT (SELECT count(*) FROM (({}) EXCEPT ALL ({}))) + (SELECT count(*) FROM "
                    "(({}) EXCEPT ALL ({})))",
                    a, b, b, a));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->rows[0][0].integer() : -1;
  }

  std::string ScanOf(const Snapshot& snapshot) {
    auto sql = ScanSql(fs_, *connection_, snapshot);
    EXPECT_TRUE(sql.ok()) << sql.status();
    return sql.ok() ? *sql : "SELECT 1";
  }
};

TEST_F(TableWriterTest, CreateWritesAProtocolWithDeletionVectors) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  auto snapshot = Load(fs_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->version(), 0);
  EXPECT_EQ(snapshot->protocol().min_reader_version, 3);
  EXPECT_EQ(snapshot->protocol().min_writer_version, 7);
  EXPECT_EQ(*snapshot->protocol().reader_features,
            (std::vector<std::string>{"deletionVectors", "timestampNtz"}));
  EXPECT_EQ(snapshot->schema(), MixedSchema());
  EXPECT_EQ(snapshot->Configuration("delta.enableDeletionVectors"), "true");
  EXPECT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).status().Is(Code::kAlreadyExists));
}

TEST_F(TableWriterTest, AppendedRowsReadBackEqualWithStats) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  for (int batch = 0; batch < 3; ++batch) {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    auto added = txn->Append(MixedRows(batch * 400, batch * 400 + 400));
    ASSERT_TRUE(added.ok()) << added.status();
    auto version = txn->Commit();
    ASSERT_TRUE(version.ok()) << version.status();
    EXPECT_EQ(*version, batch + 1);
  }
  auto snapshot = Load(fs_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->files().size(), 3u);
  EXPECT_EQ(Difference(ScanOf(*snapshot), MixedRows(0, 1200)), 0);

  auto stats = nlohmann::json::parse(*snapshot->files()[0].stats);
  EXPECT_EQ(stats["numRecords"], 400);
  const auto& add = snapshot->files()[0];
  int64_t low = stats["minValues"]["id"].get<int64_t>();
  EXPECT_EQ(stats["maxValues"]["id"].get<int64_t>() - low, 399);
  int64_t null_strings = 0;
  for (const AddFile& file : snapshot->files()) {
    null_strings += nlohmann::json::parse(*file.stats)["nullCount"]["s"].get<int64_t>();
  }
  EXPECT_EQ(null_strings, 172);  // multiples of 7 below 1200
  EXPECT_TRUE(stats["nullCount"]["pt"].contains("x"));
  EXPECT_TRUE(stats["minValues"]["ts"].get<std::string>().ends_with("Z"));
  EXPECT_GT(add.size, 0);
}

TEST_F(TableWriterTest, EmptyAppendsAndZeroRowCommitsAreFine) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  auto txn = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(txn->Append(MixedRows(0, 0)).ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto empty = Transaction::Begin(fs_, *connection_, table_);
  empty->SetAppTransaction("pipeline-1", 77);
  auto version = empty->Commit("STREAMING UPDATE");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2);
  auto snapshot = Load(fs_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->AppVersion("pipeline-1"), 77);
  EXPECT_EQ(snapshot->commit_info()->operation, "STREAMING UPDATE");
  EXPECT_EQ(Difference(ScanOf(*snapshot), MixedRows(0, 0)), 0);
}

TEST_F(TableWriterTest, DeletionVectorsHideRowsForBothReadPaths) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  auto txn = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(txn->Append(MixedRows(0, 1000)).ok());
  ASSERT_TRUE(txn->Append(MixedRows(1000, 1500)).ok());
  ASSERT_TRUE(txn->Commit().ok());

  // Delete in two rounds (the second replaces the first DV): rows whose position in the file
  // is not a multiple of 3, i.e. two thirds of every file.
  std::map<std::string, std::set<uint64_t>> deleted;
  for (int round = 0; round < 2; ++round) {
    auto snapshot = Load(fs_);
    ASSERT_TRUE(snapshot.ok());
    auto del = Transaction::Begin(fs_, *connection_, table_);
    for (const AddFile& add : snapshot->files()) {
      std::vector<uint64_t> rows;
      for (uint64_t row = 0; row < static_cast<uint64_t>(*add.NumRecords()); ++row) {
        if (row % 3 != 0 && row % 2 == static_cast<uint64_t>(round)) rows.push_back(row);
      }
      ASSERT_TRUE(del->DeleteRows(add.path, rows).ok());
      deleted[add.path].insert(rows.begin(), rows.end());
    }
    ASSERT_TRUE(del->Commit("DELETE").ok());
  }
  auto snapshot = Load(fs_);
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->files().size(), 2u);
  std::string expected = "SELECT * FROM (" + MixedRows(0, 1000) + ") WHERE id % 3 = 0 UNION ALL " +
                         "SELECT * FROM (" + MixedRows(1000, 1500) + ") WHERE (id - 1000) % 3 = 0";
  EXPECT_EQ(Difference(ScanOf(*snapshot), expected), 0);

  // A separate path: plain read_parquet of the live files, with the rows this test deleted
  // (its own bookkeeping, not the DV files) filtered out.
  std::string selects;
  for (const AddFile& add : snapshot->files()) {
    EXPECT_EQ(add.deletion_vector->cardinality, static_cast<int64_t>(deleted[add.path].size()));
    std::string rows;
    for (uint64_t row : deleted[add.path]) rows += (rows.empty() ? "" : ",") + std::to_string(row);
    selects += fmt::format(
        "{}SELECT * EXCLUDE (file_row_number) FROM read_parquet({}, file_row_number = true) "
        "WHERE NOT list_contains([{}], file_row_number)",
        selects.empty() ? "" : " UNION ALL ", QuoteLiteral(JoinPath(table_, add.path)), rows);
  }
  EXPECT_EQ(Difference(selects, expected), 0);
}

TEST_F(TableWriterTest, RefusesWhatItCannotWriteCorrectly) {
  CreateTableOptions options{MixedSchema(), {}, {{"delta.appendOnly", "true"}}};
  ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  auto txn = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(txn->Append(MixedRows(0, 10)).ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto del = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(del->Remove(Load(fs_)->files()[0].path).ok());
  auto refused = del->Commit("DELETE");
  EXPECT_TRUE(refused.status().Is(Code::kInvalidArgument));
  EXPECT_NE(refused.status().message().find("append-only"), std::string::npos);
  // A Spark table with V2 checkpoints: this writer writes classic checkpoints only.
  auto v2 = Transaction::Begin(
      fs_, *connection_, std::string(FRESHET_DELTA_CONFORMANCE_DIR) + "/v2-checkpoint-json/table");
  EXPECT_TRUE(v2.status().Is(Code::kNotSupported));
  EXPECT_NE(v2.status().message().find("'v2Checkpoint'"), std::string::npos) << v2.status();
}

TEST_F(TableWriterTest, DeletingEveryRowRemovesTheFile) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  auto txn = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(txn->Append(MixedRows(0, 10)).ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto snapshot = Load(fs_);
  auto del = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(del->DeleteRows(snapshot->files()[0].path, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}).ok());
  EXPECT_TRUE(del->DeleteRows("nope.parquet", {1}).Is(Code::kNotFound));
  ASSERT_TRUE(del->Commit("DELETE").ok());
  auto after = Load(fs_);
  EXPECT_TRUE(after->files().empty());
  EXPECT_EQ(after->tombstones().size(), 1u);
  // From a checkpoint, the tombstones are read only when asked for (writers skip them).
  ASSERT_TRUE(WriteCheckpoint(fs_, *connection_, *after, 0).ok());
  auto with = Snapshot::Load(fs_, *connection_, table_);
  auto without = Snapshot::Load(fs_, *connection_, table_, std::nullopt, /*tombstones=*/false);
  ASSERT_TRUE(with.ok() && without.ok()) << without.status();
  ASSERT_TRUE(with->checkpoint_version().has_value());
  EXPECT_EQ(with->tombstones().size(), 1u);
  EXPECT_TRUE(without->tombstones().empty());
  EXPECT_EQ(without->files().size(), with->files().size());
  EXPECT_EQ(without->version(), with->version());
}

TEST_F(TableWriterTest, PartitionedAppendsWriteHiveFoldersAndReadBack) {
  CreateTableOptions options{MixedSchema(), {"s", "day"}};
  ASSERT_TRUE(CreateTable(fs_, table_, options).ok());
  auto txn = Transaction::Begin(fs_, *connection_, table_);
  std::string rows =
      "SELECT * REPLACE (CASE WHEN id % 3 = 0 THEN NULL ELSE 'a/b:' || (id % 2) "
      "END AS s, CASE WHEN id % 4 = 0 THEN NULL ELSE DATE '2020-01-01' END AS day) "
      "FROM (" +
      MixedRows(0, 60) + ")";
  auto added = txn->Append(rows);
  ASSERT_TRUE(added.ok()) << added.status();
  // s in {NULL, a/b:0, a/b:1} x day in {NULL, 2020-01-01}, except odd ids (a/b:1) with a NULL
  // day (multiples of 4).
  EXPECT_EQ(added->size(), 5u);
  ASSERT_TRUE(txn->Commit().ok());
  auto snapshot = Load(fs_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(Difference(ScanOf(*snapshot), rows), 0);
  for (const AddFile& add : snapshot->files()) {
    auto path = ResolveDataPath(table_, add.path);
    EXPECT_TRUE(fs_.Head(*path).ok()) << add.path;
  }
}

TEST_F(TableWriterTest, RacingThreadsNeverLoseOrShareAVersion) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  constexpr int kPerThread = 6;
  std::atomic<int> failures{0};
  auto writer = [&](int thread) {
    auto connection = database_->Connect();
    if (!connection.ok()) {
      ++failures;
      return;
    }
    for (int i = 0; i < kPerThread; ++i) {
      auto txn = Transaction::Begin(fs_, *connection, table_);
      int from = (thread * kPerThread + i) * 10;
      if (!txn.ok() || !txn->Append(MixedRows(from, from + 10)).ok() || !txn->Commit().ok()) {
        ++failures;
      }
    }
  };
  std::thread a(writer, 0);
  std::thread b(writer, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  auto snapshot = Load(fs_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->version(), 2 * kPerThread);
  EXPECT_EQ(snapshot->files().size(), 2u * kPerThread);
  EXPECT_EQ(Difference(ScanOf(*snapshot), MixedRows(0, 2 * kPerThread * 10)), 0);
}

// Two processes append to one table at once: each commit lands exactly once. The children are
// forked before this test opens DuckDB, so each starts single-threaded with its own database.
TEST(TableWriterProcesses, RacingProcessesNeverLoseOrShareAVersion) {
  testing::ScratchDir dir;
  std::string table = dir / "table";
  LocalFileSystem fs;
  ASSERT_TRUE(CreateTable(fs, table, {MixedSchema()}).ok());
  constexpr int kPerProcess = 5;
  std::vector<pid_t> children;
  for (int process = 0; process < 2; ++process) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failures = 0;
      auto db = engine::Database::Open("");
      auto connection = db.ok() ? db->Connect() : Result<engine::Connection>(db.status());
      if (!connection.ok()) ::_exit(3);
      for (int i = 0; i < kPerProcess; ++i) {
        int from = (process * kPerProcess + i) * 10;
        auto txn = Transaction::Begin(fs, *connection, table);
        if (!txn.ok() || !txn->Append(MixedRows(from, from + 10)).ok() || !txn->Commit().ok()) {
          ++failures;
        }
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  auto db = engine::Database::Open("");
  auto connection = db->Connect();
  ASSERT_TRUE(connection->Execute("SET TimeZone = 'UTC'").ok());
  auto snapshot = Snapshot::Load(fs, *connection, table);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->version(), 2 * kPerProcess);
  auto sql = ScanSql(fs, *connection, *snapshot);
  ASSERT_TRUE(sql.ok());
  auto diff =
      connection->Query(fmt::format("SELECT (SELECT count(*) FROM (({0}) EXCEPT ALL ({1}))) + "
                                    "(SELECT count(*) FROM (({1}) EXCEPT ALL ({0})))",
                                    *sql, MixedRows(0, 2 * kPerProcess * 10)));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->rows[0][0].integer(), 0);
}

TEST_F(TableWriterTest, ConflictingTransactionsFailClearly) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  auto setup = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(setup->Append(MixedRows(0, 10)).ok());
  ASSERT_TRUE(setup->Commit().ok());
  std::string path = Load(fs_)->files()[0].path;

  auto first = Transaction::Begin(fs_, *connection_, table_);
  auto second = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(first->DeleteRows(path, {1}).ok());
  ASSERT_TRUE(second->Remove(path).ok());
  ASSERT_TRUE(first->Commit("DELETE").ok());
  auto lost = second->Commit("DELETE");
  EXPECT_TRUE(lost.status().Is(Code::kConflict)) << lost.status();
  EXPECT_NE(lost.status().message().find(path), std::string::npos);

  auto app_a = Transaction::Begin(fs_, *connection_, table_);
  auto app_b = Transaction::Begin(fs_, *connection_, table_);
  app_a->SetAppTransaction("pipe", 1);
  app_b->SetAppTransaction("pipe", 1);
  ASSERT_TRUE(app_a->Commit().ok());
  EXPECT_TRUE(app_b->Commit().status().Is(Code::kConflict));

  // A blind append does not conflict with a concurrent delete: it lands one version later.
  auto append = Transaction::Begin(fs_, *connection_, table_);
  auto remove = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(append->Append(MixedRows(10, 20)).ok());
  ASSERT_TRUE(remove->Remove(Load(fs_)->files()[0].path).ok());
  auto removed_at = remove->Commit("DELETE");
  ASSERT_TRUE(removed_at.ok());
  auto appended_at = append->Commit();
  ASSERT_TRUE(appended_at.ok()) << appended_at.status();
  EXPECT_EQ(*appended_at, *removed_at + 1);
}

TEST_F(TableWriterTest, AFailedStepLeavesTheTableAtItsLastGoodVersion) {
  ASSERT_TRUE(CreateTable(fs_, table_, {MixedSchema()}).ok());
  auto setup = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(setup->Append(MixedRows(0, 10)).ok());
  ASSERT_TRUE(setup->Commit().ok());
  std::string path = Load(fs_)->files()[0].path;

  FaultyFileSystem faulty(fs_);
  using Op = FaultyFileSystem::Op;
  // Data file, DV file, then commit file.
  for (const char* step : {"part-", "deletion_vector_", "_delta_log/"}) {
    faulty.FailNext(Op::kPutIfAbsent, Status::IOError("injected failure"), step);
    auto txn = Transaction::Begin(faulty, *connection_, table_);
    ASSERT_TRUE(txn.ok());
    Status s = Status::Ok();
    auto added = txn->Append(MixedRows(100, 110));
    if (!added.ok()) s = added.status();
    if (s.ok()) s = txn->DeleteRows(path, {2, 3});
    if (s.ok()) s = txn->Commit().status();
    EXPECT_TRUE(s.Is(Code::kIOError)) << step << ": " << s;
    EXPECT_EQ(faulty.PendingFaults(), 0u) << step;
    auto snapshot = Load(fs_);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ(snapshot->version(), 1) << step;
    EXPECT_EQ(Difference(ScanOf(*snapshot), MixedRows(0, 10)), 0) << step;
  }
}

// What Load builds of a snapshot and Advance must equal: version, time, protocol, metadata,
// files (logical identity, size, stats), txns and commitInfo.
std::string SnapshotState(const Snapshot& snapshot) {
  std::string out = fmt::format("v{} t{} {} {} {}|", snapshot.version(), snapshot.timestamp_ms(),
                                ToJsonLine(snapshot.protocol()), ToJsonLine(snapshot.metadata()),
                                snapshot.column_mapping_mode());
  for (AddFile add : snapshot.files()) {
    add.data_change = false;  // a snapshot read from a checkpoint has false
    out += ToJsonLine(add) + "\n";
  }
  for (const auto& [app_id, txn] : snapshot.app_transactions()) out += ToJsonLine(txn) + "\n";
  if (snapshot.commit_info()) out += snapshot.commit_info()->operation.value_or("-");
  return out;
}

TEST_F(TableWriterTest, CommittedSnapshotEqualsALoadOfTheVersionWritten) {
  ASSERT_TRUE(
      CreateTable(fs_, table_, {MixedSchema(), {}, {{"delta.checkpointInterval", "4"}}}).ok());
  std::optional<Snapshot> kept;
  for (int step = 0; step < 9; ++step) {
    auto txn = kept ? Transaction::Begin(fs_, *connection_, std::move(*kept))
                    : Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Append(MixedRows(step * 100, step * 100 + 50)).ok());
    const auto& files = txn->read_snapshot().files();
    if (!files.empty()) {  // a new deletion vector, a merged one, and a whole-file remove
      ASSERT_TRUE(txn->DeleteRows(files[0].path, {static_cast<uint64_t>(step)}).ok());
      if (step % 3 == 2) {
        ASSERT_TRUE(txn->Remove(files.back().path).ok());
      }
    }
    txn->SetAppTransaction("app", step);
    auto version = txn->Commit();
    ASSERT_TRUE(version.ok()) << version.status();
    auto committed = txn->CommittedSnapshot();
    ASSERT_TRUE(committed.ok()) << committed.status();
    ASSERT_TRUE(committed->has_value());
    auto loaded = Snapshot::Load(fs_, *connection_, table_, std::nullopt, /*tombstones=*/false);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(SnapshotState(**committed), SnapshotState(*loaded)) << "step " << step;
    EXPECT_EQ(Difference(ScanOf(**committed), ScanOf(*loaded)), 0);
    kept = std::move(*committed);
  }
  // Another writer commits: the kept snapshot is stale. A transaction begun on it still lands
  // above that commit, and has no committed snapshot of its own to offer.
  auto other = Transaction::Begin(fs_, *connection_, table_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->Append(MixedRows(5000, 5010)).ok());
  ASSERT_TRUE(other->Commit().ok());
  auto stale = Transaction::Begin(fs_, *connection_, std::move(*kept));
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(stale->Append(MixedRows(6000, 6010)).ok());
  auto version = stale->Commit();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, stale->read_snapshot().version() + 2);
  auto committed = stale->CommittedSnapshot();
  ASSERT_TRUE(committed.ok());
  EXPECT_FALSE(committed->has_value());
  auto loaded = Load(fs_);
  ASSERT_TRUE(loaded.ok());
  auto both = connection_->Query("SELECT count(*) FROM (" + ScanOf(*loaded) + ") WHERE id >= 5000");
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->rows[0][0].integer(), 20);  // neither writer's rows were lost
}

}  // namespace
}  // namespace freshet::lake
