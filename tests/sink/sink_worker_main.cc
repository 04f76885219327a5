// sink-worker: runs one PostgresSink until killed, for the crash tests (the test SIGKILLs it at
// random moments and starts it again).
//
//   sink-worker <lake root> <destination dsn> <upsert|append|snapshot> <max versions> <temp dir>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "sink/postgres_sink.h"

int main(int argc, char** argv) {
  using namespace freshet;
  if (argc != 6) {
    std::fprintf(stderr, "usage: sink-worker LAKE_ROOT DSN MODE MAX_VERSIONS TEMP_DIR\n");
    return 2;
  }
  sink::PostgresSinkConfig config;
  config.name = "crash";
  config.dsn = argv[2];
  config.poll_interval = std::chrono::milliseconds(10);
  config.max_versions_per_transaction = std::stoll(argv[4]);
  std::string mode = argv[3];
  config.tables = {{.from = "public.*",
                    .to = "serving.{table}",
                    .mode = mode == "append"     ? sink::SinkMode::kAppend
                            : mode == "snapshot" ? sink::SinkMode::kSnapshot
                                                 : sink::SinkMode::kUpsert}};
  MetricsRegistry metrics;
  sink::SinkOptions options;
  options.temp_dir = argv[5];
  options.min_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(200);
  auto worker = sink::PostgresSink::Start(config, argv[1], "crash", metrics, options);
  if (!worker.ok()) {
    std::fprintf(stderr, "%s\n", worker.status().ToString().c_str());
    return 1;
  }
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
