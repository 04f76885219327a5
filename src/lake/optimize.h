#pragma once

// Optimize: compaction of a Delta table. Small files and files with deleted rows (deletion
// vectors) are rewritten into files of about `target_file_bytes` holding only their live rows;
// the commit ("OPTIMIZE") removes the old files and adds the new ones with dataChange=false,
// so the table's contents do not change, only its layout. Writers holding a KeyIndex notice
// the new version and rebuild it (UpsertWriter does so on its next batch; its own compactions,
// UpsertWriter::Compact, move the index entries instead). Partitioned tables are compacted per
// partition (a new file never mixes partitions); column-mapped tables are written under their
// physical names.
//
// A run may take a subset: files whose own deleted share is below `min_file_deleted_share`
// stay unless they are small, and `max_input_bytes` bounds the bytes one run reads (files
// with the largest deleted share first, then the smallest), so a compaction step stays short
// and the files left over are taken by the next run. Each new file holds the live rows of its
// input files in input order (file order, then row position), as OptimizeResult::rewrites
// lists them.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/table_writer.h"

namespace freshet::lake {

struct OptimizeOptions {
  int64_t target_file_bytes = int64_t{128} << 20;
  // Files below this share of the target are small: they are always taken (and packed together).
  double small_file_share = 0.75;
  // A file that is not small is taken when at least this share of its rows is deleted by its
  // deletion vector; 0 takes every file with a deleted row.
  double min_file_deleted_share = 0;
  // Bytes of input files one run rewrites at most (0: unbounded). The first file is always
  // taken, even when larger on its own.
  int64_t max_input_bytes = 0;
  WriterOptions writer;
};

// The options of a writer's automatic compaction (UpsertOptions::optimize): files of a few
// MB and up are rewritten only once a fifth of their rows is deleted, and one step reads at
// most 32 MB, so a stream of updates spread over a table does not rewrite all of it each time.
inline OptimizeOptions AutomaticOptimizeOptions() {
  OptimizeOptions options;
  options.small_file_share = 1.0 / 16;  // 8 MB of the 128 MB target
  options.min_file_deleted_share = 0.2;
  options.max_input_bytes = int64_t{32} << 20;
  return options;
}

// One new file of a compaction and the files it replaces, whose live rows it holds in this
// order (file by file, each in row order without its deleted rows).
struct OptimizeRewrite {
  std::vector<std::string> inputs;             // add.path of each input file
  std::vector<int64_t> input_records;          // rows of each input file (numRecords)
  std::vector<std::vector<uint64_t>> deleted;  // sorted deleted rows of each input file
  std::vector<AddFile> outputs;                // the new file (none when no row was live)
};

struct OptimizeResult {
  Version version = -1;  // the version written, or the current one when nothing was due
  int64_t files_removed = 0;
  int64_t files_added = 0;
  int64_t deleted_rows_dropped = 0;
  int64_t bytes_read = 0;  // sizes of the files removed
  std::vector<OptimizeRewrite> rewrites;
};

Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, const OptimizeOptions& options = {});

// Optimize on an open transaction (its read snapshot), committed as "OPTIMIZE" when any file
// is due; the transaction then tells the committed snapshot. `connection` reads the files.
Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection, Transaction& txn,
                                const OptimizeOptions& options);

// Optimize's first half: writes the new files of a run on `txn` and stages its removes and
// adds, without committing (result.version is the read version). A writer that must not stop
// for a compaction stages it on another thread and commits it later on its own, newer snapshot
// (UpsertWriter::CommitStagedCompaction).
Result<OptimizeResult> StageOptimize(FileSystem& fs, engine::Connection& connection,
                                     Transaction& txn, const OptimizeOptions& options);

// The bins a run of Optimize rewrites from `files` (the live files of a snapshot), each the
// input of one new file: empty when nothing is due. Lets a writer decide whether a compaction
// would do anything before starting one.
std::vector<std::vector<const AddFile*>> PlanOptimize(const std::vector<const AddFile*>& files,
                                                      const OptimizeOptions& options);

}  // namespace freshet::lake
