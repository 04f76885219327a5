#include "pipeline/flush_worker.h"

#include <algorithm>
#include <atomic>
#include <utility>

namespace freshet::pipeline {

FlushWorker::FlushWorker() : thread_([this] { Loop(); }) {}

FlushWorker::~FlushWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void FlushWorker::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || work_ != nullptr; });
    // Work already started finishes even when stopping: a commit is never cut off by
    // the destructor (the pipeline waits for it before it goes away anyway).
    if (work_ == nullptr) return;
    std::function<Status()> work = std::move(work_);
    work_ = nullptr;
    lock.unlock();
    Status status = work();
    lock.lock();
    result_ = std::move(status);
    cv_.notify_all();
  }
}

void FlushWorker::Start(std::function<Status()> work) {
  {
    std::lock_guard lock(mu_);
    work_ = std::move(work);
    result_.reset();
  }
  busy_ = true;
  cv_.notify_all();
}

std::optional<Status> FlushWorker::TryTake() {
  if (!busy_) return std::nullopt;
  std::lock_guard lock(mu_);
  if (!result_) return std::nullopt;
  busy_ = false;
  return std::exchange(result_, std::nullopt);
}

Status FlushWorker::Wait() {
  if (!busy_) return Status::Ok();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return result_.has_value(); });
  busy_ = false;
  return *std::exchange(result_, std::nullopt);
}

Status RunParallel(const std::vector<std::function<Status()>>& tasks, size_t threads) {
  std::vector<Status> results(tasks.size());
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t index = next++; index < tasks.size(); index = next++) {
      results[index] = tasks[index]();
    }
  };
  std::vector<std::thread> helpers;
  size_t wanted = std::min(tasks.size(), std::max<size_t>(threads, 1)) - (tasks.empty() ? 0 : 1);
  for (size_t helper = 0; helper < wanted; ++helper) helpers.emplace_back(drain);
  drain();
  for (std::thread& helper : helpers) helper.join();
  for (Status& status : results) {
    if (!status.ok()) return std::move(status);
  }
  return Status::Ok();
}

}  // namespace freshet::pipeline
