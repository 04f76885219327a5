#include "lake/fs/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace freshet::lake {
namespace {

// Closes a file descriptor on scope exit.
class FdOwner {
 public:
  explicit FdOwner(int fd) : fd_(fd) {}
  FdOwner(const FdOwner&) = delete;
  FdOwner& operator=(const FdOwner&) = delete;
  ~FdOwner() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Gives up ownership.
  int Release() { return std::exchange(fd_, -1); }
  // Closes now, reporting the error that close(2) may carry for buffered writes.
  Status Close(const std::string& path) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Status::FromErrno(errno, "close " + path);
    return Status::Ok();
  }

 private:
  int fd_;
};

std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status MakeDirectories(const std::string& folder) {
  if (folder.empty() || folder == "." || folder == "/") return Status::Ok();
  struct stat st {};
  if (::stat(folder.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::IOError("{} exists and is not a folder", folder);
  }
  FRESHET_RETURN_IF_ERROR(MakeDirectories(ParentOf(folder)));
  if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "mkdir " + folder);
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string TempNameFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string name = path.substr(path.find_last_of('/') + 1);
  return fmt::format("{}/.{}.{}.{:x}.tmp", ParentOf(path), name, ::getpid(),
                     rng() ^ counter.fetch_add(1));
}

// Writes `data` to a fresh temporary file beside `path`, fsynced; returns its name. With
// `keep_open` (deferred durability) it is not fsynced: its writeback is started and the open
// descriptor handed over, so the later fsync reports any writeback error.
Result<std::string> WriteTemp(const std::string& path, std::string_view data,
                              int* keep_open = nullptr) {
  FRESHET_RETURN_IF_ERROR(MakeDirectories(ParentOf(path)));
  std::string temp = TempNameFor(path);
  FdOwner fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status::FromErrno(errno, "create " + temp);
  Status s = WriteAll(fd.get(), data, temp);
  if (keep_open != nullptr) {
    // Best effort: only starts writing the pages out, so the sync at the commit finds them
    // written; failures show at that fsync.
    if (s.ok()) ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
  } else if (s.ok() && ::fsync(fd.get()) != 0) {
    s = Status::FromErrno(errno, "fsync " + temp);
  }
  if (!s.ok()) {
    ::unlink(temp.c_str());  // the descriptor closes with `fd`
    return s;
  }
  if (keep_open != nullptr) {
    *keep_open = fd.Release();
    return temp;
  }
  s = fd.Close(temp);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  return temp;
}

// Deferred files kept open before they are synced without waiting for a commit.
constexpr size_t kMaxDeferredFiles = 256;

// Whether `path` is in a Delta log folder: a file there may reference deferred files.
bool InDeltaLog(const std::string& path) {
  return path.find("/_delta_log/") != std::string::npos || path.rfind("_delta_log/", 0) == 0;
}

void SyncFolder(const std::string& folder) {
  // Best effort: makes the new directory entry durable; some file systems refuse it.
  FdOwner fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

FileInfo InfoFromStat(const std::string& path, const struct stat& st) {
  FileInfo info;
  info.path = path;
  info.name = path.substr(path.find_last_of('/') + 1);
  info.size_bytes = st.st_size;
  info.modification_time_ms =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  info.is_directory = S_ISDIR(st.st_mode);
  return info;
}

}  // namespace

std::string JoinPath(std::string_view folder, std::string_view name) {
  if (folder.empty()) return std::string(name);
  std::string out(folder);
  if (out.back() != '/') out += '/';
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  out += name;
  return out;
}

Result<std::string> LocalFileSystem::Get(const std::string& path) {
  FdOwner fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno(errno, "open " + path);
  std::string out;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> LocalFileSystem::GetRange(const std::string& path, int64_t offset,
                                              int64_t length) {
  if (offset < 0 || length < 0) {
    return Status::InvalidArgument("read of {}: negative offset {} or length {}", path, offset,
                                   length);
  }
  FdOwner fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno(errno, "open " + path);
  std::string out(static_cast<size_t>(length), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + static_cast<int64_t>(done)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (n == 0) {
      return Status::Corruption(
          "{}: short read, wanted {} bytes at offset {} but the file ends "
          "after {}",
          path, length, offset, offset + static_cast<int64_t>(done));
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<FileInfo> LocalFileSystem::Head(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  return InfoFromStat(path, st);
}

// Files put with deferred durability: their open descriptors.
struct LocalFileSystem::Deferred {
  std::mutex mu;                                   // guards files and table_locks
  std::vector<std::pair<int, std::string>> files;  // descriptor, path
  // Per table folder, held while its files are made durable: a commit that finds none left
  // must not pass another thread's sync (a checkpoint's) of files that may be its own.
  std::map<std::string, std::unique_ptr<std::mutex>> table_locks;
  // Shared by a table's sync, exclusive for SyncDeferred (every table).
  std::shared_mutex all;

  ~Deferred() {
    for (auto& file : files) ::close(file.first);
  }
};

LocalFileSystem::LocalFileSystem(LocalFileSystemOptions options) {
  if (options.defer_data_sync) deferred_ = std::make_shared<Deferred>();
}

size_t LocalFileSystem::DeferredCount() const {
  if (!deferred_) return 0;
  std::lock_guard lock(deferred_->mu);
  return deferred_->files.size();
}

Status LocalFileSystem::SyncDeferred() { return SyncDeferredWith(-1, ""); }

Status LocalFileSystem::SyncDeferredWith(int log_fd, const std::string& log_path) {
  std::vector<std::pair<int, std::string>> files;
  std::set<std::string> folders;
  std::shared_lock<std::shared_mutex> some;
  std::unique_lock<std::shared_mutex> every;
  std::unique_lock<std::mutex> table;
  if (deferred_) {
    // A file in the log syncs only its table's files (those under the folder that holds
    // _delta_log): another table's compaction output must not hold up this commit.
    std::optional<std::string> prefix;
    if (!log_path.empty()) prefix = log_path.substr(0, log_path.rfind("_delta_log/"));
    if (prefix) {
      some = std::shared_lock(deferred_->all);
      std::mutex* table_mu;
      {
        std::lock_guard lock(deferred_->mu);
        auto& slot = deferred_->table_locks[*prefix];
        if (!slot) slot = std::make_unique<std::mutex>();
        table_mu = slot.get();
      }
      table = std::unique_lock(*table_mu);
    } else {
      every = std::unique_lock(deferred_->all);
    }
    std::lock_guard lock(deferred_->mu);
    auto mine = [&](const std::pair<int, std::string>& file) {
      return !prefix || file.second.compare(0, prefix->size(), *prefix) == 0;
    };
    auto split = std::stable_partition(deferred_->files.begin(), deferred_->files.end(),
                                       [&](const auto& file) { return !mine(file); });
    files.assign(std::make_move_iterator(split), std::make_move_iterator(deferred_->files.end()));
    deferred_->files.erase(split, deferred_->files.end());
  }
  for (const auto& file : files) folders.insert(ParentOf(file.second));
  // What to fsync: the deferred files, their folders (best effort, like SyncFolder: some file
  // systems refuse to fsync a folder) and the caller's file. All at once, a thread each: the
  // file system then commits their journal entries together, where one after the other costs
  // a journal commit each. On the development VM with a busy disk (about 4 ms per fsync), a
  // commit of three files went from 32 ms (two fsyncs per file, two for the commit) to 12 ms;
  // with an idle disk (0.2 ms per fsync) both take 2-4 ms.
  struct Target {
    int fd;
    const std::string* path;
    bool required;
    int error = 0;
  };
  std::vector<Target> targets;
  for (auto& [fd, path] : files) targets.push_back({fd, &path, true});
  for (const std::string& folder : folders) {
    int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) targets.push_back({fd, &folder, false});
  }
  if (log_fd >= 0) targets.push_back({log_fd, &log_path, true});
  auto sync = [](Target& target) {
    if (::fsync(target.fd) != 0) target.error = errno;
  };
  constexpr size_t kMaxThreads = 8;
  if (targets.size() <= 1) {
    for (Target& target : targets) sync(target);
  } else {
    std::atomic<size_t> next{0};
    auto drain = [&] {
      for (size_t i = next++; i < targets.size(); i = next++) sync(targets[i]);
    };
    std::vector<std::thread> helpers;
    for (size_t i = 1; i < std::min(targets.size(), kMaxThreads); ++i) helpers.emplace_back(drain);
    drain();
    for (std::thread& helper : helpers) helper.join();
  }
  for (const Target& target : targets) {
    if (target.fd != log_fd) ::close(target.fd);  // the deferred files and the folders
  }
  for (const Target& target : targets) {
    if (target.required && target.error != 0) {
      return Status::FromErrno(target.error, "fsync " + *target.path);
    }
  }
  return Status::Ok();
}

Status LocalFileSystem::Put(const std::string& path, std::string_view data) {
  if (deferred_ && InDeltaLog(path)) FRESHET_RETURN_IF_ERROR(SyncDeferredWith(-1, path));
  FRESHET_ASSIGN_OR_RETURN(std::string temp, WriteTemp(path, data));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status s = Status::FromErrno(errno, "rename " + temp + " to " + path);
    ::unlink(temp.c_str());
    return s;
  }
  SyncFolder(ParentOf(path));
  return Status::Ok();
}

Status LocalFileSystem::PutIfAbsent(const std::string& path, std::string_view data) {
  bool defer = deferred_ && !InDeltaLog(path);
  // A commit (with deferred files) is written unsynced, then synced together with them.
  bool commit = deferred_ && !defer;
  int kept = -1;
  FRESHET_ASSIGN_OR_RETURN(std::string temp,
                           WriteTemp(path, data, defer || commit ? &kept : nullptr));
  FdOwner deferred_fd(kept);
  if (commit) {
    // Every file the commit may reference is durable before its name appears.
    Status synced = SyncDeferredWith(deferred_fd.get(), path);
    Status closed = deferred_fd.Close(temp);
    if (synced.ok()) synced = closed;
    if (!synced.ok()) {
      ::unlink(temp.c_str());
      return synced;
    }
  }
  // link(2) never replaces an existing name, so of two racing writers exactly one wins, and
  // the winner's file is complete the moment its name appears.
  int rc = ::link(temp.c_str(), path.c_str());
  int error = errno;
  ::unlink(temp.c_str());
  if (rc != 0) {
    if (error == EEXIST) return Status::AlreadyExists("{} already exists", path);
    return Status::FromErrno(error, "link " + path);
  }
  if (defer) {
    size_t count = 0;
    {
      std::lock_guard lock(deferred_->mu);
      deferred_->files.emplace_back(deferred_fd.Release(), path);
      count = deferred_->files.size();
    }
    // Bounds the open descriptors when many files precede a commit (a large compaction).
    if (count >= kMaxDeferredFiles) return SyncDeferred();
    return Status::Ok();
  }
  SyncFolder(ParentOf(path));
  return Status::Ok();
}

namespace {

// Reads a folder's entries sorted by name. With `stat_each` every entry gets size and time
// (one fstatat each); without, only names and whether each is a folder (from d_type).
Result<std::vector<FileInfo>> ReadFolder(const std::string& path, bool stat_each) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return Status::FromErrno(errno, "list " + path);
  std::vector<FileInfo> out;
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return Status::FromErrno(errno, "list " + path);
      break;
    }
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string full = JoinPath(path, name);
    if (!stat_each && entry->d_type != DT_UNKNOWN) {
      FileInfo info;
      info.path = std::move(full);
      info.name = std::move(name);
      info.is_directory = entry->d_type == DT_DIR;
      out.push_back(std::move(info));
      continue;
    }
    struct stat st {};
    // fstatat on the open folder saves resolving the path again for each of its entries.
    if (::fstatat(::dirfd(dir.get()), entry->d_name, &st, 0) != 0) {
      if (errno == ENOENT) continue;  // removed while listing
      return Status::FromErrno(errno, "stat " + full);
    }
    out.push_back(InfoFromStat(full, st));
  }
  std::sort(out.begin(), out.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  return out;
}

}  // namespace

Result<std::vector<FileInfo>> LocalFileSystem::List(const std::string& path) {
  return ReadFolder(path, /*stat_each=*/true);
}

Result<std::vector<FileInfo>> LocalFileSystem::ListNames(const std::string& path) {
  return ReadFolder(path, /*stat_each=*/false);
}

Status LocalFileSystem::Delete(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "delete " + path);
  return Status::Ok();
}

void FaultyFileSystem::FailNext(Op op, Status status, std::string path_substring) {
  std::lock_guard lock(mu_);
  faults_.push_back({op, std::move(status), std::move(path_substring)});
}

size_t FaultyFileSystem::PendingFaults() const {
  std::lock_guard lock(mu_);
  return faults_.size();
}

Status FaultyFileSystem::Take(Op op, const std::string& path) {
  std::lock_guard lock(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op == op && path.find(it->path_substring) != std::string::npos) {
      Status s = std::move(it->status);
      faults_.erase(it);
      return s;
    }
  }
  return Status::Ok();
}

Result<std::string> FaultyFileSystem::Get(const std::string& path) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kGet, path));
  return base_.Get(path);
}

Result<std::string> FaultyFileSystem::GetRange(const std::string& path, int64_t offset,
                                               int64_t length) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kGetRange, path));
  return base_.GetRange(path, offset, length);
}

Result<FileInfo> FaultyFileSystem::Head(const std::string& path) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kHead, path));
  return base_.Head(path);
}

Status FaultyFileSystem::Put(const std::string& path, std::string_view data) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kPut, path));
  return base_.Put(path, data);
}

Status FaultyFileSystem::PutIfAbsent(const std::string& path, std::string_view data) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kPutIfAbsent, path));
  return base_.PutIfAbsent(path, data);
}

Result<std::vector<FileInfo>> FaultyFileSystem::List(const std::string& path) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kList, path));
  return base_.List(path);
}

Result<std::vector<FileInfo>> FaultyFileSystem::ListNames(const std::string& path) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kList, path));
  return base_.ListNames(path);
}

Status FaultyFileSystem::Delete(const std::string& path) {
  FRESHET_RETURN_IF_ERROR(Take(Op::kDelete, path));
  return base_.Delete(path);
}

}  // namespace freshet::lake
