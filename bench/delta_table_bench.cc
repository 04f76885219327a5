// Delta table benchmark (issue: lake tables). Writes ROWS rows x 8 columns in commits of
// COMMIT_ROWS rows through lake::Transaction, then scans them back through the snapshot
// relation (lake::ScanSql) and, as the baseline, through a plain DuckDB read_parquet of the
// same files. Then builds a table of OPEN_COMMITS commits with a checkpoint every 100 and
// times opening its latest snapshot.
//
//   build/bench/delta_table_bench [ROWS] [COMMIT_ROWS] [OPEN_COMMITS] [RESULT.json]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "engine/database.h"
#include "lake/actions.h"
#include "lake/checkpoint.h"
#include "lake/fs/file_system.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/snapshot.h"
#include "lake/table_writer.h"

namespace {

using Clock = std::chrono::steady_clock;
using freshet::Status;
namespace lake = freshet::lake;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Fail(const Status& status) {
  fmt::print(stderr, "delta_table_bench: {}\n", status.ToString());
  return 1;
}

constexpr const char* kSchema =
    R"({"type":"struct","fields":[)"
    R"({"name":"id","type":"long","nullable":false,"metadata":{}},)"
    R"({"name":"qty","type":"integer","nullable":true,"metadata":{}},)"
    R"({"name":"price","type":"double","nullable":true,"metadata":{}},)"
    R"({"name":"name","type":"string","nullable":true,"metadata":{}},)"
    R"({"name":"day","type":"date","nullable":true,"metadata":{}},)"
    R"({"name":"ts","type":"timestamp","nullable":true,"metadata":{}},)"
    R"({"name":"flag","type":"boolean","nullable":true,"metadata":{}},)"
    R"json({"name":"amount","type":"decimal(18,2)","nullable":true,"metadata":{}}]})json";

constexpr const char* kAggregate =
    "SELECT count(*), sum(id), sum(qty), sum(price), max(name), max(day), max(ts), "
    "count_if(flag), sum(amount) FROM ({})";

// A log of `commits` commits, one add each, with a checkpoint every 100, written directly
// (data files are not needed to open a snapshot).
Status BuildLongLog(lake::FileSystem& fs, freshet::engine::Connection& connection,
                    const std::string& table, int64_t commits) {
  auto schema = lake::ParseSchema(kSchema);
  lake::CreateTableOptions options{*schema};
  FRESHET_RETURN_IF_ERROR(lake::CreateTable(fs, table, options).status());
  std::string log = lake::LogPath(table);
  for (int64_t version = 1; version < commits; ++version) {
    lake::AddFile add;
    add.path = fmt::format("part-{:08d}.parquet", version);
    add.size = 1000;
    add.modification_time = version;
    add.stats = R"({"numRecords":100})";
    std::string text =
        fmt::format(R"({{"commitInfo":{{"timestamp":{},"operation":"WRITE"}}}})", version) + "\n" +
        lake::ToJsonLine(add) + "\n";
    FRESHET_RETURN_IF_ERROR(
        fs.PutIfAbsent(lake::JoinPath(log, lake::CommitFileName(version)), text));
    if (version % 100 == 0) {
      FRESHET_ASSIGN_OR_RETURN(auto snapshot, lake::Snapshot::Load(fs, connection, table));
      FRESHET_RETURN_IF_ERROR(lake::WriteCheckpoint(fs, connection, snapshot, version));
    }
  }
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::stoll(argv[1]) : 10'000'000;
  int64_t commit_rows = argc > 2 ? std::stoll(argv[2]) : 1'000'000;
  int64_t open_commits = argc > 3 ? std::stoll(argv[3]) : 10'000;
  std::string out_path = argc > 4 ? argv[4] : "bench/results/delta_table.json";
  auto dir = std::filesystem::temp_directory_path() / "freshet-delta-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string table = (dir / "wide").string();

  auto db = freshet::engine::Database::Open("");
  if (!db.ok()) return Fail(db.status());
  auto connection = db->Connect();
  if (!connection.ok()) return Fail(connection.status());
  Status s = connection->Execute("SET TimeZone = 'UTC'");
  // Materialise the source first so that the write timing covers the Delta write only.
  if (s.ok()) {
    s = connection->Execute(fmt::format(
        "CREATE TABLE src AS SELECT i AS id, (i % 1000)::INTEGER AS qty, i * 0.5 AS price, "
        "'customer-' || (i % 100000) AS name, DATE '2020-01-01' + (i % 1500)::INTEGER AS day, "
        "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 1000) AS ts, "
        "i % 3 = 0 AS flag, (i % 100000 * 1.25)::DECIMAL(18,2) AS amount FROM range({}) t(i)",
        rows));
  }
  if (!s.ok()) return Fail(s);

  lake::LocalFileSystem fs;
  auto schema = lake::ParseSchema(kSchema);
  lake::CreateTableOptions options{*schema};
  if (auto created = lake::CreateTable(fs, table, options); !created.ok()) {
    return Fail(created.status());
  }
  auto write_start = Clock::now();
  for (int64_t from = 0; from < rows; from += commit_rows) {
    auto txn = lake::Transaction::Begin(fs, *connection, table);
    if (!txn.ok()) return Fail(txn.status());
    auto added = txn->Append(fmt::format("SELECT * FROM src WHERE id >= {} AND id < {}", from,
                                         std::min(rows, from + commit_rows)));
    if (!added.ok()) return Fail(added.status());
    if (auto version = txn->Commit(); !version.ok()) return Fail(version.status());
  }
  double write_seconds = Seconds(write_start);

  auto snapshot = lake::Snapshot::Load(fs, *connection, table);
  if (!snapshot.ok()) return Fail(snapshot.status());
  std::string files;
  for (const auto& add : snapshot->files()) {
    files += (files.empty() ? "" : ", ") + freshet::QuoteLiteral(lake::JoinPath(table, add.path));
  }
  std::string plain = fmt::format("SELECT * FROM read_parquet([{}])", files);
  std::vector<double> delta_times;
  std::vector<double> plain_times;
  for (int run = 0; run < 5; ++run) {
    auto start = Clock::now();
    auto sql = lake::ScanSql(fs, *connection, *snapshot);
    if (!sql.ok()) return Fail(sql.status());
    auto delta = connection->Query(fmt::format(kAggregate, *sql));
    if (!delta.ok()) return Fail(delta.status());
    delta_times.push_back(Seconds(start));
    start = Clock::now();
    auto baseline = connection->Query(fmt::format(kAggregate, plain));
    if (!baseline.ok()) return Fail(baseline.status());
    plain_times.push_back(Seconds(start));
    if (delta->rows != baseline->rows) {
      return Fail(Status::Internal("the snapshot scan and read_parquet disagree"));
    }
  }
  double delta_scan = Median(delta_times);
  double plain_scan = Median(plain_times);

  std::string long_table = (dir / "long").string();
  auto build_start = Clock::now();
  if (Status built = BuildLongLog(fs, *connection, long_table, open_commits); !built.ok()) {
    return Fail(built);
  }
  double build_seconds = Seconds(build_start);
  std::vector<double> open_times;
  for (int run = 0; run < 7; ++run) {
    auto start = Clock::now();
    auto opened = lake::Snapshot::Load(fs, *connection, long_table);
    if (!opened.ok()) return Fail(opened.status());
    open_times.push_back(Seconds(start));
    if (opened->version() != open_commits - 1) {
      return Fail(Status::Internal("opened version {}", opened->version()));
    }
  }
  double open_ms = Median(open_times) * 1000;

  nlohmann::json result{{"benchmark", "delta_table"},
                        {"rows", rows},
                        {"columns", 8},
                        {"commit_rows", commit_rows},
                        {"write_seconds", write_seconds},
                        {"write_rows_per_second", static_cast<double>(rows) / write_seconds},
                        {"scan_seconds", delta_scan},
                        {"scan_rows_per_second", static_cast<double>(rows) / delta_scan},
                        {"read_parquet_scan_seconds", plain_scan},
                        {"scan_ratio_vs_read_parquet", delta_scan / plain_scan},
                        {"scan_ratio_goal", 1.10},
                        {"open_commits", open_commits},
                        {"open_log_build_seconds", build_seconds},
                        {"open_latest_snapshot_ms", open_ms},
                        {"open_latest_snapshot_goal_ms", 100}};
  std::filesystem::create_directories(std::filesystem::path(out_path).parent_path());
  if (std::FILE* out = std::fopen(out_path.c_str(), "w")) {
    std::fputs((result.dump(2) + "\n").c_str(), out);
    std::fclose(out);
  }
  fmt::print("{}\n", result.dump(2));
  std::filesystem::remove_all(dir);
  return 0;
}
