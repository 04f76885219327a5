#pragma once

// PostgresSink: one destination PostgreSQL fed from a pipeline's lake tables, on a thread of
// its own.
//
// Each pass lists the lake tables under the root (<root>/<schema>/<table>/_delta_log), takes
// those the config's `from` patterns match, and runs one TableSync step for each (so a table
// far behind cannot starve the others). Passes repeat every poll_interval, at once while any
// table is behind. When the destination cannot be reached the worker drops its connection and
// retries with exponential backoff (0.5 s doubling to 30 s); a table whose step fails for
// another reason waits on its own backoff, and a paused table (a schema change the sink cannot
// follow, no key in upsert mode) is re-checked every 10 s and resumes once the destination is
// fixed. Nothing here ever waits on the pipeline: the sink only reads committed lake versions.
//
// Thread-safe: status() may be called from any thread while the worker runs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "lake/fs/file_system.h"
#include "sink/sink_config.h"
#include "sink/table_sync.h"

namespace freshet::sink {

struct SinkTableStatus {
  std::string lake_table;   // schema.table in the lake
  std::string destination;  // schema.table in the destination
  SinkMode mode = SinkMode::kUpsert;
  std::optional<int64_t> applied_version;  // nullopt until the first copy commits
  int64_t latest_version = -1;
  int64_t lag_versions = 0;
  double lag_seconds = 0;
  double rows_per_second = 0;  // of the last transaction
  int64_t rows_applied = 0;    // since start
  std::string state;           // "copying", "following", "caught up", "paused", "error"
  std::string message;         // why paused, or the last error
};

struct SinkStatus {
  std::string name;
  std::string destination;  // the DSN, without its password
  bool connected = false;
  std::string last_error;
  std::vector<SinkTableStatus> tables;
};

// Renders the status as the aligned text table the CLI prints.
std::string FormatSinkStatus(const SinkStatus& status);

struct SinkOptions {
  // The lake's FileSystem; a LocalFileSystem when null. Must outlive the sink.
  lake::FileSystem* fs = nullptr;
  std::string temp_dir;  // batch files; the system's temp folder when empty
  std::chrono::milliseconds min_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds paused_recheck{10'000};
  std::function<Status()> TEST_before_commit;
};

class PostgresSink {
 public:
  // Checks the config (DSN syntax, password file) and starts the worker thread; an
  // unreachable destination is not an error here (the worker retries).
  static Result<std::unique_ptr<PostgresSink>> Start(PostgresSinkConfig config,
                                                     std::string lake_root, std::string pipeline,
                                                     MetricsRegistry& metrics,
                                                     SinkOptions options = {});
  // Builds a sink without a thread, for RunPass-driven use (tests, one-shot syncs).
  static Result<std::unique_ptr<PostgresSink>> Create(PostgresSinkConfig config,
                                                      std::string lake_root, std::string pipeline,
                                                      MetricsRegistry& metrics,
                                                      SinkOptions options = {});

  PostgresSink(const PostgresSink&) = delete;
  PostgresSink& operator=(const PostgresSink&) = delete;
  ~PostgresSink();

  // Stops the worker after its current step (a COPY in flight is finished or rolled back) and
  // joins it. Idempotent.
  void Stop();
  SinkStatus status() const;

  // One pass over every table, on the caller's thread. Returns true when some table is still
  // behind (another pass would apply more). Unavailable when the destination is unreachable.
  // REQUIRES: the worker thread is not running (a sink from Create).
  Result<bool> RunPass();

 private:
  struct TableState;
  PostgresSink(PostgresSinkConfig config, std::string lake_root, std::string pipeline,
               MetricsRegistry& metrics, SinkOptions options);
  Status Init();
  void Run();
  Status Connect();
  Status Discover();
  void StepTable(TableState& table);
  void SleepFor(std::chrono::milliseconds duration);
  void UpdateStatus();

  // Constant after construction.
  const PostgresSinkConfig config_;
  const std::string lake_root_;
  const std::string pipeline_;
  MetricsRegistry& metrics_;
  SinkOptions options_;
  std::optional<std::string> password_;
  std::unique_ptr<lake::FileSystem> owned_fs_;
  lake::FileSystem* fs_ = nullptr;

  // Used by the worker (or the RunPass caller) only.
  struct Worker;
  std::unique_ptr<Worker> worker_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;

  mutable std::mutex status_mu_;
  SinkStatus status_;  // GUARDED_BY(status_mu_)
};

}  // namespace freshet::sink
