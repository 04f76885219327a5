#include "server/pgwire/interrupter.h"

#include <vector>

namespace freshet::server::pgwire {

bool QueryInterrupter::Begin() {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return false;
  running_ = true;
  reason_ = InterruptReason::kNone;
  return true;
}

InterruptReason QueryInterrupter::End() {
  std::lock_guard lock(mutex_);
  running_ = false;
  return reason_;
}

void QueryInterrupter::Interrupt(InterruptReason reason) {
  std::lock_guard lock(mutex_);
  if (reason == InterruptReason::kShutdown) shutting_down_ = true;
  if (!running_ || connection_ == nullptr) return;
  if (reason_ == InterruptReason::kNone) reason_ = reason;
  connection_->Interrupt();
}

void QueryInterrupter::Detach() {
  std::lock_guard lock(mutex_);
  connection_ = nullptr;
}

Watchdog::Watchdog() : thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t Watchdog::ArmTimeout(std::chrono::steady_clock::time_point deadline,
                              std::weak_ptr<QueryInterrupter> target) {
  return Arm(deadline, [target = std::move(target)] {
    if (auto interrupter = target.lock()) {
      interrupter->Interrupt(InterruptReason::kStatementTimeout);
    }
  });
}

uint64_t Watchdog::Arm(std::chrono::steady_clock::time_point deadline,
                       std::function<void()> action) {
  uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    entries_.emplace(id, Entry{deadline, std::move(action)});
  }
  wake_.notify_all();
  return id;
}

void Watchdog::Disarm(uint64_t id) {
  std::lock_guard lock(mutex_);
  entries_.erase(id);
}

void Watchdog::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<std::function<void()>> due;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.deadline <= now) {
        due.push_back(it->second.action);
        // Fire again until disarmed: DuckDB may not have started the statement yet when the
        // first interrupt lands.
        it->second.deadline = now + std::chrono::milliseconds(50);
        next = std::min(next, it->second.deadline);
        ++it;
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& action : due) action();
      lock.lock();
    }
    wake_.wait_until(lock, next);
  }
}

}  // namespace freshet::server::pgwire
