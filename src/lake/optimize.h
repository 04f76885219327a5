#pragma once

// Optimize: compaction of a Delta table. Small files and files with deleted rows (deletion
// vectors) are rewritten into files of about `target_file_bytes` holding only their live rows;
// the commit ("OPTIMIZE") removes the old files and adds the new ones with dataChange=false,
// so the table's contents do not change, only its layout. Writers holding a KeyIndex notice
// the new version and rebuild it (UpsertWriter does so on its next batch). Partitioned tables
// are compacted per partition (a new file never mixes partitions); column-mapped tables are
// written under their physical names.

#include <cstdint>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/table_writer.h"

namespace freshet::lake {

struct OptimizeOptions {
  int64_t target_file_bytes = int64_t{128} << 20;
  // Files below this share of the target are small; a file with deleted rows is always taken.
  double small_file_share = 0.75;
  WriterOptions writer;
};

struct OptimizeResult {
  Version version = -1;  // the version written, or the current one when nothing was due
  int64_t files_removed = 0;
  int64_t files_added = 0;
  int64_t deleted_rows_dropped = 0;
};

Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, const OptimizeOptions& options = {});

}  // namespace freshet::lake
