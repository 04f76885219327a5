#include "lake/optimize.h"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"

namespace freshet::lake {

Result<OptimizeResult> Optimize(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, const OptimizeOptions& options) {
  FRESHET_ASSIGN_OR_RETURN(Transaction txn,
                           Transaction::Begin(fs, connection, table_path, options.writer));
  const Snapshot& snapshot = txn.read_snapshot();
  OptimizeResult result;
  result.version = snapshot.version();
  if (!snapshot.metadata().partition_columns.empty() || snapshot.column_mapping_mode() != "none") {
    return Status::NotSupported("optimize of {}: partitioned or column-mapped tables", table_path);
  }
  std::string columns;
  for (const StructField& field : snapshot.schema().fields) {
    columns += fmt::format("{}CAST({} AS {}) AS {}", columns.empty() ? "" : ", ",
                           QuoteIdentifier(field.name), field.type.DuckDbType(),
                           QuoteIdentifier(field.name));
  }

  // Bins of candidate files, each about the target size (estimated from live rows).
  auto small = static_cast<int64_t>(static_cast<double>(options.target_file_bytes) *
                                    options.small_file_share);
  std::vector<std::vector<const AddFile*>> bins(1);
  int64_t bin_bytes = 0;
  for (const AddFile& add : snapshot.files()) {
    if (!add.deletion_vector && add.size >= small) continue;
    int64_t live_bytes = add.size;
    if (add.deletion_vector) {
      auto records = add.NumRecords();
      if (records && *records > 0) {
        live_bytes = add.size * (*records - add.deletion_vector->cardinality) / *records;
      }
    }
    if (bin_bytes > 0 && bin_bytes + live_bytes > options.target_file_bytes) {
      bins.emplace_back();
      bin_bytes = 0;
    }
    bins.back().push_back(&add);
    bin_bytes += live_bytes;
  }

  for (const auto& bin : bins) {
    if (bin.empty() || (bin.size() == 1 && !bin[0]->deletion_vector)) continue;
    std::string sql;
    for (const AddFile* add : bin) {
      FRESHET_ASSIGN_OR_RETURN(std::string path, ResolveDataPath(table_path, add->path));
      std::string select = fmt::format("SELECT {} FROM read_parquet({}, file_row_number = true)",
                                       columns, QuoteLiteral(path));
      if (add->deletion_vector) {
        auto rows = LoadDeletionVector(fs, table_path, *add->deletion_vector);
        if (!rows.ok()) return rows.status().WithContext("deletion vector of " + path);
        std::string list;
        for (uint64_t row : *rows) list += (list.empty() ? "" : ",") + std::to_string(row);
        if (!list.empty()) {
          select += fmt::format(
              " WHERE file_row_number NOT IN (SELECT CAST(unnest(string_split('{}', ',')) AS "
              "BIGINT))",
              list);
        }
        result.deleted_rows_dropped += static_cast<int64_t>(rows->size());
      }
      sql += (sql.empty() ? "" : " UNION ALL ") + ("(" + select + ")");
    }
    FRESHET_ASSIGN_OR_RETURN(auto added, txn.Append(sql));
    result.files_added += static_cast<int64_t>(added.size());
    for (const AddFile* add : bin) FRESHET_RETURN_IF_ERROR(txn.Remove(add->path));
    result.files_removed += static_cast<int64_t>(bin.size());
  }
  if (result.files_removed == 0) return result;
  txn.MarkNoDataChange();
  FRESHET_ASSIGN_OR_RETURN(result.version, txn.Commit("OPTIMIZE"));
  return result;
}

}  // namespace freshet::lake
