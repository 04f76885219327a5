#pragma once

// RAII owners for DuckDB's C API: Database, Connection, QueryResult.
//
// Only engine/ includes duckdb.h. A Database may be in memory ("") or in a file. Connections
// keep the database instance alive (DuckDB reference-counts it), so a Connection may outlive
// the Database object that made it. One Connection is used by one thread at a time; a
// Database may hand out connections to many threads. Errors carry DuckDB's message and a Code
// derived from DuckDB's error type (parser → InvalidArgument, catalog → NotFound, ...).
//
// DuckDB never downloads extensions here: autoinstall is off, because machines running freshet
// may have no internet, and a query that needs a missing extension should fail at once with a
// clear error instead of hanging.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/statement.h"
#include "engine/value.h"

// duckdb.h's handle types, declared here so that only engine/ sources include duckdb.h.
struct _duckdb_database;    // NOLINT(bugprone-reserved-identifier)
struct _duckdb_connection;  // NOLINT(bugprone-reserved-identifier)

namespace freshet::engine {

struct DatabaseOptions {
  std::optional<int> threads;                  // DuckDB's default: all cores
  std::optional<uint64_t> memory_limit_bytes;  // DuckDB's default: 80% of RAM
};

// The materialised result of a query: column names and rows. Fine for metadata, statistics
// and tests; bulk data stays inside DuckDB (COPY, scans) and never passes through here.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;

  // Index of `name` among columns, or nullopt.
  std::optional<size_t> ColumnIndex(std::string_view name) const;
};

class Connection {
 public:
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection() = default;

  // Runs one or more statements, discarding results.
  Status Execute(std::string_view sql);
  // Runs `sql` and copies its whole result out. Types without a Value mapping (INTERVAL,
  // UUID, UNION, BIT, ENUM...) give NotSupported naming the column: cast them in SQL.
  Result<QueryResult> Query(std::string_view sql);
  // Parses and plans one statement. InvalidArgument for a syntax error, NotFound for an
  // unknown table, as for Query.
  Result<PreparedStatement> Prepare(std::string_view sql);

  // Asks the statement running on this connection to stop; it then fails with Cancelled.
  // Thread-safe: the one call another thread may make while this connection is in use. A
  // no-op when nothing runs, as far as DuckDB guarantees; callers interrupt only while a
  // statement is under way.
  void Interrupt();

 private:
  friend class Database;
  friend class Appender;
  struct Deleter {
    void operator()(_duckdb_connection* connection) const noexcept;
  };
  explicit Connection(_duckdb_connection* handle) : handle_(handle) {}

  std::unique_ptr<_duckdb_connection, Deleter> handle_;
};

class Database {
 public:
  // `path` "" (or ":memory:") opens an in-memory database.
  static Result<Database> Open(const std::string& path, const DatabaseOptions& options = {});

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  ~Database() = default;

  Result<Connection> Connect();

 private:
  struct Deleter {
    void operator()(_duckdb_database* database) const noexcept;
  };
  explicit Database(_duckdb_database* handle) : handle_(handle) {}

  std::unique_ptr<_duckdb_database, Deleter> handle_;
};

// DuckDB's library version, e.g. "v1.4.4".
std::string DuckDbVersion();

}  // namespace freshet::engine
