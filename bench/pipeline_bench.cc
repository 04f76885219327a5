// The CDC pipeline end to end: PostgreSQL WAL -> committed lake tables, against PostgreSQL's own
// pg_recvlogical on the same WAL in the same run.
//
// (a) Throughput: a throwaway PostgreSQL 15 gets INSERTS inserts, INSERTS/2 updates and
//     INSERTS/10 deletes on a 6-column table (10k-row transactions), with four slots created
//     before the workload. pg_recvlogical drains one (pgoutput, binary, to /dev/null); a
//     pipeline::Pipeline drains another into a Delta table (stream only, commits confirmed);
//     then both again on the other two, and each side's faster drain counts, so that a burst
//     of other load on the machine during one drain does not decide the ratio.
//     Goal: pipeline rate / pg_recvlogical rate >= 0.9.
// (b) Freshness: the shop generator at RATE changes/s for SECONDS s while a second pipeline
//     streams it; per source transaction, the moment its flush made it visible in the lake
//     minus its source commit time; p50 and p99. Goal p99 <= 1 s. This pipeline sets
//     flush.max_latency_ms to 500 (kFreshLatency): half the goal, since a flush starts when a
//     transaction's age plus the recent commit time reaches it, and commit times vary. (a) runs
//     with the default flush settings.
// (c) Peak RSS of this process (the pipelines run in it; PostgreSQL does not; so do the
//     generator's connections). (a)'s pipeline is destroyed before (b) starts: one pipeline
//     runs at a time, as in a `freshet run` with one pipeline.
// (d) Data files of the shop tables after (b), with automatic compaction on (the default).
//
//   build/bench/pipeline_bench [INSERTS] [RATE] [SECONDS] [RESULT.json]

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "bench_wal.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"
#include "pg/connection.h"
#include "pg/replication_setup.h"
#include "pipeline/pipeline.h"
#include "subprocess.h"
#include "throwaway_postgres.h"
#include "workload/generator.h"

namespace {

using Clock = std::chrono::steady_clock;
using freshet::Status;
namespace pg = freshet::pg;
namespace pipeline = freshet::pipeline;
using namespace std::chrono_literals;

int Fail(const Status& status) {
  fmt::print(stderr, "pipeline_bench: {}\n", status.ToString());
  return 1;
}

// flush.max_latency_ms of the freshness pipeline.
constexpr std::chrono::milliseconds kFreshLatency{500};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

pipeline::PipelineConfig Config(const std::string& name, const std::string& dsn,
                                const std::string& root, const std::string& table) {
  pipeline::PipelineConfig config;
  config.name = name;
  config.source.dsn = dsn;
  config.source.slot = "freshet_" + name;
  config.source.publication = "freshet_" + name;
  config.source.tables = {table};
  config.lake.root = root;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  // FRESHET_BENCH_DEBUG=1: debug logging, which includes each flush's timings (where its
  // tables' commits spent the time) and each checkpoint and compaction.
  if (const char* debug = std::getenv("FRESHET_BENCH_DEBUG"); debug != nullptr && *debug == '1') {
    spdlog::set_level(spdlog::level::debug);
  }
  // With debug logging, a sampler logs each new RSS high (every 10 MB), to line it up with
  // the flushes and compactions around it.
  std::atomic<bool> sampling{spdlog::should_log(spdlog::level::debug)};
  std::thread sampler([&] {
    double logged = 0;
    while (sampling) {
      std::ifstream statm("/proc/self/statm");
      double pages = 0;
      double resident = 0;
      statm >> pages >> resident;
      double mb = resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
      if (mb >= logged + 10) {
        spdlog::debug("pipeline_bench: RSS {:.0f} MB", mb);
        logged = mb;
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  struct StopSampler {
    std::atomic<bool>& sampling;
    std::thread& sampler;
    ~StopSampler() {
      sampling = false;
      sampler.join();
    }
  } stop_sampler{sampling, sampler};
  int64_t inserts = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  double rate = argc > 2 ? std::stod(argv[2]) : 20'000;
  int seconds = argc > 3 ? std::stoi(argv[3]) : 60;
  std::string result_path = argc > 4 ? argv[4] : "bench/results/pipeline.json";
  int64_t updates = inserts / 2;
  int64_t deletes = inserts / 10;
  std::string root =
      (std::filesystem::temp_directory_path() / fmt::format("freshet-pipeline-bench-{}", getpid()))
          .string();
  std::filesystem::remove_all(root);

  auto server = freshet::testing::ThrowawayPostgres::Start(
      {.settings = {{"max_wal_size", "'4GB'"}, {"checkpoint_timeout", "'30min'"}}});
  if (!server.ok()) return Fail(server.status());
  auto bindir = freshet::testing::FindPostgresBinDir();
  if (!bindir.ok()) return Fail(bindir.status());
  std::string dsn = (*server)->Dsn("postgres");
  auto sql = pg::Connection::Open({.dsn = dsn});
  if (!sql.ok()) return Fail(sql.status());

  // (a) throughput.
  fmt::print("pipeline_bench: writing {} inserts, {} updates, {} deletes\n", inserts, updates,
             deletes);
  Status status = freshet::bench::WriteBenchWal(
      *sql, dsn, "freshet_bulk", {"recvlogical", "freshet_bulk", "recvlogical_2", "freshet_bulk_2"},
      inserts, updates, deletes);
  if (!status.ok()) return Fail(status);
  // The last transaction commits after `before_last`: the drain is done once it is confirmed.
  auto before_last = sql->Query("SELECT pg_current_wal_lsn()::text");
  if (!before_last.ok()) return Fail(before_last.status());
  auto before_last_lsn = freshet::Lsn::Parse(*before_last->Get(0, 0));
  if (!before_last_lsn.ok()) return Fail(before_last_lsn.status());
  status = sql->Execute("UPDATE t SET a = -1 WHERE id = 1");
  auto end = sql->Query("SELECT pg_current_wal_lsn()::text");
  if (!status.ok() || !end.ok()) return Fail(status.ok() ? end.status() : status);
  std::string end_lsn(*end->Get(0, 0));
  int64_t changes = inserts + updates + deletes + 1;

  double recv_seconds = 0;
  double pipeline_seconds = 0;
  for (int round = 1; round <= 2; ++round) {
    std::string suffix = round == 1 ? "" : fmt::format("_{}", round);
    auto recv_start = Clock::now();
    auto recv = freshet::testing::RunCommand(
        {"sh", "-c",
         fmt::format("{}/pg_recvlogical -d '{}' --slot recvlogical{} --start --endpos {} -o "
                     "proto_version=2 -o publication_names=freshet_bulk -o binary=true -o "
                     "streaming=on -o messages=true -f /dev/null --no-loop",
                     *bindir, dsn, suffix, end_lsn)});
    double recv_took = Seconds(Clock::now() - recv_start);
    if (!recv.ok() || recv->exit_code != 0) {
      return Fail(recv.ok() ? Status::Internal("pg_recvlogical: {}", recv->output) : recv.status());
    }

    freshet::MetricsRegistry bulk_metrics;
    pipeline::PipelineConfig bulk = Config("bulk", dsn, root + "/bulk" + suffix, "public.t");
    bulk.source.slot += suffix;
    bulk.source.snapshot = pipeline::SnapshotMode::kNever;
    // Gone after the round: its writer, row cache and DuckDB database are not the next one's.
    auto bulk_pipeline = std::make_unique<pipeline::Pipeline>(
        bulk, pipeline::PipelineRunOptions{.metrics = &bulk_metrics});
    freshet::GaugeMetric& confirmed = bulk_metrics.Gauge(
        "freshet_pipeline_confirmed_lsn", "The LSN last confirmed to PostgreSQL, as an integer",
        {{"pipeline", "bulk"}});
    auto pipeline_start = Clock::now();
    auto deadline = pipeline_start + 30min;
    status = bulk_pipeline->Run([&] {
      return confirmed.value() > static_cast<double>(before_last_lsn->value()) ||
             Clock::now() > deadline;
    });
    double pipeline_took = Seconds(Clock::now() - pipeline_start);
    if (!status.ok()) return Fail(status);
    if (confirmed.value() <= static_cast<double>(before_last_lsn->value())) {
      return Fail(Status::Timeout("the pipeline did not drain within 30 minutes"));
    }
    bulk_pipeline.reset();
    fmt::print("pipeline_bench: (a) round {}: pg_recvlogical {:.2f} s, pipeline {:.2f} s\n", round,
               recv_took, pipeline_took);
    recv_seconds = round == 1 ? recv_took : std::min(recv_seconds, recv_took);
    pipeline_seconds = round == 1 ? pipeline_took : std::min(pipeline_seconds, pipeline_took);
  }
  double rss_after_a = PeakRssMb();
  double recv_rate = static_cast<double>(changes) / recv_seconds;
  double pipeline_rate = static_cast<double>(changes) / pipeline_seconds;
  fmt::print(
      "pipeline_bench: (a) pg_recvlogical {:.0f} changes/s, pipeline {:.0f} changes/s "
      "(ratio {:.2f}), peak RSS {:.0f} MB\n",
      recv_rate, pipeline_rate, pipeline_rate / recv_rate, rss_after_a);

  // (b) freshness under the generator.
  auto shop = pg::Connection::Open({.dsn = dsn});
  if (!shop.ok()) return Fail(shop.status());
  if (Status s = freshet::workload::CreateShopSchema(*shop, 1); !s.ok()) return Fail(s);
  std::mutex mu;
  std::vector<double> freshness;
  std::atomic<bool> measuring{false};
  pipeline::PipelineConfig fresh = Config("fresh", dsn, root + "/fresh", "public.*");
  fresh.source.exclude = {"public.t"};
  fresh.flush.max_latency = kFreshLatency;
  pipeline::PipelineRunOptions fresh_options;
  fresh_options.on_visible = [&](int64_t commit_ms, int64_t visible_ms) {
    if (!measuring) return;
    std::lock_guard lock(mu);
    freshness.push_back(static_cast<double>(visible_ms - commit_ms) / 1000.0);
  };
  pipeline::Pipeline fresh_pipeline(fresh, fresh_options);
  std::atomic<bool> stop_fresh{false};
  Status fresh_status;
  std::thread runner([&] { fresh_status = fresh_pipeline.Run([&] { return stop_fresh.load(); }); });
  while (fresh_pipeline.state() != pipeline::PipelineState::kStreaming &&
         fresh_pipeline.state() != pipeline::PipelineState::kFailed) {
    std::this_thread::sleep_for(50ms);
  }
  measuring = true;
  freshet::workload::GeneratorOptions generator;
  generator.connection.dsn = dsn;
  generator.changes_per_second = rate;
  generator.duration = std::chrono::seconds(seconds);
  generator.create_schema = false;
  auto generated = freshet::workload::RunGenerator(
      generator, [] { return false; }, nullptr);
  std::this_thread::sleep_for(2s);
  stop_fresh = true;
  runner.join();
  if (!generated.ok()) return Fail(generated.status());
  if (!fresh_status.ok()) return Fail(fresh_status);
  double achieved_rate = static_cast<double>(generated->changes()) /
                         std::max(0.001, static_cast<double>(generated->elapsed.count()) / 1000);

  // (d) data files.
  freshet::lake::LocalFileSystem fs;
  auto database = freshet::engine::Database::Open("");
  if (!database.ok()) return Fail(database.status());
  auto connection = database->Connect();
  if (!connection.ok()) return Fail(connection.status());
  int64_t files = 0;
  for (const char* table : {"customers", "products", "orders", "order_items"}) {
    auto snapshot = freshet::lake::Snapshot::Load(
        fs, *connection, pipeline::TablePath(root + "/fresh", "public", table));
    if (!snapshot.ok()) return Fail(snapshot.status());
    files += static_cast<int64_t>(snapshot->files().size());
  }
  double p50 = Percentile(freshness, 0.5);
  double p99 = Percentile(freshness, 0.99);
  double peak_rss = PeakRssMb();
  fmt::print(
      "pipeline_bench: (b) generator {:.0f} changes/s (asked {:.0f}) for {} s: freshness "
      "p50 {:.3f} s, p99 {:.3f} s over {} transactions; (c) peak RSS {:.0f} MB; (d) {} "
      "data files\n",
      achieved_rate, rate, seconds, p50, p99, freshness.size(), peak_rss, files);

  nlohmann::json result{
      {"benchmark", "pipeline"},
      {"throughput",
       {{"changes", changes},
        {"pg_recvlogical_seconds", recv_seconds},
        {"pg_recvlogical_changes_per_s", recv_rate},
        {"pipeline_seconds", pipeline_seconds},
        {"pipeline_changes_per_s", pipeline_rate},
        {"ratio", pipeline_rate / recv_rate},
        {"goal_ratio", 0.9}}},
      {"freshness",
       {{"rate_asked", rate},
        {"rate_achieved", achieved_rate},
        {"seconds", seconds},
        {"transactions", freshness.size()},
        {"p50_seconds", p50},
        {"p99_seconds", p99},
        {"flush_max_latency_ms", kFreshLatency.count()},
        {"goal_p99_seconds", 1.0}}},
      {"peak_rss_mb", peak_rss},
      {"peak_rss_mb_after_throughput", rss_after_a},
      {"data_files_after_freshness", files},
      {"note",
       "pg_recvlogical's time includes its process start; the pipeline's includes creating the "
       "lake table; both read the same WAL from slots created before the workload"}};
  std::filesystem::create_directories(std::filesystem::path(result_path).parent_path());
  std::ofstream(result_path) << result.dump(2) << "\n";
  std::filesystem::remove_all(root);
  fmt::print("pipeline_bench: wrote {}\n", result_path);
  return 0;
}
