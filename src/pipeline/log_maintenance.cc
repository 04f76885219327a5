#include "pipeline/log_maintenance.h"

#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <utility>

#include <spdlog/spdlog.h>

#include "lake/checkpoint.h"

namespace freshet::pipeline {

int64_t CheckpointInterval(const lake::Snapshot& snapshot) {
  if (auto configured = snapshot.Configuration("delta.checkpointInterval")) {
    return std::atoll(configured->c_str());
  }
  return 10;
}

Result<std::unique_ptr<LogMaintenance>> LogMaintenance::Start(lake::FileSystem& fs,
                                                              engine::Database& database) {
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database.Connect());
  return std::unique_ptr<LogMaintenance>(new LogMaintenance(fs, std::move(connection)));
}

LogMaintenance::LogMaintenance(lake::FileSystem& fs, engine::Connection connection)
    : fs_(fs), connection_(std::move(connection)), thread_([this] { Loop(); }) {}

LogMaintenance::~LogMaintenance() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LogMaintenance::Schedule(const std::string& table_path, lake::Version version) {
  {
    std::lock_guard lock(mu_);
    lake::Version& waiting = waiting_[table_path];
    waiting = std::max(waiting, version);
  }
  cv_.notify_all();
}

void LogMaintenance::ReleaseMemory() {
  {
    std::lock_guard lock(mu_);
    release_ = true;
  }
  cv_.notify_all();
}

uint64_t LogMaintenance::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

void LogMaintenance::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return waiting_.empty() && !busy_; });
}

void LogMaintenance::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !waiting_.empty() || release_; });
    // Waiting checkpoints are still written when stopping: a restart then reads from them.
    if (stopping_ && waiting_.empty()) return;
    if (release_ && waiting_.empty()) {
      release_ = false;
      auto now = std::chrono::steady_clock::now();
      if (now - last_release_ < std::chrono::seconds(1)) continue;
      last_release_ = now;
      busy_ = true;
      lock.unlock();
      malloc_trim(0);
      lock.lock();
      busy_ = false;
      cv_.notify_all();
      continue;
    }
    auto next = waiting_.begin();
    std::string table_path = next->first;
    lake::Version version = next->second;
    waiting_.erase(next);
    busy_ = true;
    lock.unlock();
    auto start = std::chrono::steady_clock::now();
    Status status = Checkpoint(table_path, version);
    if (status.ok()) {
      spdlog::debug("checkpoint of {} at version {} in {} ms", table_path, version,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count());
    } else {
      spdlog::warn("checkpoint of {} at version {} failed (readers replay more of the log): {}",
                   table_path, version, status.message());
    }
    lock.lock();
    busy_ = false;
    if (status.ok()) ++written_;
    cv_.notify_all();
  }
}

// What Transaction::Commit does after a commit at a checkpoint version: the checkpoint, then
// (delta.enableExpiredLogCleanup, on by default) removal of log files past
// delta.logRetentionDuration.
Status LogMaintenance::Checkpoint(const std::string& table_path, lake::Version version) {
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot,
                           lake::Snapshot::Load(fs_, connection_, table_path, version));
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  FRESHET_RETURN_IF_ERROR(lake::WriteCheckpoint(fs_, connection_, snapshot, now_ms));
  if (snapshot.Configuration("delta.enableExpiredLogCleanup").value_or("true") != "true") {
    return Status::Ok();
  }
  int64_t retention = lake::kDefaultLogRetentionMs;
  if (auto configured = snapshot.Configuration("delta.logRetentionDuration")) {
    auto parsed = lake::ParseIntervalMs(*configured);
    if (!parsed.ok()) return parsed.status().WithContext("delta.logRetentionDuration");
    retention = *parsed;
  }
  return lake::CleanupLog(fs_, table_path, now_ms, retention).status();
}

}  // namespace freshet::pipeline
