#pragma once

// LogMaintenance: checkpoints and compaction of a pipeline's lake tables, on a thread of its
// own, beside the flushes.
//
// Checkpoints: a checkpoint (lake::CheckpointVersion: the live files of a version as one Parquet
// file, then expired log cleanup) took a quarter of a second per table, and the tables of a
// pipeline commit every flush, so they reached their checkpoint versions together and one
// flush in ten took twice as long. The writers are opened with checkpoints off
// (WriterOptions::checkpoint_interval 0) and the pipeline hands a version here once its commit
// is durable; the thread reads that version (an immutable snapshot) on its own DuckDB
// connection while the next flush commits. The checkpoint is atomic (FileSystem Put), so a
// reader or writer of the table sees either none or the whole file.
//
// Compaction: the writers are opened with automatic compaction off, and after writing a
// checkpoint the thread applies UpsertWriter's thresholds (CompactionPolicy) to that snapshot;
// when one is passed it compacts. The rewrite (reading the files, writing the new ones) runs
// without the table's writer lock, which the flush worker holds around UpsertWriter::Apply, so
// the table goes on committing; only the commit holds it (Table::commit_compaction): the
// table's own writer commits the staged rewrite on its latest snapshot, carrying rows deleted
// meanwhile over as deletion vectors of the new files, and moves its key index entries instead
// of rebuilding them. One compaction takes a bounded subset (lake::AutomaticOptimizeOptions:
// the files with most deleted rows, then small ones, up to a few tens of MB); what it leaves
// is taken at the next checkpoint.
//
// A checkpoint or compaction only saves readers work: a failed one is logged and the table
// reads as before, nothing is retried. When several versions of a table wait, only the newest
// is handled. Pause (a schema change commits metadata, which a compaction must not race) waits
// for the work under way and holds back the rest until Resume. The destructor writes the
// checkpoints waiting (no compaction), then stops the thread.
//
// The thread also hands the heap's free memory back to the system (malloc_trim) when asked,
// at most once a second: the flush worker, its helper and DuckDB's threads allocate and free
// a flush's rows in several malloc arenas, which otherwise keep the freed pages.
//
// Thread-safety: every method may be called from any thread; the work runs on the thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/optimize.h"
#include "lake/snapshot.h"

namespace freshet::pipeline {

// UpsertOptions' automatic compaction thresholds (see lake/upsert_writer.h); 0 disables one.
struct CompactionPolicy {
  int64_t file_count = 200;
  double deleted_share = 0.3;
  int64_t min_deleted_rows = 10'000;
};

// Whether `snapshot` passes a threshold of `policy`.
bool CompactionDue(const lake::Snapshot& snapshot, const CompactionPolicy& policy);

class LogMaintenance {
 public:
  // A table, as Schedule takes it.
  struct Table {
    std::string path;
    // Held by whoever commits to the table (the flush worker, around UpsertWriter::Apply).
    std::shared_ptr<std::mutex> writer_lock;
    CounterMetric* compactions = nullptr;  // optional
    // Commits a due compaction that the thread staged without writer_lock (lake::StageOptimize
    // on `staged`, a transaction begun on the checkpoint's snapshot), on the thread's
    // connection, holding writer_lock: the table's writer carries over the rows deleted since
    // and moves its key index entries (UpsertWriter::CommitStagedCompaction). Without it, the
    // thread compacts with lake::Optimize holding writer_lock throughout.
    std::function<Result<lake::OptimizeResult>(engine::Connection&, const lake::Transaction&,
                                               lake::OptimizeResult)>
        commit_compaction;  // optional
  };

  // REQUIRES: `fs` and `database` outlive this object.
  static Result<std::unique_ptr<LogMaintenance>> Start(lake::FileSystem& fs,
                                                       engine::Database& database,
                                                       CompactionPolicy policy = {});
  ~LogMaintenance();
  LogMaintenance(const LogMaintenance&) = delete;
  LogMaintenance& operator=(const LogMaintenance&) = delete;

  // Writes a checkpoint of the table at `version` (committed) soon, then compacts it if due.
  void Schedule(const Table& table, lake::Version version);
  // Returns free heap memory to the system soon (at most once a second).
  void ReleaseMemory();
  // Waits for the work under way; nothing more starts until Resume.
  void Pause();
  void Resume();
  // Checkpoints written and compactions committed (for tests).
  uint64_t written() const;
  uint64_t compacted() const;
  // Waits until nothing is waiting or under way (tests).
  void Drain();

 private:
  LogMaintenance(lake::FileSystem& fs, engine::Connection connection, CompactionPolicy policy);
  void Loop();
  // Returns whether a compaction was committed.
  Result<bool> Maintain(const Table& table, lake::Version version);

  lake::FileSystem& fs_;
  engine::Connection connection_;  // used by the thread only
  const CompactionPolicy policy_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_: table path -> (table, newest version).
  std::map<std::string, std::pair<Table, lake::Version>> waiting_;
  bool release_ = false;                                // guarded by mu_
  bool busy_ = false;                                   // guarded by mu_
  bool paused_ = false;                                 // guarded by mu_
  bool stopping_ = false;                               // guarded by mu_
  uint64_t written_ = 0;                                // guarded by mu_
  uint64_t compacted_ = 0;                              // guarded by mu_
  std::chrono::steady_clock::time_point last_release_;  // the thread's
  std::thread thread_;
};

// The checkpoint interval of a table: delta.checkpointInterval of its configuration, else 10
// (the lake writer's default).
int64_t CheckpointInterval(const lake::Snapshot& snapshot);

}  // namespace freshet::pipeline
