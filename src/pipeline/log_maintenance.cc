#include "pipeline/log_maintenance.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "lake/checkpoint.h"
#include "lake/optimize.h"

namespace freshet::pipeline {

int64_t CheckpointInterval(const lake::Snapshot& snapshot) {
  if (auto configured = snapshot.Configuration("delta.checkpointInterval")) {
    return std::atoll(configured->c_str());
  }
  return 10;
}

// UpsertWriter::MaybeCompact's rule, on a snapshot.
bool CompactionDue(const lake::Snapshot& snapshot, const CompactionPolicy& policy) {
  int64_t records = 0;
  int64_t deleted = 0;
  for (const lake::AddFile& add : snapshot.files()) {
    records += add.NumRecords().value_or(0);
    if (add.deletion_vector) deleted += add.deletion_vector->cardinality;
  }
  bool too_many_files =
      policy.file_count > 0 && static_cast<int64_t>(snapshot.files().size()) > policy.file_count;
  bool too_many_deleted =
      policy.deleted_share > 0 && records > 0 && deleted >= policy.min_deleted_rows &&
      static_cast<double>(deleted) > policy.deleted_share * static_cast<double>(records);
  return too_many_files || too_many_deleted;
}

Result<std::unique_ptr<LogMaintenance>> LogMaintenance::Start(lake::FileSystem& fs,
                                                              engine::Database& database,
                                                              CompactionPolicy policy) {
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database.Connect());
  return std::unique_ptr<LogMaintenance>(new LogMaintenance(fs, std::move(connection), policy));
}

LogMaintenance::LogMaintenance(lake::FileSystem& fs, engine::Connection connection,
                               CompactionPolicy policy)
    : fs_(fs), connection_(std::move(connection)), policy_(policy), thread_([this] { Loop(); }) {}

LogMaintenance::~LogMaintenance() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    paused_ = false;
  }
  cv_.notify_all();
  thread_.join();
}

void LogMaintenance::Schedule(const Table& table, lake::Version version) {
  {
    std::lock_guard lock(mu_);
    auto [entry, added] = waiting_.try_emplace(table.path, table, version);
    if (!added) entry->second.second = std::max(entry->second.second, version);
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

void LogMaintenance::Pause() {
  std::unique_lock lock(mu_);
  paused_ = true;
  cv_.wait(lock, [&] { return !busy_; });
}

void LogMaintenance::Resume() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  cv_.notify_all();
}

uint64_t LogMaintenance::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

uint64_t LogMaintenance::compacted() const {
  std::lock_guard lock(mu_);
  return compacted_;
}

void LogMaintenance::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (waiting_.empty() || paused_) && !busy_; });
}

void LogMaintenance::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || (!paused_ && (!waiting_.empty() || release_)); });
    // Waiting checkpoints are still written when stopping: a restart then reads from them.
    if (stopping_ && waiting_.empty()) return;
    if (waiting_.empty()) {
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
    Table table = next->second.first;
    lake::Version version = next->second.second;
    waiting_.erase(next);
    // No compaction once stopping: the checkpoint is quick, a compaction may not be.
    if (stopping_) table.writer_lock = nullptr;
    busy_ = true;
    lock.unlock();
    auto start = std::chrono::steady_clock::now();
    Result<bool> compacted = Maintain(table, version);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (compacted.ok()) {
      spdlog::debug("maintenance of {} at version {}: checkpoint{} in {} ms", table.path, version,
                    *compacted ? " and compaction" : "", took);
    } else {
      spdlog::warn("maintenance of {} at version {} failed (readers have more to read): {}",
                   table.path, version, compacted.status().message());
    }
    lock.lock();
    busy_ = false;
    if (compacted.ok()) {
      ++written_;
      if (*compacted) ++compacted_;
    }
    cv_.notify_all();
  }
}

// What Transaction::Commit does after a commit at a checkpoint version: the checkpoint, then
// (delta.enableExpiredLogCleanup, on by default) removal of log files past
// delta.logRetentionDuration. Then what UpsertWriter::Apply does after a commit: compaction
// when a threshold is passed.
Result<bool> LogMaintenance::Maintain(const Table& table, lake::Version version) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot,
                           lake::CheckpointVersion(fs_, connection_, table.path, version, now_ms));
  if (table.writer_lock == nullptr || !CompactionDue(snapshot, policy_)) return false;
  lake::OptimizeOptions optimize = lake::AutomaticOptimizeOptions();
  optimize.writer.checkpoint_interval = 0;
  // DuckDB holds a rewrite's rows decompressed until it writes them (text several times its
  // size in the file), beside the flushes' commits: small steps keep the memory peak low, and
  // since a rewrite no longer holds the writer lock, more of them cost only their commits.
  optimize.max_input_bytes = int64_t{8} << 20;
  // A threshold passed by files the options leave alone (each below its own deleted share)
  // would otherwise start an empty compaction at every checkpoint.
  std::vector<const lake::AddFile*> files;
  for (const lake::AddFile& add : snapshot.files()) files.push_back(&add);
  if (lake::PlanOptimize(files, optimize).empty()) return false;
  lake::OptimizeResult result;
  if (table.commit_compaction) {
    FRESHET_ASSIGN_OR_RETURN(lake::Transaction staged,
                             lake::Transaction::Begin(fs_, connection_, snapshot, optimize.writer));
    FRESHET_ASSIGN_OR_RETURN(lake::OptimizeResult rewritten,
                             lake::StageOptimize(fs_, connection_, staged, optimize));
    if (rewritten.files_removed == 0) return false;
    std::lock_guard writer(*table.writer_lock);
    FRESHET_ASSIGN_OR_RETURN(result,
                             table.commit_compaction(connection_, staged, std::move(rewritten)));
  } else {
    std::lock_guard writer(*table.writer_lock);
    FRESHET_ASSIGN_OR_RETURN(result, lake::Optimize(fs_, connection_, table.path, optimize));
  }
  if (result.files_removed == 0) return false;
  if (table.compactions != nullptr) table.compactions->Increment();
  return true;
}

}  // namespace freshet::pipeline
