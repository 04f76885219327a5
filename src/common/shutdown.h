#pragma once

// ShutdownSignal: turns SIGINT and SIGTERM into a graceful-shutdown request.
//
// The first signal sets the request; long-running loops poll Requested(), block in
// WaitFor(), or add fd() to their poll set. A second signal while shutdown is under way ends
// the process at once (exit code 128 + signal), the usual answer to an impatient Ctrl-C.
// Only one ShutdownSignal may be installed at a time, because signal dispositions are
// process-wide; the destructor restores the previous handlers. Thread-safe.

#include <chrono>
#include <memory>

#include "common/result.h"

namespace freshet {

class ShutdownSignal {
 public:
  // AlreadyExists when another ShutdownSignal is installed in this process.
  static Result<std::unique_ptr<ShutdownSignal>> Install();

  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;
  ~ShutdownSignal();

  bool Requested() const;
  // The signal that asked for shutdown, 0 when Request() was called or none has.
  int signal_number() const;
  // Blocks until shutdown is requested or `timeout` passes; true when requested.
  bool WaitFor(std::chrono::milliseconds timeout) const;
  // Readable once shutdown is requested; for poll()/select() loops. Never read from it.
  int fd() const;
  // Requests shutdown from inside the process (a fatal error, a test).
  void Request();

 private:
  ShutdownSignal() = default;
};

}  // namespace freshet
