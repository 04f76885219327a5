#include "lake/vacuum.h"

#include <chrono>
#include <set>

#include "lake/actions.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"

namespace freshet::lake {
namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Hidden entries start with '.' or '_' (_delta_log); a partition folder of a column whose
// name starts with '_' ("_p=1") is not hidden.
bool IsHidden(const FileInfo& entry) {
  if (entry.name.empty() || entry.name[0] == '.') return true;
  if (entry.name[0] != '_') return false;
  return !(entry.is_directory && entry.name.find('=') != std::string::npos);
}

// Every file under `folder`, recursively, except hidden entries.
Status ListFiles(FileSystem& fs, const std::string& folder, std::vector<FileInfo>& out) {
  FRESHET_ASSIGN_OR_RETURN(auto entries, fs.List(folder));
  for (FileInfo& entry : entries) {
    if (IsHidden(entry)) continue;
    if (entry.is_directory) {
      FRESHET_RETURN_IF_ERROR(ListFiles(fs, entry.path, out));
    } else {
      out.push_back(std::move(entry));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<VacuumResult> Vacuum(FileSystem& fs, engine::Connection& connection,
                            const std::string& table_path, const VacuumOptions& options) {
  if (options.retain_hours < 0) {
    return Status::InvalidArgument("retention of {} hours is negative", options.retain_hours);
  }
  int64_t now = options.now_ms ? options.now_ms() : SystemNowMs();
  int64_t cutoff = now - options.retain_hours * 3600 * 1000;
  FRESHET_ASSIGN_OR_RETURN(auto history, History(fs, table_path));
  if (history.empty()) return Status::NotFound("{} has no commits", table_path);
  VacuumResult result;
  result.oldest_retained_version = history.front().version;
  for (const CommitEntry& entry : history) {
    if (entry.timestamp_ms <= cutoff) result.oldest_retained_version = entry.version;
  }
  Version latest = history.back().version;

  // Every version from the oldest retained one on references the files of that version's
  // snapshot or files a later commit added; the change feed of those versions reads the
  // change-data files their commits added. One snapshot and one pass over the commits, not a
  // snapshot per version (a streaming table makes thousands of versions a day).
  std::set<std::string> needed;
  auto need_add = [&](const AddFile& add) -> Status {
    FRESHET_ASSIGN_OR_RETURN(std::string path, ResolveDataPath(table_path, add.path));
    needed.insert(path);
    if (add.deletion_vector && add.deletion_vector->storage_type != "i") {
      FRESHET_ASSIGN_OR_RETURN(std::string dv,
                               DeletionVectorPath(table_path, *add.deletion_vector));
      needed.insert(dv);
    }
    return Status::Ok();
  };
  auto base = Snapshot::Load(fs, connection, table_path, result.oldest_retained_version);
  if (!base.ok()) return base.status().WithContext("vacuum needs every retained version");
  for (const AddFile& add : base->files()) FRESHET_RETURN_IF_ERROR(need_add(add));
  for (Version version = result.oldest_retained_version; version <= latest; ++version) {
    std::string commit = JoinPath(LogPath(table_path), CommitFileName(version));
    auto text = fs.Get(commit);
    if (!text.ok()) return text.status().WithContext("vacuum needs every retained version");
    ActionSet actions;
    FRESHET_RETURN_IF_ERROR(ParseActions(*text, commit, actions));
    if (version > result.oldest_retained_version) {
      for (const AddFile& add : actions.adds) FRESHET_RETURN_IF_ERROR(need_add(add));
    }
    for (const AddCdcFile& cdc : actions.cdcs) {
      FRESHET_ASSIGN_OR_RETURN(std::string path, ResolveDataPath(table_path, cdc.path));
      needed.insert(path);
    }
  }

  std::vector<FileInfo> files;
  FRESHET_RETURN_IF_ERROR(ListFiles(fs, table_path, files));
  // Change-data files live in the hidden _change_data folder (per partition below it).
  std::string change_data = JoinPath(table_path, "_change_data");
  if (fs.Head(change_data).ok()) FRESHET_RETURN_IF_ERROR(ListFiles(fs, change_data, files));
  for (const FileInfo& file : files) {
    if (needed.count(file.path) > 0 || file.modification_time_ms > cutoff) {
      ++result.kept_files;
      continue;
    }
    if (!options.dry_run) {
      Status deleted = fs.Delete(file.path);
      if (!deleted.ok() && !deleted.Is(Code::kNotFound)) return deleted;
    }
    result.deleted.push_back(file.path);
    result.deleted_bytes += file.size_bytes;
  }
  return result;
}

}  // namespace freshet::lake
