#pragma once

// TableCatalog: the tables SQL clients see, each as `schema.table` plus the DuckDB query that
// reads it (today `SELECT * FROM read_parquet([...])`; for Delta tables, the files of the
// table's current snapshot with deletion vectors applied). The SQL gateway turns each entry
// into a view in every session's DuckDB database, so servers above this interface never
// depend on where the data lives. Implementations must be thread-safe: every new session
// lists the tables.

#include <string>
#include <vector>

#include "common/result.h"

namespace freshet::server {

struct TableEntry {
  std::string schema;
  std::string name;
  // A DuckDB query producing the table's rows, e.g. SELECT * FROM read_parquet(['/a.parquet']).
  std::string query;
  // Every file `query` reads; sessions may read these and nothing else on disk.
  std::vector<std::string> files;
};

class TableCatalog {
 public:
  virtual ~TableCatalog() = default;
  virtual Result<std::vector<TableEntry>> ListTables() const = 0;
};

// A fixed list of tables, e.g. from configuration or a test.
class StaticTableCatalog : public TableCatalog {
 public:
  StaticTableCatalog() = default;
  explicit StaticTableCatalog(std::vector<TableEntry> tables) : tables_(std::move(tables)) {}

  // A table over Parquet files: its query is read_parquet over `files`.
  void AddParquetTable(std::string schema, std::string name, std::vector<std::string> files);
  void Add(TableEntry entry) { tables_.push_back(std::move(entry)); }

  Result<std::vector<TableEntry>> ListTables() const override { return tables_; }

 private:
  std::vector<TableEntry> tables_;
};

}  // namespace freshet::server
