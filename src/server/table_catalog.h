#pragma once

// TableCatalog: the tables SQL clients see, each as `schema.table` plus the DuckDB query that
// reads it (`SELECT * FROM read_parquet([...])` for fixed Parquet tables; for Delta tables the
// files of one snapshot with deletion vectors applied). The SQL gateway turns each entry into
// a view in every session's DuckDB database, so servers above this interface never depend on
// where the data lives. Implementations must be thread-safe: every session lists the tables,
// and lake catalogs are asked again before each statement.
//
// Versions: a fixed table has version -1 and never changes. A lake table's entry carries the
// Delta version its query reads; a session rebuilds a view only when the version it would read
// differs from the one its view holds.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"

namespace freshet::server {

struct TableEntry {
  std::string schema;
  std::string name;
  // A DuckDB query producing the table's rows, e.g. SELECT * FROM read_parquet(['/a.parquet']).
  // Empty in the entries ListHeads returns.
  std::string query;
  // Every file `query` reads; sessions may read these and nothing else on disk. Empty for lake
  // tables, whose files are reached through ReadableDirectories.
  std::vector<std::string> files;
  // The Delta version `query` reads; -1 for a fixed table.
  int64_t version = -1;
};

// Which version of a table to read: the latest, a version, or the newest version committed at
// or before a time.
struct AsOf {
  std::optional<int64_t> version;
  std::optional<int64_t> timestamp_ms;
};

class TableCatalog {
 public:
  virtual ~TableCatalog() = default;
  // Every table at the version a statement would read now, queries included.
  virtual Result<std::vector<TableEntry>> ListTables() const = 0;

  // Every table and the version a statement would read (queries may be empty): the latest
  // versions, or with `lsn` the versions the lake's watermark log names for that source LSN
  // (tables it does not list are left out). Cheaper than ListTables: no scan is built.
  // InvalidArgument when `lsn` is older than the oldest watermark kept.
  virtual Result<std::vector<TableEntry>> ListHeads(std::optional<Lsn> lsn) const;

  // One table (found case-insensitively) with the query reading it as `as_of` says.
  // NotFound for an unknown table; OutOfRange-like errors (a version that does not exist, a
  // time before the first commit) are InvalidArgument.
  virtual Result<TableEntry> Table(const std::string& schema, const std::string& name,
                                   const AsOf& as_of) const;

  // The change feed of a lake table from version `from` to `to` (inclusive; nullopt: the
  // latest): a query with the table's columns plus _change_type, _commit_version and
  // _commit_timestamp. NotSupported for fixed tables.
  virtual Result<TableEntry> Changes(const std::string& schema, const std::string& name,
                                     int64_t from, std::optional<int64_t> to) const;

  // Folders under which sessions of a user with `grants` (schema.table patterns) may read any
  // file, so that tables created and files committed after the session started stay readable.
  virtual std::vector<std::string> ReadableDirectories(
      const std::vector<std::string>& grants) const;
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

// "public.orders" → {"public", "orders"}; "orders" → {"public", "orders"}. Double quotes
// around either part are removed. InvalidArgument for an empty part or more than one dot.
Result<std::pair<std::string, std::string>> SplitTableName(std::string_view qualified);

}  // namespace freshet::server
