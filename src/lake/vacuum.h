#pragma once

// Vacuum: deletes files in a table's folder that no version inside the retention period
// needs. The retention starts at the version that was current at (now - retain): that version
// and every later one stay readable (time travel), so every data and deletion-vector file any
// of them references is kept, and so is every change-data file (`_change_data/`) of their
// commits (the change feed of any version range inside the retention stays readable). Other
// files are deleted only when older than the cutoff too, so a concurrent writer's files not yet
// committed survive. `_delta_log` and other hidden entries (names starting with '_' or '.', but
// not partition folders such as "_p=1") are never touched.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"

namespace freshet::lake {

struct VacuumOptions {
  int64_t retain_hours = 7 * 24;
  bool dry_run = false;
  // Milliseconds since the epoch; injectable for tests.
  std::function<int64_t()> now_ms;
};

struct VacuumResult {
  Version oldest_retained_version = 0;
  std::vector<std::string> deleted;  // full paths (to delete, when dry_run)
  int64_t deleted_bytes = 0;
  int64_t kept_files = 0;
};

Result<VacuumResult> Vacuum(FileSystem& fs, engine::Connection& connection,
                            const std::string& table_path, const VacuumOptions& options = {});

}  // namespace freshet::lake
