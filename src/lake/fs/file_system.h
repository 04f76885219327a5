#pragma once

// FileSystem: the one path from lake/ to table files, local or remote.
//
// Object-store semantics, not POSIX: whole-object Get/Put, ranged reads, listing by folder,
// and PutIfAbsent, the Delta commit primitive (a commit file is never overwritten). Paths are
// plain strings joined with '/'; for LocalFileSystem they are local paths.
//
// Codes: NotFound when an object does not exist, AlreadyExists when PutIfAbsent finds the
// object present, IOError for any other failure of the store. Implementations are
// thread-safe: one instance may be shared by every thread of the process.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace freshet::lake {

struct FileInfo {
  std::string path;  // full path, as passed to List plus the entry name
  std::string name;  // last path component
  int64_t size_bytes = 0;
  int64_t modification_time_ms = 0;  // milliseconds since the Unix epoch
  bool is_directory = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The whole object.
  virtual Result<std::string> Get(const std::string& path) = 0;
  // `length` bytes from `offset`; Corruption when the object is shorter (a short read).
  virtual Result<std::string> GetRange(const std::string& path, int64_t offset, int64_t length) = 0;
  // Size and modification time.
  virtual Result<FileInfo> Head(const std::string& path) = 0;
  // Writes `data` atomically: readers see the old object or the new one, never a part.
  // Missing parent folders are created. Replaces an existing object.
  virtual Status Put(const std::string& path, std::string_view data) = 0;
  // Like Put, but AlreadyExists (and no change) when `path` exists. Atomic against other
  // writers using PutIfAbsent on the same path: exactly one of them succeeds.
  virtual Status PutIfAbsent(const std::string& path, std::string_view data) = 0;
  // Entries directly inside folder `path`, sorted by name. NotFound when it does not exist.
  virtual Result<std::vector<FileInfo>> List(const std::string& path) = 0;
  // Like List, but only `path`, `name` and `is_directory` are filled: cheaper where sizes and
  // times cost a call per entry (a local folder), the same as List elsewhere.
  virtual Result<std::vector<FileInfo>> ListNames(const std::string& path) { return List(path); }
  // Removes an object. NotFound when it does not exist.
  virtual Status Delete(const std::string& path) = 0;
};

// The local disk. Put writes a temporary file in the same folder, fsyncs it and renames it
// over the target; PutIfAbsent links the temporary file to the target (link(2) fails with
// EEXIST rather than replace), so a half-written commit file is never visible.
//
// With `defer_data_sync`, a PutIfAbsent outside a `_delta_log` folder (a data, change-data or
// deletion-vector file) returns before its bytes and its folder entry are durable: they become
// durable, together with the table's other deferred files, before the next Put or PutIfAbsent
// into that table's `_delta_log` folder (a commit, checkpoint or `_last_checkpoint`; the table
// is the folder holding `_delta_log`, and its files are those under it) through this instance
// or a copy of it writes anything, or at SyncDeferred. A Delta table references such a file
// only from a later commit, so after a crash a file that lost its bytes is referenced by no
// commit (vacuum's orphan); meanwhile one commit makes all its files durable at once (their
// writeback starts when they are put, and one journal commit covers them) instead of two
// fsyncs per file. Only for writers whose commits go through the same instance.
struct LocalFileSystemOptions {
  bool defer_data_sync = false;
};

class LocalFileSystem : public FileSystem {
 public:
  LocalFileSystem() = default;
  explicit LocalFileSystem(LocalFileSystemOptions options);

  // Makes every deferred file (and its folder entry) durable; the first failure, after which
  // those files are forgotten (their commits must fail: a later commit does not retry them).
  Status SyncDeferred();
  // Files put and not yet made durable (with defer_data_sync).
  size_t DeferredCount() const;

  Result<std::string> Get(const std::string& path) override;
  Result<std::string> GetRange(const std::string& path, int64_t offset, int64_t length) override;
  Result<FileInfo> Head(const std::string& path) override;
  Status Put(const std::string& path, std::string_view data) override;
  Status PutIfAbsent(const std::string& path, std::string_view data) override;
  Result<std::vector<FileInfo>> List(const std::string& path) override;
  Result<std::vector<FileInfo>> ListNames(const std::string& path) override;
  Status Delete(const std::string& path) override;

 private:
  struct Deferred;
  // Makes the deferred files of the table whose log holds `extra_path` (every table's when
  // empty) durable, fsyncing `extra_fd` (that log file, when >= 0) alongside.
  Status SyncDeferredWith(int extra_fd, const std::string& extra_path);
  // Shared by copies; null without defer_data_sync.
  std::shared_ptr<Deferred> deferred_;
};

// A forwarding wrapper for tests: FailNext(op, status) makes the next call of `op` whose path
// contains `path_substring` return `status` without reaching the wrapped store; each armed
// fault fires once. Thread-safe.
class FaultyFileSystem : public FileSystem {
 public:
  enum class Op { kGet, kGetRange, kHead, kPut, kPutIfAbsent, kList, kDelete };

  explicit FaultyFileSystem(FileSystem& base) : base_(base) {}

  void FailNext(Op op, Status status, std::string path_substring = "");
  // Number of faults armed but not yet fired.
  size_t PendingFaults() const;

  Result<std::string> Get(const std::string& path) override;
  Result<std::string> GetRange(const std::string& path, int64_t offset, int64_t length) override;
  Result<FileInfo> Head(const std::string& path) override;
  Status Put(const std::string& path, std::string_view data) override;
  Status PutIfAbsent(const std::string& path, std::string_view data) override;
  Result<std::vector<FileInfo>> List(const std::string& path) override;
  // Fails with faults armed for kList.
  Result<std::vector<FileInfo>> ListNames(const std::string& path) override;
  Status Delete(const std::string& path) override;

 private:
  struct Fault {
    Op op;
    Status status;
    std::string path_substring;
  };
  // The armed fault for (op, path), removed from the list; OK when none matches.
  Status Take(Op op, const std::string& path);

  FileSystem& base_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;  // guarded by mu_
};

// "a/b" + "c" -> "a/b/c"; keeps a single separator.
std::string JoinPath(std::string_view folder, std::string_view name);

}  // namespace freshet::lake
