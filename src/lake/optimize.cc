#include "lake/optimize.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"
#include "lake/scan.h"

namespace freshet::lake {
namespace {

// The share of `add`'s rows its deletion vector deletes (1 when the file has no row count).
double DeletedShare(const AddFile& add) {
  if (!add.deletion_vector) return 0;
  auto records = add.NumRecords();
  if (!records || *records <= 0) return 1;
  return static_cast<double>(add.deletion_vector->cardinality) / static_cast<double>(*records);
}

int64_t LiveBytes(const AddFile& add) {
  if (!add.deletion_vector) return add.size;
  auto records = add.NumRecords();
  if (!records || *records <= 0) return add.size;
  return add.size * (*records - add.deletion_vector->cardinality) / *records;
}

}  // namespace

std::vector<std::vector<const AddFile*>> PlanOptimize(const std::vector<const AddFile*>& files,
                                                      const OptimizeOptions& options) {
  auto small = static_cast<int64_t>(static_cast<double>(options.target_file_bytes) *
                                    options.small_file_share);
  std::vector<const AddFile*> candidates;
  for (const AddFile* add : files) {
    bool is_small = add->size < small;
    bool deleted = add->deletion_vector && DeletedShare(*add) >= options.min_file_deleted_share;
    if (is_small || deleted) candidates.push_back(add);
  }
  if (options.max_input_bytes > 0) {
    // The files that gain the most first: the largest deleted share, then the smallest.
    std::vector<const AddFile*> ranked = candidates;
    std::stable_sort(ranked.begin(), ranked.end(), [](const AddFile* a, const AddFile* b) {
      double share_a = DeletedShare(*a);
      double share_b = DeletedShare(*b);
      if (share_a != share_b) return share_a > share_b;
      return a->size < b->size;
    });
    std::set<const AddFile*> taken;
    int64_t bytes = 0;
    for (const AddFile* add : ranked) {
      if (!taken.empty() && bytes + add->size > options.max_input_bytes) continue;
      taken.insert(add);
      bytes += add->size;
    }
    // Kept in snapshot order.
    std::erase_if(candidates, [&](const AddFile* add) { return taken.count(add) == 0; });
  }

  // Grouped by partition: a bin never mixes partitions, so each new file belongs to one
  // partition like the files it replaces.
  std::map<std::string, std::vector<const AddFile*>> partitions;
  for (const AddFile* add : candidates) {
    std::string key;
    for (const auto& [column, value] : add->partition_values) {
      key += fmt::format("{}={}\x1f", column, value ? "v" + *value : "null");
    }
    partitions[key].push_back(add);
  }
  // Bins of candidate files, each about the target size (estimated from live rows).
  std::vector<std::vector<const AddFile*>> bins;
  for (const auto& [partition, partition_files] : partitions) {
    bins.emplace_back();
    int64_t bin_bytes = 0;
    for (const AddFile* add : partition_files) {
      int64_t live_bytes = LiveBytes(*add);
      if (bin_bytes > 0 && bin_bytes + live_bytes > options.target_file_bytes) {
        bins.emplace_back();
        bin_bytes = 0;
      }
      bins.back().push_back(add);
      bin_bytes += live_bytes;
    }
  }
  // A bin of one file without deleted rows would be rewritten as it is.
  std::erase_if(bins, [](const std::vector<const AddFile*>& bin) {
    return bin.empty() || (bin.size() == 1 && !bin[0]->deletion_vector);
  });
  return bins;
}

Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, const OptimizeOptions& options) {
  FRESHET_ASSIGN_OR_RETURN(Transaction txn,
                           Transaction::Begin(fs, connection, table_path, options.writer));
  return Optimize(fs, connection, txn, options);
}

Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection, Transaction& txn,
                                const OptimizeOptions& options) {
  FRESHET_ASSIGN_OR_RETURN(OptimizeResult result, StageOptimize(fs, connection, txn, options));
  if (result.files_removed == 0) return result;
  FRESHET_ASSIGN_OR_RETURN(result.version, txn.Commit("OPTIMIZE"));
  return result;
}

Result<OptimizeResult> StageOptimize(FileSystem& fs, engine::Connection& connection,
                                     Transaction& txn, const OptimizeOptions& options) {
  const Snapshot& snapshot = txn.read_snapshot();
  const std::string& table_path = snapshot.table_path();
  OptimizeResult result;
  result.version = snapshot.version();
  std::vector<const AddFile*> files;
  files.reserve(snapshot.files().size());
  for (const AddFile& add : snapshot.files()) files.push_back(&add);

  for (const auto& bin : PlanOptimize(files, options)) {
    // Read like a scan (partition values, column mapping, type widening), without the deleted
    // rows; Append writes them back under the physical names, in the order read.
    OptimizeRewrite rewrite;
    std::vector<ScanFile> scan_files;
    for (const AddFile* add : bin) {
      ScanFile file;
      file.path = add->path;
      file.partition_values = add->partition_values;
      file.rows_mode = ScanFile::Rows::kExcept;
      if (add->deletion_vector) {
        auto rows = LoadDeletionVector(fs, table_path, *add->deletion_vector);
        if (!rows.ok()) return rows.status().WithContext("deletion vector of " + add->path);
        result.deleted_rows_dropped += static_cast<int64_t>(rows->size());
        file.rows = std::move(rows).value();
        std::sort(file.rows.begin(), file.rows.end());
      }
      rewrite.inputs.push_back(add->path);
      rewrite.input_records.push_back(add->NumRecords().value_or(-1));
      rewrite.deleted.push_back(file.rows);
      result.bytes_read += add->size;
      scan_files.push_back(std::move(file));
    }
    FRESHET_ASSIGN_OR_RETURN(std::string sql, ScanFilesSql(fs, connection, snapshot, scan_files));
    if (!sql.empty()) {
      FRESHET_ASSIGN_OR_RETURN(rewrite.outputs, txn.Append(sql));
      result.files_added += static_cast<int64_t>(rewrite.outputs.size());
    }
    for (const AddFile* add : bin) FRESHET_RETURN_IF_ERROR(txn.Remove(add->path));
    result.files_removed += static_cast<int64_t>(bin.size());
    result.rewrites.push_back(std::move(rewrite));
  }
  txn.MarkNoDataChange();
  return result;
}

}  // namespace freshet::lake
