#pragma once

// LogMaintenance: writes the checkpoints of a pipeline's lake tables on a thread of its own,
// off the flush path. A checkpoint (lake::WriteCheckpoint: the live files of a version as one
// Parquet file, then expired log cleanup) took a quarter of a second per table here, and the
// tables of a pipeline commit every flush, so they reached their checkpoint versions together
// and one flush in ten took twice as long. The writers are opened with checkpoints off
// (WriterOptions::checkpoint_interval 0) and the pipeline hands a version here once its commit
// is durable; the thread reads that version (an immutable snapshot) on its own DuckDB
// connection while the next flush commits. The table's checkpoint is atomic (FileSystem Put),
// so a reader or writer of the table sees either none or the whole file.
//
// A checkpoint only saves readers log replay: a failed one is logged and the table reads as
// before, nothing is retried. When several versions of a table wait, only the newest is
// written. The destructor writes those waiting, then stops the thread.
//
// The thread also hands the heap's free memory back to the system (malloc_trim) when asked,
// at most once a second: the flush worker, its helper and DuckDB's threads allocate and free
// a flush's rows in several malloc arenas, which otherwise keep the freed pages.
//
// Thread-safety: Schedule and ReleaseMemory may be called from any thread; the work runs on
// the thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"

namespace freshet::pipeline {

class LogMaintenance {
 public:
  // REQUIRES: `fs` and `database` outlive this object.
  static Result<std::unique_ptr<LogMaintenance>> Start(lake::FileSystem& fs,
                                                       engine::Database& database);
  ~LogMaintenance();
  LogMaintenance(const LogMaintenance&) = delete;
  LogMaintenance& operator=(const LogMaintenance&) = delete;

  // Writes a checkpoint of `table_path` at `version` (committed) soon.
  void Schedule(const std::string& table_path, lake::Version version);
  // Returns free heap memory to the system soon (at most once a second).
  void ReleaseMemory();
  // Checkpoints written (for tests and metrics).
  uint64_t written() const;
  // Waits until nothing is waiting or under way (tests).
  void Drain();

 private:
  LogMaintenance(lake::FileSystem& fs, engine::Connection connection);
  void Loop();
  Status Checkpoint(const std::string& table_path, lake::Version version);

  lake::FileSystem& fs_;
  engine::Connection connection_;  // used by the thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, lake::Version> waiting_;  // guarded by mu_: table path -> newest version
  bool release_ = false;                          // guarded by mu_
  bool busy_ = false;                             // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
  uint64_t written_ = 0;                          // guarded by mu_
  std::chrono::steady_clock::time_point last_release_;  // the thread's
  std::thread thread_;
};

// The checkpoint interval of a table: delta.checkpointInterval of its configuration, else 10
// (the lake writer's default).
int64_t CheckpointInterval(const lake::Snapshot& snapshot);

}  // namespace freshet::pipeline
