#pragma once

// Writing Parquet files through DuckDB and reading back what DuckDB measured while writing:
// row count, file size and per-column min, max and null count. The lake's Delta writer turns
// these into the `stats` JSON of an `add` action, so no file is read twice.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/database.h"

namespace freshet::engine {

struct ParquetColumnStats {
  // Column path from the top: {"id"}, or {"address", "city"} for a struct field.
  std::vector<std::string> path;
  // DuckDB's text rendering of the smallest and largest value. Absent when DuckDB keeps no
  // min/max for the type (e.g. DECIMAL, nested lists) or every value is NULL.
  std::optional<std::string> min;
  std::optional<std::string> max;
  std::optional<int64_t> null_count;
  std::optional<int64_t> size_bytes;

  std::string DottedPath() const;
};

struct ParquetFileStats {
  std::string path;
  int64_t row_count = 0;
  int64_t file_size_bytes = 0;
  int64_t footer_size_bytes = 0;
  std::vector<ParquetColumnStats> columns;

  // The column at a dotted path ("address.city"), or nullptr.
  const ParquetColumnStats* Column(std::string_view dotted_path) const;
};

struct ParquetWriteOptions {
  std::string compression = "snappy";  // Spark's default; every Delta reader handles it
  std::optional<uint64_t> row_group_size;
  // DuckDB's FIELD_IDS value (`{'a': 1, 's': {__duckdb_field_id: 2, 'x': 3}}`): the Parquet
  // field_id of each column; empty writes none.
  std::string field_ids;
};

// Runs `COPY (query) TO path (FORMAT parquet, RETURN_STATS)`. `query` is a SELECT (or any
// statement COPY accepts as a source); `path` is a local file path, overwritten if present.
Result<ParquetFileStats> WriteParquet(Connection& connection, std::string_view query,
                                      const std::string& path,
                                      const ParquetWriteOptions& options = {});

// Splits DuckDB's quoted column path `"s"."a"` into {"s", "a"}. Exposed for tests.
Result<std::vector<std::string>> SplitQuotedColumnPath(std::string_view quoted);

}  // namespace freshet::engine
