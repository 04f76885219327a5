// Parquet write through engine::WriteParquet (COPY ... RETURN_STATS, statistics parsed into
// ParquetFileStats) against the baseline of a plain DuckDB COPY ... TO parquet of the same
// rows in the same run. The ratio is the cost of collecting per-file statistics, which the
// Delta writer needs for every data file.
//
//   build/bench/parquet_write_bench [ROWS] [RESULT.json]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "engine/database.h"
#include "engine/parquet.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Fail(const freshet::Status& status) {
  fmt::print(stderr, "parquet_write_bench: {}\n", status.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::stoll(argv[1]) : 2'000'000;
  std::string out_path = argc > 2 ? argv[2] : "bench/results/parquet_write.json";
  auto dir = std::filesystem::temp_directory_path() / "freshet-parquet-bench";
  std::filesystem::create_directories(dir);

  auto db = freshet::engine::Database::Open("");
  if (!db.ok()) return Fail(db.status());
  auto connection = db->Connect();
  if (!connection.ok()) return Fail(connection.status());
  // Materialise the source first so both sides time only the Parquet write.
  freshet::Status made = connection->Execute(fmt::format(
      "CREATE TABLE source AS SELECT i AS id, i % 1000 AS bucket, 'customer-' || (i % 50000) AS "
      "name, i * 0.25 AS amount, (i % 3 = 0) AS flag, DATE '2026-01-01' + (i % 365)::INTEGER AS "
      "day, TIMESTAMP '2026-01-01' + to_seconds(i) AS at, CASE WHEN i % 7 = 0 THEN NULL ELSE "
      "md5(i::VARCHAR) END AS note FROM range({}) t(i)",
      rows));
  if (!made.ok()) return Fail(made);

  constexpr int kRounds = 5;
  std::vector<double> freshet_seconds;
  std::vector<double> baseline_seconds;
  for (int round = 0; round < kRounds; ++round) {
    std::string path = (dir / fmt::format("freshet-{}.parquet", round)).string();
    auto start = Clock::now();
    auto stats = freshet::engine::WriteParquet(*connection, "SELECT * FROM source", path);
    freshet_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (!stats.ok()) return Fail(stats.status());
    if (stats->row_count != rows) return Fail(freshet::Status::Internal("row count mismatch"));

    std::string baseline_path = (dir / fmt::format("baseline-{}.parquet", round)).string();
    start = Clock::now();
    freshet::Status copied = connection->Execute(
        fmt::format("COPY (SELECT * FROM source) TO {} (FORMAT parquet, COMPRESSION 'snappy')",
                    freshet::QuoteLiteral(baseline_path)));
    baseline_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (!copied.ok()) return Fail(copied);
  }
  std::filesystem::remove_all(dir);

  double freshet_rate = static_cast<double>(rows) / Median(freshet_seconds);
  double baseline_rate = static_cast<double>(rows) / Median(baseline_seconds);
  nlohmann::json result = {
      {"benchmark", "parquet_write"},
      {"rows", rows},
      {"columns", 8},
      {"rounds", kRounds},
      {"freshet_write_parquet_rows_per_s", freshet_rate},
      {"baseline_duckdb_copy_rows_per_s", baseline_rate},
      {"ratio_freshet_over_baseline", freshet_rate / baseline_rate},
      {"duckdb", freshet::engine::DuckDbVersion()},
  };
  std::filesystem::create_directories(std::filesystem::path(out_path).parent_path());
  std::ofstream(out_path) << result.dump(2) << "\n";
  fmt::print("{}\n", result.dump(2));
  return 0;
}
