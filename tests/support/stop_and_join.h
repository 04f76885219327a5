#pragma once

// StopAndJoin: on scope exit, sets a background thread's stop flag and joins it. Tests that
// run a writer thread hold one, so an assertion that returns early never destroys a joinable
// thread (std::terminate) or leaves the writer running.

#include <atomic>
#include <thread>

namespace freshet::testing {

class StopAndJoin {
 public:
  StopAndJoin(std::atomic<bool>& stop, std::thread& thread) : stop_(stop), thread_(thread) {}
  StopAndJoin(const StopAndJoin&) = delete;
  StopAndJoin& operator=(const StopAndJoin&) = delete;
  ~StopAndJoin() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool>& stop_;
  std::thread& thread_;
};

}  // namespace freshet::testing
