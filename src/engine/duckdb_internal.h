#pragma once

// Helpers shared by engine/ sources that talk to DuckDB's C API: result and type owners,
// DuckDB error → Status mapping, and reading cells out of data chunks. Internal to engine/
// (it includes duckdb.h); nothing outside engine/ may include it.

#include <string>
#include <string_view>
#include <vector>

#include <duckdb.h>

#include "common/result.h"
#include "engine/value.h"

namespace freshet::engine::internal {

Code CodeForDuckDbError(duckdb_error_type type);

// duckdb_result is a struct, not a pointer: it needs its own owner. Created before the call
// that fills it, so duckdb_destroy_result runs on the failure path too, as duckdb.h requires.
class ResultOwner {
 public:
  ResultOwner() = default;
  ResultOwner(const ResultOwner&) = delete;
  ResultOwner& operator=(const ResultOwner&) = delete;
  ~ResultOwner() { duckdb_destroy_result(&result_); }
  duckdb_result* get() { return &result_; }

 private:
  duckdb_result result_{};
};

struct LogicalTypeOwner {
  explicit LogicalTypeOwner(duckdb_logical_type t) : type(t) {}
  LogicalTypeOwner(const LogicalTypeOwner&) = delete;
  LogicalTypeOwner& operator=(const LogicalTypeOwner&) = delete;
  ~LogicalTypeOwner() { duckdb_destroy_logical_type(&type); }
  duckdb_logical_type type;
};

struct ChunkOwner {
  explicit ChunkOwner(duckdb_data_chunk c) : chunk(c) {}
  ChunkOwner(const ChunkOwner&) = delete;
  ChunkOwner& operator=(const ChunkOwner&) = delete;
  ~ChunkOwner() { duckdb_destroy_data_chunk(&chunk); }
  duckdb_data_chunk chunk;
};

std::string TakeDuckDbString(char* text);

// A column's type, read once from DuckDB's logical type so cells are converted without
// creating and destroying type handles per row.
struct TypeNode {
  duckdb_type id = DUCKDB_TYPE_INVALID;
  duckdb_type internal = DUCKDB_TYPE_INVALID;  // storage type of DECIMAL and ENUM
  uint8_t width = 0;
  uint8_t scale = 0;
  uint64_t array_size = 0;
  std::string alias;  // "JSON" for DuckDB's JSON type, else empty
  std::vector<TypeNode> children;
  std::vector<std::string> names;       // STRUCT field names
  std::vector<std::string> dictionary;  // ENUM values
};

Result<TypeNode> DescribeType(duckdb_logical_type type);
Value ReadCell(duckdb_vector vector, const TypeNode& type, idx_t row);
Status ErrorFromResult(duckdb_result* result, std::string_view sql);

}  // namespace freshet::engine::internal
