#pragma once

// Appender: loads rows of engine::Values into a DuckDB table through DuckDB's appender, with
// no SQL text to build, parse or bind. RAII over duckdb_appender.
//
// Values are converted to each column's type by DuckDB's appender: an Int into a SMALLINT
// column is range-checked, a String into a UUID, DATE or DECIMAL column is parsed, a Decimal
// keeps its exact digits, Date/Time/Timestamp/TimestampTz carry their epoch counts unchanged
// (no time-zone shift). Lists, structs and maps are built as DuckDB values of the column's
// nested type (struct fields matched by name, else by position).
//
// Rows are buffered by DuckDB and written to the table on Flush() (or by DuckDB when its buffer
// fills); the destructor flushes what is left and drops any error, so callers that need to know
// call Flush(). After any error (a bad value, a flush that fails) the appender is broken: every
// later call returns the same error, since DuckDB may hold a partial row. Errors:
// InvalidArgument naming the column for a value its column cannot hold or a row of the wrong
// width; NotFound for an unknown table. Belongs to one Connection and its thread; must not
// outlive it. Move-only.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "engine/value.h"

struct _duckdb_appender;      // NOLINT(bugprone-reserved-identifier)
struct _duckdb_logical_type;  // NOLINT(bugprone-reserved-identifier)

namespace freshet::engine {

class Appender {
 public:
  // Opens an appender on `table`. An empty `schema` or `catalog` means DuckDB's default; a
  // temporary table is catalog "temp", schema "main".
  static Result<Appender> Open(Connection& connection, const std::string& table,
                               const std::string& schema = "", const std::string& catalog = "");

  Appender(Appender&&) noexcept;
  Appender& operator=(Appender&&) noexcept;
  ~Appender();

  const std::vector<std::string>& columns() const { return columns_; }

  // Appends one whole row: exactly one value per column, in the table's column order.
  Status AppendRow(const Row& row);
  // Appends the next value of the current row; EndRow() completes the row, and checks that
  // every column got a value.
  Status Append(const Value& value);
  Status EndRow();
  // Appends `count` whole rows; `value(row, column)` gives each value (a reference that stays
  // valid during the call). When every column is BOOLEAN, an integer type, DOUBLE, VARCHAR,
  // BLOB, DATE, TIMESTAMP or TIMESTAMPTZ and every value is NULL or of its column's kind and
  // range (checked first), they go column by column into DuckDB data chunks, several times
  // faster than value by value; otherwise value by value, as AppendRow does. Rows keep their
  // order, also after rows appended one value at a time (those are flushed first).
  Status AppendRows(size_t count,
                    const std::function<const Value&(size_t row, size_t column)>& value);

  // Writes the buffered rows to the table.
  Status Flush();

 private:
  struct Deleter {
    void operator()(_duckdb_appender* appender) const noexcept;
  };
  struct TypeDeleter {
    void operator()(_duckdb_logical_type* type) const noexcept;
  };
  using TypeHandle = std::unique_ptr<_duckdb_logical_type, TypeDeleter>;
  Appender() = default;

  Status AppendNested(const Value& value);
  // Whether `value` goes into column `column` as it is (AppendRows' column-wise path).
  bool FitsColumn(const Value& value, size_t column) const;
  // Records a failure of the current column: DuckDB's error (or `detail`), with the column.
  Status Fail(std::string detail);

  std::unique_ptr<_duckdb_appender, Deleter> handle_;
  std::string table_;
  std::vector<std::string> columns_;
  std::vector<TypeHandle> types_;         // the column's type for nested columns, else null
  std::vector<bool> decimal_;             // columns of type DECIMAL
  std::vector<TypeHandle> column_types_;  // every column's type
  std::vector<int> type_ids_;             // every column's duckdb_type
  bool values_pending_ = false;           // rows appended value by value since the last flush
  size_t column_ = 0;                     // the next value's column in the current row
  Status error_;                          // the first error; the appender is broken once set
};

}  // namespace freshet::engine
