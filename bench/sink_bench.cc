// Destination sink benchmark (issue 8): the same changes (INSERTS inserts, INSERTS/2 updates,
// INSERTS/10 deletes, in transactions of 100k rows) delivered to a destination PostgreSQL two
// ways, in the same run, on the same destination server:
//   - PostgreSQL's logical replication: a publication on a source server and a subscription
//     on the destination; the subscription is disabled while the source runs the changes,
//     then enabled, and timed until a marker row committed after them arrives;
//   - freshet's sink: the same changes written to a lake table (lake::UpsertWriter with the
//     change data feed, untimed), then PostgresSink passes timed until the destination holds
//     the latest version; once with the default max_versions_per_transaction (100: the whole
//     backlog in one transaction, collapsed per key) and once with one version per
//     transaction.
// Both destinations are checked to hold the same count and sum. Writes apply rates (source
// changes per second) and the ratio sink / logical replication (goal >= 1.0).
//
//   build/bench/sink_bench [INSERTS] [RESULT.json]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"
#include "pg/connection.h"
#include "sink/postgres_sink.h"
#include "throwaway_postgres.h"

namespace {

using Clock = std::chrono::steady_clock;
using freshet::Result;
using freshet::Status;
using freshet::engine::Value;
namespace lake = freshet::lake;
namespace pg = freshet::pg;
namespace sink = freshet::sink;

constexpr int64_t kBatch = 100'000;
constexpr const char* kTableDdl =
    "CREATE TABLE items (id bigint PRIMARY KEY, name character varying(20), amount "
    "numeric(10,2), note text)";

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int Fail(const Status& status) {
  fmt::print(stderr, "sink_bench: {}\n", status);
  return 1;
}

Result<pg::Connection> Open(const std::string& dsn) {
  return pg::Connection::Open({.dsn = dsn, .application_name = "sink_bench"});
}

// The amount each row ends with: inserted as id, updated (ids <= inserts/2) to id + 1.
std::string Checksum(pg::Connection& connection, const std::string& table) {
  auto rows = connection.Query("SELECT count(*) || ':' || coalesce(sum(amount), 0) FROM " + table);
  return rows.ok() ? std::string(rows->Get(0, 0).value_or("?")) : rows.status().ToString();
}

Status RunSourceChanges(pg::Connection& source, int64_t inserts) {
  for (int64_t start = 1; start <= inserts; start += kBatch) {
    FRESHET_RETURN_IF_ERROR(source.Execute(fmt::format(
        "INSERT INTO items SELECT i, 'name ' || i, i / 100.0, NULL FROM generate_series({}, {}) i",
        start, std::min(inserts, start + kBatch - 1))));
  }
  for (int64_t start = 1; start <= inserts / 2; start += kBatch) {
    FRESHET_RETURN_IF_ERROR(source.Execute(
        fmt::format("UPDATE items SET amount = amount + 1 WHERE id BETWEEN {} AND {}", start,
                    std::min(inserts / 2, start + kBatch - 1))));
  }
  return source.Execute(fmt::format("DELETE FROM items WHERE id > {}", inserts - inserts / 10));
}

lake::RowChange Change(lake::ChangeOp op, int64_t id, int64_t cents) {
  lake::RowChange change;
  change.op = op;
  if (op == lake::ChangeOp::kDelete) {
    change.old_row = {Value::Int(id), Value::Null(), Value::Null(), Value::Null()};
    return change;
  }
  Value amount;
  amount.kind = Value::Kind::kDecimal;
  amount.data = freshet::engine::Decimal{cents, 10, 2};
  change.row = {Value::Int(id), Value::String("name " + std::to_string(id)), amount, Value::Null()};
  return change;
}

Status CreateLakeTable(lake::FileSystem& fs, const std::string& path) {
  auto schema = lake::ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{"freshet.sourceType":"bigint"}},
    {"name":"name","type":"string","nullable":true,
     "metadata":{"freshet.sourceType":"character varying(20)"}},
    {"name":"amount","type":"decimal(10,2)","nullable":true,
     "metadata":{"freshet.sourceType":"numeric(10,2)"}},
    {"name":"note","type":"string","nullable":true,"metadata":{}}]})json");
  if (!schema.ok()) return schema.status();
  lake::CreateTableOptions options{.schema = *schema};
  options.configuration = {{"delta.enableChangeDataFeed", "true"},
                           {"freshet.primaryKey", R"(["id"])"},
                           {"freshet.mode", "upsert"},
                           {"freshet.source", "public.items"}};
  FRESHET_RETURN_IF_ERROR(lake::CreateTable(fs, path, options).status());
  return Status::Ok();
}

Status FillLake(lake::FileSystem& fs, freshet::engine::Connection& duck, const std::string& path,
                int64_t inserts) {
  FRESHET_ASSIGN_OR_RETURN(auto writer,
                           lake::UpsertWriter::Open(fs, duck, path, {.key_columns = {"id"}}));
  auto apply = [&](lake::ChangeOp op, int64_t first, int64_t last, int64_t add) -> Status {
    for (int64_t start = first; start <= last; start += kBatch) {
      lake::ChangeBatch batch;
      for (int64_t id = start; id <= std::min(last, start + kBatch - 1); ++id) {
        batch.changes.push_back(Change(op, id, id + add * 100));
      }
      FRESHET_RETURN_IF_ERROR(writer.Apply(batch).status());
    }
    return Status::Ok();
  };
  FRESHET_RETURN_IF_ERROR(apply(lake::ChangeOp::kInsert, 1, inserts, 0));
  FRESHET_RETURN_IF_ERROR(apply(lake::ChangeOp::kUpdate, 1, inserts / 2, 1));
  return apply(lake::ChangeOp::kDelete, inserts - inserts / 10 + 1, inserts, 0);
}

// Runs sink passes until the destination holds the lake's latest version; the seconds taken.
Result<double> TimeSink(sink::PostgresSink& worker) {
  auto start = Clock::now();
  for (;;) {
    FRESHET_ASSIGN_OR_RETURN(bool behind, worker.RunPass());
    if (!behind) return Seconds(start);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("FRESHET_BENCH_DEBUG") != nullptr) spdlog::set_level(spdlog::level::debug);
  int64_t inserts = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  std::string output = argc > 2 ? argv[2] : "sink.json";
  int64_t changes = inserts + inserts / 2 + inserts / 10;

  auto source_server = freshet::testing::ThrowawayPostgres::Start();
  if (!source_server.ok()) return Fail(source_server.status());
  // The launcher restarts a subscription's apply worker no sooner than
  // wal_retrieve_retry_interval (5 s) after it stopped; the timing must not include that wait.
  freshet::testing::PostgresOptions destination_options;
  destination_options.settings = {{"wal_retrieve_retry_interval", "'50ms'"}};
  auto destination_server = freshet::testing::ThrowawayPostgres::Start(destination_options);
  if (!destination_server.ok()) return Fail(destination_server.status());
  auto& src = **source_server;
  auto& dst = **destination_server;
  for (auto status :
       {src.CreateDatabase("shop"), dst.CreateDatabase("replica"), dst.CreateDatabase("serving")}) {
    if (!status.ok()) return Fail(status);
  }

  // Logical replication: subscribe, pause, run the changes, resume and time the apply.
  auto source = Open(src.Dsn("shop"));
  if (!source.ok()) return Fail(source.status());
  auto replica = Open(dst.Dsn("replica"));
  if (!replica.ok()) return Fail(replica.status());
  std::string setup = std::string(kTableDdl) + "; CREATE TABLE marker (id int PRIMARY KEY)";
  if (auto s = source->Execute(setup + "; CREATE PUBLICATION bench FOR TABLE items, marker");
      !s.ok()) {
    return Fail(s);
  }
  if (auto s = replica->Execute(setup); !s.ok()) return Fail(s);
  std::string connection_string =
      fmt::format("host=127.0.0.1 port={} user={} password={} dbname=shop", src.port(),
                  src.superuser(), src.superuser_password());
  if (auto s = replica->Execute("CREATE SUBSCRIPTION bench CONNECTION '" + connection_string +
                                "' PUBLICATION bench WITH (copy_data = false)");
      !s.ok()) {
    return Fail(s);
  }
  if (auto s = replica->Execute("ALTER SUBSCRIPTION bench DISABLE"); !s.ok()) return Fail(s);
  auto source_start = Clock::now();
  if (auto s = RunSourceChanges(*source, inserts); !s.ok()) return Fail(s);
  double source_s = Seconds(source_start);
  if (auto s = source->Execute("INSERT INTO marker VALUES (1)"); !s.ok()) return Fail(s);
  auto replication_start = Clock::now();
  if (auto s = replica->Execute("ALTER SUBSCRIPTION bench ENABLE"); !s.ok()) return Fail(s);
  for (;;) {
    auto rows = replica->Query("SELECT count(*) FROM marker");
    if (!rows.ok()) return Fail(rows.status());
    if (rows->Get(0, 0) == "1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double replication_s = Seconds(replication_start);
  std::string replica_sum = Checksum(*replica, "items");
  fmt::print("logical replication: {} changes applied in {:.2f} s\n", changes, replication_s);

  // The sink: the same changes in the lake, applied from offset 0.
  std::string root =
      (std::filesystem::temp_directory_path() / fmt::format("freshet-sink-bench-{}", ::getpid()))
          .string();
  lake::LocalFileSystem fs;
  auto database = freshet::engine::Database::Open("");
  if (!database.ok()) return Fail(database.status());
  auto duck = database->Connect();
  if (!duck.ok()) return Fail(duck.status());
  std::string path = root + "/public/items";
  if (auto s = CreateLakeTable(fs, path); !s.ok()) return Fail(s);
  freshet::MetricsRegistry metrics;
  sink::PostgresSinkConfig config;
  config.name = "bench";
  config.dsn = dst.Dsn("serving");
  config.tables = {{.from = "public.*", .to = "public.{table}", .mode = sink::SinkMode::kUpsert}};
  auto worker = sink::PostgresSink::Create(config, root, "bench", metrics);
  if (!worker.ok()) return Fail(worker.status());
  if (auto first = (*worker)->RunPass(); !first.ok()) return Fail(first.status());  // version 0
  auto lake_start = Clock::now();
  if (auto s = FillLake(fs, *duck, path, inserts); !s.ok()) return Fail(s);
  double lake_write_s = Seconds(lake_start);
  auto latest = lake::LatestVersion(fs, path);
  if (!latest.ok()) return Fail(latest.status());
  auto sink_s = TimeSink(**worker);
  if (!sink_s.ok()) return Fail(sink_s.status());
  auto serving = Open(dst.Dsn("serving"));
  if (!serving.ok()) return Fail(serving.status());
  std::string sink_sum = Checksum(*serving, "public.items");
  fmt::print("sink: {} changes applied in {:.2f} s ({} versions)\n", changes, *sink_s, *latest);

  // Again with one lake version per destination transaction (no collapsing across versions).
  if (auto s = serving->Execute("TRUNCATE public.items; UPDATE freshet_sink_offsets SET version "
                                "= 0");
      !s.ok()) {
    return Fail(s);
  }
  config.max_versions_per_transaction = 1;
  auto per_version = sink::PostgresSink::Create(config, root, "bench", metrics);
  if (!per_version.ok()) return Fail(per_version.status());
  auto per_version_s = TimeSink(**per_version);
  if (!per_version_s.ok()) return Fail(per_version_s.status());
  std::string per_version_sum = Checksum(*serving, "public.items");
  std::filesystem::remove_all(root);

  if (replica_sum != sink_sum || sink_sum != per_version_sum) {
    return Fail(Status::Internal("destinations differ: replication {}, sink {}, per version {}",
                                 replica_sum, sink_sum, per_version_sum));
  }
  double replication_rate = static_cast<double>(changes) / replication_s;
  double sink_rate = static_cast<double>(changes) / *sink_s;
  double per_version_rate = static_cast<double>(changes) / *per_version_s;
  nlohmann::json result = {
      {"benchmark", "sink"},
      {"changes", {{"inserts", inserts}, {"updates", inserts / 2}, {"deletes", inserts / 10}}},
      {"source_transactions",
       (inserts + kBatch - 1) / kBatch + (inserts / 2 + kBatch - 1) / kBatch + 1},
      {"lake_versions", *latest},
      {"destination_count_sum", sink_sum},
      {"source_run_s", source_s},
      {"lake_write_s", lake_write_s},
      {"logical_replication_s", replication_s},
      {"logical_replication_changes_per_s", replication_rate},
      {"sink_s", *sink_s},
      {"sink_changes_per_s", sink_rate},
      {"sink_one_version_per_transaction_s", *per_version_s},
      {"sink_one_version_per_transaction_changes_per_s", per_version_rate},
      {"ratio_sink_to_logical_replication", sink_rate / replication_rate},
      {"ratio_one_version_per_transaction_to_logical_replication",
       per_version_rate / replication_rate},
  };
  std::ofstream(output) << result.dump(2) << "\n";
  fmt::print("{}\n", result.dump(2));
  return 0;
}
