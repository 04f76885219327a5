#pragma once

// FlushWorker: one background thread that runs the pipeline's flushes, one at a time, so the
// reader keeps receiving and converting the next transactions while the lake commits of the
// previous flush run. The pipeline confirms a flush's LSN only after Take/Wait returned its
// OK status, on the reader thread: the worker never talks to PostgreSQL.
//
// RunParallel runs a flush's per-table commits side by side (each table has its own writer and
// DuckDB connection).
//
// Thread-safety: Start, TryTake, Wait and busy are called from one thread (the pipeline's);
// the work runs on the worker thread. Start hands over everything the work touches until
// TryTake or Wait returns its status.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/result.h"

namespace freshet::pipeline {

class FlushWorker {
 public:
  FlushWorker();
  // Waits for work under way, then stops the thread.
  ~FlushWorker();
  FlushWorker(const FlushWorker&) = delete;
  FlushWorker& operator=(const FlushWorker&) = delete;

  // REQUIRES: !busy(). Runs `work` on the worker thread.
  void Start(std::function<Status()> work);
  // Work started and its status not yet taken.
  bool busy() const { return busy_; }
  // The status of the started work when it has finished (the worker is then idle again);
  // nullopt while it runs or when nothing was started.
  std::optional<Status> TryTake();
  // Waits for the started work and returns its status; OK when nothing was started.
  Status Wait();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<Status()> work_;  // guarded by mu_: set by Start, taken by the thread
  std::optional<Status> result_;  // guarded by mu_: set by the thread when done
  bool stopping_ = false;         // guarded by mu_
  bool busy_ = false;             // the owner's view: started and not taken
  std::thread thread_;
};

// Runs every task, on the calling thread and up to `threads - 1` helper threads, and returns
// the first failure (in task order) or OK. Each task runs exactly once.
Status RunParallel(const std::vector<std::function<Status()>>& tasks, size_t threads);

}  // namespace freshet::pipeline
