#include "engine/database.h"

#include <cstring>

#include <duckdb.h>

#include "engine/duckdb_internal.h"

namespace freshet::engine {
using internal::ChunkOwner;
using internal::DescribeType;
using internal::ErrorFromResult;
using internal::LogicalTypeOwner;
using internal::ReadCell;
using internal::ResultOwner;
using internal::TakeDuckDbString;
using internal::TypeNode;

std::optional<size_t> QueryResult::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  return std::nullopt;
}

void Connection::Deleter::operator()(_duckdb_connection* connection) const noexcept {
  duckdb_disconnect(&connection);
}

void Database::Deleter::operator()(_duckdb_database* database) const noexcept {
  duckdb_close(&database);
}

Result<Database> Database::Open(const std::string& path, const DatabaseOptions& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) {
    return Status::Internal("DuckDB could not create a configuration");
  }
  struct ConfigOwner {
    duckdb_config* config;
    ~ConfigOwner() { duckdb_destroy_config(config); }
  } config_owner{&config};

  std::vector<std::pair<std::string, std::string>> settings = {
      {"autoinstall_known_extensions", "false"},
  };
  if (options.threads) settings.emplace_back("threads", std::to_string(*options.threads));
  if (options.memory_limit_bytes) {
    settings.emplace_back("memory_limit", fmt::format("{}B", *options.memory_limit_bytes));
  }
  for (const auto& [name, value] : settings) {
    if (duckdb_set_config(config, name.c_str(), value.c_str()) == DuckDBError) {
      return Status::InvalidArgument("DuckDB rejected setting {} = {}", name, value);
    }
  }

  duckdb_database handle = nullptr;
  char* error = nullptr;
  const char* location = path.empty() ? nullptr : path.c_str();
  if (duckdb_open_ext(location, &handle, config, &error) == DuckDBError) {
    std::string message = TakeDuckDbString(error);
    return Status::IOError("cannot open DuckDB database {}: {}", path.empty() ? ":memory:" : path,
                           message);
  }
  return Database(handle);
}

Result<Connection> Database::Connect() {
  duckdb_connection connection = nullptr;
  if (duckdb_connect(handle_.get(), &connection) == DuckDBError) {
    return Status::Internal("DuckDB refused a new connection");
  }
  return Connection(connection);
}

Status Connection::Execute(std::string_view sql) {
  ResultOwner result;
  std::string text(sql);
  if (duckdb_query(handle_.get(), text.c_str(), result.get()) == DuckDBError) {
    return ErrorFromResult(result.get(), sql);
  }
  return Status::Ok();
}

Result<QueryResult> Connection::Query(std::string_view sql) {
  ResultOwner result;
  std::string text(sql);
  if (duckdb_query(handle_.get(), text.c_str(), result.get()) == DuckDBError) {
    return ErrorFromResult(result.get(), sql);
  }
  QueryResult out;
  idx_t column_count = duckdb_column_count(result.get());
  std::vector<TypeNode> types;
  for (idx_t col = 0; col < column_count; ++col) {
    out.columns.emplace_back(duckdb_column_name(result.get(), col));
    LogicalTypeOwner type(duckdb_column_logical_type(result.get(), col));
    auto node = DescribeType(type.type);
    if (!node.ok()) {
      return std::move(node).status().WithContext(
          fmt::format("column {}: cast it to VARCHAR in SQL to read it", out.columns.back()));
    }
    types.push_back(std::move(node).value());
  }
  while (true) {
    ChunkOwner chunk(duckdb_fetch_chunk(*result.get()));
    if (chunk.chunk == nullptr) break;
    idx_t size = duckdb_data_chunk_get_size(chunk.chunk);
    if (size == 0) break;
    size_t first = out.rows.size();
    out.rows.resize(first + size, Row(column_count));
    for (idx_t col = 0; col < column_count; ++col) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(chunk.chunk, col);
      for (idx_t row = 0; row < size; ++row) {
        out.rows[first + row][col] = ReadCell(vector, types[col], row);
      }
    }
  }
  return out;
}

std::string DuckDbVersion() { return duckdb_library_version(); }

}  // namespace freshet::engine
