// Upsert benchmark (issue: upserts into lake tables). Loads ROWS rows (id, s, n) into a Delta
// table, opens an UpsertWriter (timing the KeyIndex build and measuring its bytes per row),
// then applies CHANGES changes in batches of BATCH (70% update, 20% insert, 10% delete of
// random keys). As the baseline, the same change rows go to an append-only table (plain
// appends, no lookups or deletion vectors). Reports changes/s of both and their ratio, file
// count and scan time before and after an optimize, KeyIndex bytes per row and peak RSS.
//
// With "feed" both tables have the change data feed on (delta.enableChangeDataFeed), so every
// commit also writes its change-data file. "cache=MB" sets the upsert writer's row cache
// (UpsertOptions::row_cache_bytes; 0 turns it off). Also reported: rows the writer read back
// from data files (row-cache misses), automatic compactions and the upsert time per phase
// (ApplyStats: begin, plan, write, commit, index, compact).
//
//   build/bench/upsert_bench [ROWS] [CHANGES] [BATCH] [RESULT.json] [feed] [cache=MB]

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/optimize.h"
#include "lake/scan.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"

namespace {

using Clock = std::chrono::steady_clock;
using freshet::Status;
using freshet::engine::Value;
namespace lake = freshet::lake;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Fail(const Status& status) {
  fmt::print(stderr, "upsert_bench: {}\n", status.ToString());
  return 1;
}

constexpr const char* kSchema = R"({"type":"struct","fields":[)"
                                R"({"name":"id","type":"long","nullable":false,"metadata":{}},)"
                                R"({"name":"s","type":"string","nullable":true,"metadata":{}},)"
                                R"({"name":"n","type":"long","nullable":true,"metadata":{}}]})";
constexpr const char* kHistorySchema =
    R"({"type":"struct","fields":[)"
    R"({"name":"id","type":"long","nullable":false,"metadata":{}},)"
    R"({"name":"s","type":"string","nullable":true,"metadata":{}},)"
    R"({"name":"n","type":"long","nullable":true,"metadata":{}},)"
    R"({"name":"_freshet_op","type":"string","nullable":false,"metadata":{}},)"
    R"({"name":"_freshet_lsn","type":"long","nullable":false,"metadata":{}}]})";

lake::RowChange MakeChange(lake::ChangeOp op, int64_t id, int64_t n, uint64_t lsn) {
  lake::RowChange change;
  change.op = op;
  change.lsn = lsn;
  if (op == lake::ChangeOp::kDelete) {
    change.old_row = {Value::Int(id), Value::Null(), Value::Null()};
  } else {
    change.row = {Value::Int(id), Value::String(fmt::format("value-{}-{}", id, n)), Value::Int(n)};
  }
  return change;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  int64_t changes = argc > 2 ? std::stoll(argv[2]) : 200'000;
  int64_t batch_size = argc > 3 ? std::stoll(argv[3]) : 10'000;
  std::string output = argc > 4 ? argv[4] : "upsert.json";
  bool feed = false;
  std::optional<size_t> cache_mb;
  for (int arg = 5; arg < argc; ++arg) {
    std::string text = argv[arg];
    if (text == "feed") feed = true;
    if (text.rfind("cache=", 0) == 0) cache_mb = std::stoull(text.substr(6));
  }

  std::string root =
      (std::filesystem::temp_directory_path() / fmt::format("freshet-upsert-bench-{}", ::getpid()))
          .string();
  std::filesystem::remove_all(root);
  std::string table = root + "/table";
  std::string history = root + "/history";
  // As the pipeline writes: data, change-data and deletion-vector files become durable with
  // the commit that references them (one batch of fsyncs per commit).
  lake::LocalFileSystem fs{lake::LocalFileSystemOptions{.defer_data_sync = true}};
  auto database = freshet::engine::Database::Open("");
  if (!database.ok()) return Fail(database.status());
  auto connection = database->Connect();
  if (!connection.ok()) return Fail(connection.status());

  auto schema = lake::ParseSchema(kSchema);
  auto history_schema = lake::ParseSchema(kHistorySchema);
  if (!schema.ok() || !history_schema.ok()) return Fail(Status::Internal("bad schema"));
  std::map<std::string, std::string> configuration;
  if (feed) configuration["delta.enableChangeDataFeed"] = "true";
  if (auto created = lake::CreateTable(fs, table, {*schema, {}, configuration}); !created.ok()) {
    return Fail(created.status());
  }
  if (auto created = lake::CreateTable(fs, history, {*history_schema, {}, configuration});
      !created.ok()) {
    return Fail(created.status());
  }
  {
    auto txn = lake::Transaction::Begin(fs, *connection, table);
    if (!txn.ok()) return Fail(txn.status());
    auto added = txn->Append(fmt::format(
        "SELECT i AS id, 'value-' || i || '-0' AS s, 0::BIGINT AS n FROM range({}) t(i)", rows));
    if (!added.ok()) return Fail(added.status());
    if (auto version = txn->Commit(); !version.ok()) return Fail(version.status());
  }

  auto start = Clock::now();
  lake::UpsertOptions upsert_options{{"id"}, false, {}};
  if (cache_mb) upsert_options.row_cache_bytes = *cache_mb << 20;
  auto writer = lake::UpsertWriter::Open(fs, *connection, table, upsert_options);
  if (!writer.ok()) return Fail(writer.status());
  double index_build_s = Seconds(start);
  double index_bytes_per_row =
      static_cast<double>(writer->index().MemoryBytes()) / static_cast<double>(rows);
  auto appender = lake::UpsertWriter::Open(fs, *connection, history, {{}, true, {}});
  if (!appender.ok()) return Fail(appender.status());

  std::mt19937_64 random(42);
  std::vector<int64_t> live(static_cast<size_t>(rows));
  for (int64_t id = 0; id < rows; ++id) live[static_cast<size_t>(id)] = id;
  int64_t next_id = rows;
  uint64_t lsn = 0;
  double upsert_s = 0;
  double append_s = 0;
  int64_t rows_read = 0;
  int64_t compactions = 0;
  std::map<std::string, double> phases;  // upsert seconds per ApplyStats phase
  for (int64_t done = 0; done < changes; done += batch_size) {
    lake::ChangeBatch batch;
    for (int64_t i = 0; i < batch_size && done + i < changes; ++i) {
      uint64_t dice = random() % 10;
      auto n = static_cast<int64_t>(random() % 1'000'000);
      if (dice < 2 || live.empty()) {
        batch.changes.push_back(MakeChange(lake::ChangeOp::kInsert, next_id, n, ++lsn));
        live.push_back(next_id++);
      } else {
        size_t victim = random() % live.size();
        if (dice < 9) {
          batch.changes.push_back(MakeChange(lake::ChangeOp::kUpdate, live[victim], n, ++lsn));
        } else {
          batch.changes.push_back(MakeChange(lake::ChangeOp::kDelete, live[victim], n, ++lsn));
          live[victim] = live.back();
          live.pop_back();
        }
      }
    }
    auto upsert_start = Clock::now();
    lake::ApplyStats stats;
    if (auto version = writer->Apply(batch, &stats); !version.ok()) return Fail(version.status());
    upsert_s += Seconds(upsert_start);
    rows_read += stats.rows_read;
    phases["begin"] += stats.begin_s;
    phases["plan"] += stats.plan_s;
    phases["write"] += stats.write_s;
    phases["commit"] += stats.commit_s;
    phases["index"] += stats.index_s;
    phases["compact"] += stats.compact_s;
    compactions += stats.compacted_version >= 0 ? 1 : 0;
    auto append_start = Clock::now();
    if (auto version = appender->Apply(batch); !version.ok()) return Fail(version.status());
    append_s += Seconds(append_start);
  }

  // Scan time and file count before and after an optimize.
  struct ScanFigures {
    int64_t files = 0;
    int64_t rows = 0;
    double seconds = 0;
  };
  auto scan = [&]() -> freshet::Result<ScanFigures> {
    FRESHET_ASSIGN_OR_RETURN(auto snapshot, lake::Snapshot::Load(fs, *connection, table));
    FRESHET_ASSIGN_OR_RETURN(std::string sql, lake::ScanSql(fs, *connection, snapshot));
    auto scan_start = Clock::now();
    FRESHET_ASSIGN_OR_RETURN(auto counted,
                             connection->Query("SELECT count(*), sum(n) FROM (" + sql + ")"));
    return ScanFigures{static_cast<int64_t>(snapshot.files().size()), counted.rows[0][0].integer(),
                       Seconds(scan_start)};
  };
  auto before = scan();
  if (!before.ok()) return Fail(before.status());
  auto optimize_start = Clock::now();
  auto optimized = lake::Optimize(fs, *connection, table);
  if (!optimized.ok()) return Fail(optimized.status());
  double optimize_s = Seconds(optimize_start);
  auto after = scan();
  if (!after.ok()) return Fail(after.status());
  int64_t live_rows = before->rows;
  if (live_rows != static_cast<int64_t>(live.size()) || after->rows != live_rows) {
    return Fail(Status::Internal("table has {} rows ({} after optimize), expected {}", live_rows,
                                 after->rows, live.size()));
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);

  nlohmann::json result = {
      {"benchmark", "upsert"},
      {"rows", rows},
      {"changes", changes},
      {"batch", batch_size},
      {"mix", "70% update, 20% insert, 10% delete"},
      {"change_feed", feed},
      {"index_build_s", index_build_s},
      {"key_index_bytes_per_row", index_bytes_per_row},
      {"key_index_bytes_per_row_at_end",
       static_cast<double>(writer->index().MemoryBytes()) / static_cast<double>(live_rows)},
      {"upsert_changes_per_s", static_cast<double>(changes) / upsert_s},
      {"append_changes_per_s", static_cast<double>(changes) / append_s},
      {"upsert_to_append_ratio", append_s / upsert_s},
      {"files_before_optimize", before->files},
      {"scan_s_before_optimize", before->seconds},
      {"optimize_s", optimize_s},
      {"files_after_optimize", after->files},
      {"scan_s_after_optimize", after->seconds},
      {"live_rows", live_rows},
      {"rows_read_from_files", rows_read},
      {"automatic_compactions", compactions},
      {"row_cache_mb_at_end", static_cast<double>(writer->row_cache().MemoryBytes()) / (1 << 20)},
      {"row_cache_keys_at_end", writer->row_cache().size()},
      {"peak_rss_mb", static_cast<double>(usage.ru_maxrss) / 1024.0},
      {"upsert_phase_s", phases},
  };
  std::ofstream(output) << result.dump(2) << "\n";
  fmt::print("{}\n", result.dump(2));
  std::filesystem::remove_all(root);
  return 0;
}
