#pragma once

// Prepared statements and their results, for callers that bind parameters, describe a
// statement before running it, or read a large result a chunk at a time (the SQL gateway).
//
// A PreparedStatement belongs to the Connection that prepared it and is used by the same
// thread. Execute() materialises the result inside DuckDB (columnar, compact); a RowStream
// then converts it into Rows one chunk (up to 2048 rows) at a time, so callers never hold a
// whole large result as Values. A RowStream stays valid when its connection runs other
// statements. Both types are move-only.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/value.h"

namespace freshet::engine {

using Row = std::vector<Value>;

// The SQL type of a result column or parameter, as DuckDB reports it.
enum class TypeId {
  kNull,
  kBool,
  kTinyInt,
  kSmallInt,
  kInteger,
  kBigInt,
  kUTinyInt,
  kUSmallInt,
  kUInteger,
  kUBigInt,
  kHugeInt,
  kFloat,
  kDouble,
  kDecimal,
  kVarchar,
  kJson,  // DuckDB's JSON (a VARCHAR alias)
  kBlob,
  kDate,
  kTime,
  kTimestamp,  // all precisions; Values hold microseconds
  kTimestampTz,
  kInterval,
  kUuid,
  kEnum,
  kList,  // LIST and fixed-size ARRAY; `children[0]` is the element type
  kStruct,
  kMap,
  kUnknown,  // a parameter DuckDB could not infer, or a type without a Value mapping
};

struct ColumnType {
  TypeId id = TypeId::kUnknown;
  uint8_t width = 0;  // DECIMAL only
  uint8_t scale = 0;  // DECIMAL only
  std::vector<ColumnType> children;
};

// What a statement does, from DuckDB's parser; the gateway allows only reads.
enum class StatementType {
  kSelect,
  kInsert,
  kUpdate,
  kDelete,
  kCreate,
  kDrop,
  kAlter,
  kCopy,
  kExplain,
  kTransaction,
  kSet,
  kPragma,
  kAttach,
  kLoad,
  kCall,
  kOther,
};

// "SELECT", "INSERT", ... for messages.
std::string_view StatementTypeName(StatementType type);

class RowStream {
 public:
  RowStream(RowStream&&) noexcept;
  RowStream& operator=(RowStream&&) noexcept;
  ~RowStream();

  const std::vector<std::string>& columns() const;
  const std::vector<ColumnType>& types() const;
  StatementType statement_type() const;
  // Rows inserted, updated or deleted, for statements that change data.
  int64_t rows_changed() const;

  // Appends the next chunk's rows to `rows`; false (appending nothing) once the result is
  // exhausted.
  Result<bool> Next(std::vector<Row>* rows);

 private:
  friend class PreparedStatement;
  struct State;
  explicit RowStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class PreparedStatement {
 public:
  PreparedStatement(PreparedStatement&&) noexcept;
  PreparedStatement& operator=(PreparedStatement&&) noexcept;
  ~PreparedStatement();

  StatementType statement_type() const;
  size_t parameter_count() const;
  // 0-based; kUnknown when DuckDB cannot infer the type from the statement.
  ColumnType parameter_type(size_t index) const;
  // The result's columns, known before execution. Empty for statements without rows.
  const std::vector<std::string>& column_names() const;
  const std::vector<ColumnType>& column_types() const;

  // Parameters are 0-based. A text value is cast by DuckDB to the parameter's type when the
  // statement runs (InvalidArgument then when it does not parse).
  Status BindNull(size_t index);
  Status BindText(size_t index, std::string_view text);
  Status BindBlob(size_t index, std::string_view bytes);

  // Runs the statement with the current bindings. Cancelled when interrupted.
  Result<RowStream> Execute();

 private:
  friend class Connection;
  struct State;
  explicit PreparedStatement(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace freshet::engine
