#pragma once

// Scan: turns a snapshot into SQL that DuckDB runs, one row per live row of the table.
//
// The SELECT reads each live data file with read_parquet, drops the rows its deletion vector
// marks (matched on file_row_number), adds partition values as constant columns, resolves
// column mapping (physical names, or Parquet field ids in id mode, nested fields included),
// fills columns a file lacks with NULL and casts every column to the table's current type
// (type widening). Columns come out in schema order under their logical names, typed as
// DataType::DuckDbType says. Files with the same Parquet schema, partition values and no
// deletion vector share one read_parquet call.
//
// Delta `timestamp` columns are TIMESTAMPTZ, `timestamp_ntz` TIMESTAMP; values stored with the
// other zone flag or as INT96 (Spark) convert through epoch microseconds, so the result does
// not depend on the session time zone.
// Errors: NotFound naming a missing data or DV file; Corruption for a bad deletion vector or
// partition value.

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/snapshot.h"

namespace freshet::lake {

struct ScanOptions {
  // The zone of timestamp partition values written without one ("2021-09-08 11:11:11"): the
  // writer's session time zone, which the log does not record.
  std::string partition_time_zone = "UTC";
};

struct ScanStats {
  int64_t files = 0;
  int64_t files_with_deletion_vectors = 0;
  int64_t deleted_rows = 0;
};

// A SELECT statement over the snapshot's rows. `connection` reads Parquet footers to learn
// each file's physical schema.
Result<std::string> ScanSql(FileSystem& fs, engine::Connection& connection,
                            const Snapshot& snapshot, const ScanOptions& options = {},
                            ScanStats* stats = nullptr);

// One file for ScanFilesSql: a data or change-data file of the table, all its rows or a subset.
struct ScanFile {
  enum class Rows { kAll, kExcept, kOnly };
  std::string path;  // relative to the table root, percent-encoded (as in add.path)
  PartitionValues partition_values;
  Rows rows_mode = Rows::kAll;
  std::vector<uint64_t> rows;  // row indexes for kExcept and kOnly
  // Appended to the select list (", expr AS name, ..."); may use the file's physical columns
  // and file_row_number.
  std::string extra_columns;
};

// The rows of `files`, read with the schema, column mapping and partition columns of
// `snapshot` (columns a file lacks read NULL), one SELECT per file joined by UNION ALL; empty
// when no file has rows to read. NotFound naming a missing file.
Result<std::string> ScanFilesSql(FileSystem& fs, engine::Connection& connection,
                                 const Snapshot& snapshot, const std::vector<ScanFile>& files,
                                 const ScanOptions& options = {});

// The Parquet schemas of data files, remembered by add.path. A data file never changes once
// written, so a reader that comes back to the same files (an UpsertWriter reading current rows)
// asks DuckDB for each footer once. Not thread-safe; one per reader.
class ParquetSchemaCache {
 public:
  ParquetSchemaCache();
  ParquetSchemaCache(ParquetSchemaCache&&) noexcept;
  ParquetSchemaCache& operator=(ParquetSchemaCache&&) noexcept;
  ~ParquetSchemaCache();

  size_t size() const;

 private:
  friend struct ParquetSchemaCacheAccess;
  struct Entries;
  std::unique_ptr<Entries> entries_;
};

// One file for ReadFileRows: a live data file of the snapshot and the rows wanted from it.
struct FileRows {
  std::string path;  // relative to the table root, percent-encoded (as in add.path)
  PartitionValues partition_values;
  std::vector<uint64_t> rows;  // file_row_number of each wanted row
  int64_t tag = 0;             // the caller's name for the file, returned with its rows
};

// The wanted rows of `files`, read like a scan (schema, column mapping, partition columns,
// widening), in no particular order. Each result row holds the table's columns, then the file's
// tag and the row's file_row_number (BIGINT both).
//
// The cost grows with the rows of the files read, not with a statement per file: the wanted
// positions go to a temporary table (`freshet_wanted_rows`, through the appender, with no SQL
// literal per row) that one read_parquet per group of files sharing a Parquet schema and
// partition values is joined with. `cache` (may be null) keeps the files' Parquet schemas
// between calls; entries of files no longer in `snapshot` are dropped.
Result<engine::QueryResult> ReadFileRows(engine::Connection& connection, const Snapshot& snapshot,
                                         const std::vector<FileRows>& files,
                                         ParquetSchemaCache* cache,
                                         const ScanOptions& options = {});

}  // namespace freshet::lake
