// The SQL gateway under load, and its overhead against DuckDB alone.
//
// 1. Throughput: CLIENTS concurrent libpq clients (default 16) run a mixed query set (point
//    lookups with a parameter, a filtered aggregate, a group-by, a top-N) over a ROWS-row
//    table (default 10M) for SECONDS; reports queries/s and p50/p99 latency.
// 2. Overhead: one query with a small result (100 groups) through the gateway vs the same
//    query on the same Parquet file in DuckDB directly, same process, same run; reports both
//    medians and the ratio (the goal: at most 10% over DuckDB).
//
//   build/bench/pgwire_bench [ROWS] [CLIENTS] [SECONDS] [RESULT.json]

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/database.h"
#include "engine/parquet.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/server.h"
#include "server/table_catalog.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
namespace pgwire = freshet::server::pgwire;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

int Fail(const std::string& message) {
  fmt::print(stderr, "pgwire_bench: {}\n", message);
  return 1;
}

struct PgConn {
  explicit PgConn(const std::string& dsn) : conn(PQconnectdb(dsn.c_str())) {}
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn() { PQfinish(conn); }
  bool ok() const { return PQstatus(conn) == CONNECTION_OK; }
  // Runs a query (with text parameters through the extended protocol when given).
  bool Run(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* result = params.empty()
                           ? PQexec(conn, sql.c_str())
                           : PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()),
                                          nullptr, values.data(), nullptr, nullptr, 0);
    bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
    if (!ok) fmt::print(stderr, "query failed: {}\n", PQresultErrorMessage(result));
    PQclear(result);
    return ok;
  }
  PGconn* conn;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::stoll(argv[1]) : 10'000'000;
  int clients = argc > 2 ? std::stoi(argv[2]) : 16;
  int seconds = argc > 3 ? std::stoi(argv[3]) : 20;
  std::string output = argc > 4 ? argv[4] : "bench/results/pgwire.json";

  fs::path dir = fs::temp_directory_path() / fmt::format("freshet-pgwire-bench-{}", getpid());
  fs::create_directories(dir);
  std::string file = (dir / "orders.parquet").string();
  {
    auto db = freshet::engine::Database::Open("");
    if (!db.ok()) return Fail(db.status().ToString());
    auto connection = db->Connect();
    if (!connection.ok()) return Fail(connection.status().ToString());
    auto written = freshet::engine::WriteParquet(
        *connection,
        fmt::format("SELECT range AS id, 'customer ' || (range % 100) AS customer, "
                    "(range % 1000) / 10.0 AS amount, DATE '2026-01-01' + (range % 365)::INTEGER "
                    "AS day FROM range({})",
                    rows),
        file);
    if (!written.ok()) return Fail(written.status().ToString());
  }

  freshet::server::StaticTableCatalog catalog;
  catalog.AddParquetTable("public", "orders", {file});
  auto verifier = pgwire::MakeScramVerifier("bench");
  if (!verifier.ok()) return Fail(verifier.status().ToString());
  pgwire::ServerOptions options;
  options.port = 0;
  options.users = {pgwire::User{"bench", *verifier, {"*.*"}}};
  options.session.threads = 1;
  options.max_connections = clients + 8;
  auto server = pgwire::PgwireServer::Start(options, catalog);
  if (!server.ok()) return Fail(server.status().ToString());
  std::string dsn =
      fmt::format("host=127.0.0.1 port={} user=bench password=bench dbname=lake sslmode=disable",
                  (*server)->port());

  // 1. Throughput with a mixed query set.
  const std::vector<std::string> queries = {
      "SELECT * FROM orders WHERE id = $1",
      "SELECT count(*), avg(amount) FROM orders WHERE day = DATE '2026-03-01'",
      "SELECT customer, sum(amount) FROM orders WHERE id < 1000000 GROUP BY customer",
      "SELECT id, amount FROM orders WHERE customer = 'customer 7' ORDER BY amount DESC, id "
      "LIMIT 10",
  };
  std::vector<double> latencies;
  std::mutex latencies_mutex;
  std::atomic<int64_t> failures{0};
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  Clock::time_point started = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      PgConn conn(dsn);
      if (!conn.ok()) {
        ++failures;
        return;
      }
      std::mt19937_64 random(c);
      std::vector<double> mine;
      for (size_t i = static_cast<size_t>(c); Clock::now() < deadline; ++i) {
        const std::string& sql = queries[i % queries.size()];
        auto begin = Clock::now();
        bool ok = sql.find("$1") != std::string::npos
                      ? conn.Run(sql, {std::to_string(random() % rows)})
                      : conn.Run(sql);
        if (!ok) ++failures;
        mine.push_back(Millis(Clock::now() - begin));
      }
      std::lock_guard lock(latencies_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();

  // 2. One query through the gateway vs DuckDB directly on the same file.
  const std::string query =
      "SELECT customer, count(*), sum(amount) FROM orders WHERE id % 7 = 0 GROUP BY customer "
      "ORDER BY customer";
  constexpr int kRuns = 15;
  std::vector<double> gateway_ms;
  std::vector<double> direct_ms;
  {
    PgConn conn(dsn);
    if (!conn.ok()) return Fail("cannot connect for the overhead comparison");
    auto db = freshet::engine::Database::Open("", {.threads = 1});
    if (!db.ok()) return Fail(db.status().ToString());
    auto direct = db->Connect();
    if (!direct.ok()) return Fail(direct.status().ToString());
    if (!direct
             ->Execute(fmt::format("CREATE VIEW orders AS SELECT * FROM read_parquet('{}')", file))
             .ok()) {
      return Fail("cannot create the direct view");
    }
    for (int i = 0; i < kRuns + 2; ++i) {  // alternate, first two of each are warm-up
      auto begin = Clock::now();
      if (!conn.Run(query)) return Fail("gateway query failed");
      double g = Millis(Clock::now() - begin);
      begin = Clock::now();
      auto result = direct->Query(query);
      if (!result.ok()) return Fail(result.status().ToString());
      double d = Millis(Clock::now() - begin);
      if (i >= 2) {
        gateway_ms.push_back(g);
        direct_ms.push_back(d);
      }
    }
  }
  (*server)->Stop();
  fs::remove_all(dir);

  double gateway_median = Percentile(gateway_ms, 0.5);
  double direct_median = Percentile(direct_ms, 0.5);
  nlohmann::json json = {
      {"benchmark", "pgwire"},
      {"rows", rows},
      {"clients", clients},
      {"seconds", elapsed},
      {"queries", latencies.size()},
      {"failures", failures.load()},
      {"queries_per_second", static_cast<double>(latencies.size()) / elapsed},
      {"latency_ms_p50", Percentile(latencies, 0.5)},
      {"latency_ms_p99", Percentile(latencies, 0.99)},
      {"overhead_query", query},
      {"gateway_ms_median", gateway_median},
      {"duckdb_direct_ms_median", direct_median},
      {"gateway_over_direct", gateway_median / direct_median},
  };
  fs::create_directories(fs::path(output).parent_path());
  std::ofstream(output) << json.dump(2) << "\n";
  fmt::print("{}\n", json.dump(2));
  return failures.load() == 0 ? 0 : 1;
}
