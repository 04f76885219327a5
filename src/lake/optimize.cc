#include "lake/optimize.h"

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"
#include "lake/scan.h"

namespace freshet::lake {

Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, const OptimizeOptions& options) {
  FRESHET_ASSIGN_OR_RETURN(Transaction txn,
                           Transaction::Begin(fs, connection, table_path, options.writer));
  const Snapshot& snapshot = txn.read_snapshot();
  OptimizeResult result;
  result.version = snapshot.version();

  // Candidate files, grouped by partition: a bin never mixes partitions, so each new file
  // belongs to one partition like the files it replaces.
  auto small = static_cast<int64_t>(static_cast<double>(options.target_file_bytes) *
                                    options.small_file_share);
  std::map<std::string, std::vector<const AddFile*>> partitions;
  for (const AddFile& add : snapshot.files()) {
    if (!add.deletion_vector && add.size >= small) continue;
    std::string key;
    for (const auto& [column, value] : add.partition_values) {
      key += fmt::format("{}={}\x1f", column, value ? "v" + *value : "null");
    }
    partitions[key].push_back(&add);
  }

  // Bins of candidate files, each about the target size (estimated from live rows).
  std::vector<std::vector<const AddFile*>> bins;
  for (const auto& [partition, files] : partitions) {
    bins.emplace_back();
    int64_t bin_bytes = 0;
    for (const AddFile* add : files) {
      int64_t live_bytes = add->size;
      if (add->deletion_vector) {
        auto records = add->NumRecords();
        if (records && *records > 0) {
          live_bytes = add->size * (*records - add->deletion_vector->cardinality) / *records;
        }
      }
      if (bin_bytes > 0 && bin_bytes + live_bytes > options.target_file_bytes) {
        bins.emplace_back();
        bin_bytes = 0;
      }
      bins.back().push_back(add);
      bin_bytes += live_bytes;
    }
  }

  for (const auto& bin : bins) {
    if (bin.empty() || (bin.size() == 1 && !bin[0]->deletion_vector)) continue;
    // Read like a scan (partition values, column mapping, type widening), without the deleted
    // rows; Append writes them back under the physical names.
    std::vector<ScanFile> files;
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
      }
      files.push_back(std::move(file));
    }
    FRESHET_ASSIGN_OR_RETURN(std::string sql, ScanFilesSql(fs, connection, snapshot, files));
    if (!sql.empty()) {
      FRESHET_ASSIGN_OR_RETURN(auto added, txn.Append(sql));
      result.files_added += static_cast<int64_t>(added.size());
    }
    for (const AddFile* add : bin) FRESHET_RETURN_IF_ERROR(txn.Remove(add->path));
    result.files_removed += static_cast<int64_t>(bin.size());
  }
  if (result.files_removed == 0) return result;
  txn.MarkNoDataChange();
  FRESHET_ASSIGN_OR_RETURN(result.version, txn.Commit("OPTIMIZE"));
  return result;
}

}  // namespace freshet::lake
