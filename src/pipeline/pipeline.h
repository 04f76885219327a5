#pragma once

// Pipeline: one CDC pipeline at run time. PostgreSQL (one replication slot) -> per-table
// buffers of whole source transactions -> one lake commit per touched table per flush ->
// the flushed LSN confirmed to PostgreSQL.
//
//   Run():  SetUpCapture (publication, slot, initial snapshot, resumable through
//           <root>/_freshet/pipelines/<name>/snapshot.json), then a ChangeCapture loop.
//   flush:  when the oldest buffered transaction's age plus the recent commit time reaches
//           max_latency, when a poll slice brought nothing (caught up), or when the buffers
//           hold max_rows rows or max_bytes bytes, or buffered plus committing changes reach
//           half of memory_limit (backpressure: no polling until the flush under way is done).
//           A FlushWorker thread commits every touched table (one commit each, with
//           txn{appId "freshet-<name>", version = commit LSN of the last transaction it
//           holds}) and writes the watermark file while the
//           reader buffers the next flush; only then is the end LSN confirmed. Checkpoints of
//           the tables are written by a LogMaintenance thread, beside the flushes.
//   restart: each table's committed LSN is read from its log (Snapshot::AppVersion); changes
//           of transactions at or below it are skipped, so replays add nothing twice.
//
// Tables live at <lake.root>/<schema>/<table>/, created on first sight with the properties of
// the shared contract (delta.enableChangeDataFeed, freshet.primaryKey, freshet.mode,
// freshet.source) and "freshet.sourceType" in each field's metadata. Added source columns
// evolve the table (a metaData commit); a column whose type changes pauses that table (its
// changes are no longer written, with a message saying how to resume: a re-snapshot, see
// pipeline/resnapshot.h) while the others go on.
//
// Not thread-safe: Run is called from one thread (it starts the flush worker); state(), and
// the metrics, may be read from any thread. on_visible is called on Run's thread.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/metrics.h"
#include "common/result.h"
#include "pipeline/pipeline_config.h"

namespace freshet::pipeline {

enum class PipelineState : int {
  kStarting,
  kSnapshotting,
  kStreaming,
  kStopped,
  kFailed,
};
std::string_view PipelineStateName(PipelineState state);

struct PipelineRunOptions {
  std::optional<std::string> password;  // overrides the DSN's
  MetricsRegistry* metrics = nullptr;   // optional
  // How long Poll waits when nothing arrives.
  std::chrono::milliseconds poll_wait{50};
  // Called after each flush for every transaction it made visible: the source commit time and
  // the moment its last table commit finished (milliseconds since the epoch). For benchmarks.
  std::function<void(int64_t commit_time_ms, int64_t visible_ms)> on_visible;
};

class Pipeline {
 public:
  Pipeline(PipelineConfig config, PipelineRunOptions options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs until `stop()` returns true (then flushes what is buffered, confirms, and returns OK)
  // or an error that retrying cannot fix, which the caller reports (it is not logged here).
  // `stop` is polled often (at least every poll_wait).
  Status Run(const std::function<bool()>& stop);

  PipelineState state() const { return state_.load(); }
  const PipelineConfig& config() const { return config_; }

 private:
  class Impl;
  PipelineConfig config_;
  std::unique_ptr<Impl> impl_;
  std::atomic<PipelineState> state_{PipelineState::kStarting};
};

// Where pipeline state lives in a lake root.
std::string WatermarkFolder(const std::string& lake_root);
std::string SnapshotStatePath(const std::string& lake_root, const std::string& pipeline);
// The tables whose rows a backfill is still to copy (see pipeline/backfill.h).
std::string BackfillStatePath(const std::string& lake_root, const std::string& pipeline);
// "<root>/<schema>/<table>".
std::string TablePath(const std::string& lake_root, const std::string& schema,
                      const std::string& table);

}  // namespace freshet::pipeline
