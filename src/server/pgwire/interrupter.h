#pragma once

// Stopping a session's running statement from other threads: a CancelRequest arriving on
// another connection, the statement timeout, or server shutdown. QueryInterrupter wraps the
// session's DuckDB connection and interrupts only while a statement runs, so a late cancel
// never hits the next statement; it remembers why it interrupted so the session can report
// "canceling statement due to user request" or "... due to statement timeout". Watchdog is
// one thread that runs actions (interrupts, socket shutdowns) whose deadline passed. Both are
// thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/database.h"

namespace freshet::server::pgwire {

enum class InterruptReason { kNone, kCancelRequest, kStatementTimeout, kShutdown };

class QueryInterrupter {
 public:
  explicit QueryInterrupter(engine::Connection* connection) : connection_(connection) {}

  // Around each statement run by the owning session. Begin() is false once the server is
  // shutting down: the session must not start the statement.
  bool Begin();
  InterruptReason End();

  // From any thread; a no-op unless a statement runs, except kShutdown, which also refuses
  // every later Begin().
  void Interrupt(InterruptReason reason);
  // The owner calls this before its connection goes away.
  void Detach();

 private:
  std::mutex mutex_;
  engine::Connection* connection_;                   // guarded by mutex_
  bool running_ = false;                             // guarded by mutex_
  InterruptReason reason_ = InterruptReason::kNone;  // guarded by mutex_
  bool shutting_down_ = false;                       // guarded by mutex_
};

class Watchdog {
 public:
  Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog();

  // Calls `action` at `deadline`, and again every 50 ms, until disarmed. Actions run on the
  // watchdog's thread and must be quick (interrupt a statement, shut a socket).
  uint64_t Arm(std::chrono::steady_clock::time_point deadline, std::function<void()> action);
  // Interrupts `target` with kStatementTimeout at `deadline` until disarmed.
  uint64_t ArmTimeout(std::chrono::steady_clock::time_point deadline,
                      std::weak_ptr<QueryInterrupter> target);
  void Disarm(uint64_t id);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point deadline;
    std::function<void()> action;
  };
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<uint64_t, Entry> entries_;  // guarded by mutex_
  uint64_t next_id_ = 1;               // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  std::thread thread_;
};

}  // namespace freshet::server::pgwire
