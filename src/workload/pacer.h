#pragma once

// Pacer: spreads work evenly at a target rate. Given when a run started and how many units
// are done, it says when the next unit is due. Pure arithmetic, so tests need no clock.

#include <chrono>
#include <cstdint>

namespace freshet::workload {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  // `units_per_second` <= 0 means as fast as possible.
  Pacer(Clock::time_point start, double units_per_second)
      : start_(start), units_per_second_(units_per_second) {}

  // The moment by which `done` units should have been completed at the target rate.
  Clock::time_point DueTime(uint64_t done) const {
    if (units_per_second_ <= 0) return start_;
    auto offset = std::chrono::duration<double>(static_cast<double>(done) / units_per_second_);
    return start_ + std::chrono::duration_cast<Clock::duration>(offset);
  }

 private:
  Clock::time_point start_;
  double units_per_second_;
};

}  // namespace freshet::workload
