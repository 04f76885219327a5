#include "engine/statement.h"

#include <duckdb.h>

#include "engine/database.h"
#include "engine/duckdb_internal.h"

namespace freshet::engine {
namespace {

using internal::ChunkOwner;
using internal::LogicalTypeOwner;
using internal::TypeNode;

ColumnType ToColumnType(const TypeNode& node) {
  ColumnType out;
  out.width = node.width;
  out.scale = node.scale;
  for (const auto& child : node.children) out.children.push_back(ToColumnType(child));
  switch (node.id) {
    case DUCKDB_TYPE_SQLNULL:
      out.id = TypeId::kNull;
      break;
    case DUCKDB_TYPE_BOOLEAN:
      out.id = TypeId::kBool;
      break;
    case DUCKDB_TYPE_TINYINT:
      out.id = TypeId::kTinyInt;
      break;
    case DUCKDB_TYPE_SMALLINT:
      out.id = TypeId::kSmallInt;
      break;
    case DUCKDB_TYPE_INTEGER:
      out.id = TypeId::kInteger;
      break;
    case DUCKDB_TYPE_BIGINT:
      out.id = TypeId::kBigInt;
      break;
    case DUCKDB_TYPE_UTINYINT:
      out.id = TypeId::kUTinyInt;
      break;
    case DUCKDB_TYPE_USMALLINT:
      out.id = TypeId::kUSmallInt;
      break;
    case DUCKDB_TYPE_UINTEGER:
      out.id = TypeId::kUInteger;
      break;
    case DUCKDB_TYPE_UBIGINT:
      out.id = TypeId::kUBigInt;
      break;
    case DUCKDB_TYPE_HUGEINT:
      out.id = TypeId::kHugeInt;
      break;
    case DUCKDB_TYPE_FLOAT:
      out.id = TypeId::kFloat;
      break;
    case DUCKDB_TYPE_DOUBLE:
      out.id = TypeId::kDouble;
      break;
    case DUCKDB_TYPE_DECIMAL:
      out.id = TypeId::kDecimal;
      break;
    case DUCKDB_TYPE_VARCHAR:
      out.id = node.alias == "JSON" ? TypeId::kJson : TypeId::kVarchar;
      break;
    case DUCKDB_TYPE_BLOB:
      out.id = TypeId::kBlob;
      break;
    case DUCKDB_TYPE_DATE:
      out.id = TypeId::kDate;
      break;
    case DUCKDB_TYPE_TIME:
      out.id = TypeId::kTime;
      break;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
      out.id = TypeId::kTimestamp;
      break;
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      out.id = TypeId::kTimestampTz;
      break;
    case DUCKDB_TYPE_INTERVAL:
      out.id = TypeId::kInterval;
      break;
    case DUCKDB_TYPE_UUID:
      out.id = TypeId::kUuid;
      break;
    case DUCKDB_TYPE_ENUM:
      out.id = TypeId::kEnum;
      break;
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
      out.id = TypeId::kList;
      break;
    case DUCKDB_TYPE_STRUCT:
      out.id = TypeId::kStruct;
      break;
    case DUCKDB_TYPE_MAP:
      out.id = TypeId::kMap;
      break;
    default:
      out.id = TypeId::kUnknown;
      break;
  }
  return out;
}

// kUnknown for types DescribeType cannot read (DuckDB's INVALID/ANY for unresolved
// parameters, UNION, BIT...).
ColumnType ColumnTypeOf(duckdb_logical_type type) {
  auto node = internal::DescribeType(type);
  return node.ok() ? ToColumnType(*node) : ColumnType{};
}

StatementType FromDuckDb(duckdb_statement_type type) {
  switch (type) {
    case DUCKDB_STATEMENT_TYPE_SELECT:
      return StatementType::kSelect;
    case DUCKDB_STATEMENT_TYPE_INSERT:
      return StatementType::kInsert;
    case DUCKDB_STATEMENT_TYPE_UPDATE:
      return StatementType::kUpdate;
    case DUCKDB_STATEMENT_TYPE_DELETE:
      return StatementType::kDelete;
    case DUCKDB_STATEMENT_TYPE_CREATE:
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC:
      return StatementType::kCreate;
    case DUCKDB_STATEMENT_TYPE_DROP:
      return StatementType::kDrop;
    case DUCKDB_STATEMENT_TYPE_ALTER:
      return StatementType::kAlter;
    case DUCKDB_STATEMENT_TYPE_COPY:
    case DUCKDB_STATEMENT_TYPE_EXPORT:
      return StatementType::kCopy;
    case DUCKDB_STATEMENT_TYPE_EXPLAIN:
      return StatementType::kExplain;
    case DUCKDB_STATEMENT_TYPE_TRANSACTION:
      return StatementType::kTransaction;
    case DUCKDB_STATEMENT_TYPE_SET:
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
      return StatementType::kSet;
    case DUCKDB_STATEMENT_TYPE_PRAGMA:
      return StatementType::kPragma;
    case DUCKDB_STATEMENT_TYPE_ATTACH:
    case DUCKDB_STATEMENT_TYPE_DETACH:
      return StatementType::kAttach;
    case DUCKDB_STATEMENT_TYPE_LOAD:
    case DUCKDB_STATEMENT_TYPE_EXTENSION:
      return StatementType::kLoad;
    case DUCKDB_STATEMENT_TYPE_CALL:
      return StatementType::kCall;
    default:
      return StatementType::kOther;
  }
}

// duckdb_prepare has no error type, only the message, which starts with the error's class.
Code CodeForPrepareError(std::string_view message) {
  if (message.starts_with("Catalog Error")) return Code::kNotFound;
  if (message.starts_with("Permission Error")) return Code::kPermissionDenied;
  if (message.starts_with("Not implemented Error")) return Code::kNotSupported;
  if (message.starts_with("INTERNAL Error")) return Code::kInternal;
  return Code::kInvalidArgument;
}

}  // namespace

std::string_view StatementTypeName(StatementType type) {
  switch (type) {
    case StatementType::kSelect:
      return "SELECT";
    case StatementType::kInsert:
      return "INSERT";
    case StatementType::kUpdate:
      return "UPDATE";
    case StatementType::kDelete:
      return "DELETE";
    case StatementType::kCreate:
      return "CREATE";
    case StatementType::kDrop:
      return "DROP";
    case StatementType::kAlter:
      return "ALTER";
    case StatementType::kCopy:
      return "COPY";
    case StatementType::kExplain:
      return "EXPLAIN";
    case StatementType::kTransaction:
      return "TRANSACTION";
    case StatementType::kSet:
      return "SET";
    case StatementType::kPragma:
      return "PRAGMA";
    case StatementType::kAttach:
      return "ATTACH";
    case StatementType::kLoad:
      return "LOAD";
    case StatementType::kCall:
      return "CALL";
    case StatementType::kOther:
      break;
  }
  return "statement";
}

// ---- RowStream

struct RowStream::State {
  internal::ResultOwner result;
  std::vector<std::string> columns;
  std::vector<ColumnType> types;
  std::vector<TypeNode> nodes;
  StatementType statement_type = StatementType::kOther;
  int64_t rows_changed = 0;
  bool done = false;
};

RowStream::RowStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
RowStream::RowStream(RowStream&&) noexcept = default;
RowStream& RowStream::operator=(RowStream&&) noexcept = default;
RowStream::~RowStream() = default;

const std::vector<std::string>& RowStream::columns() const { return state_->columns; }
const std::vector<ColumnType>& RowStream::types() const { return state_->types; }
StatementType RowStream::statement_type() const { return state_->statement_type; }
int64_t RowStream::rows_changed() const { return state_->rows_changed; }

Result<bool> RowStream::Next(std::vector<Row>* rows) {
  if (state_->done) return false;
  ChunkOwner chunk(duckdb_fetch_chunk(*state_->result.get()));
  idx_t size = chunk.chunk == nullptr ? 0 : duckdb_data_chunk_get_size(chunk.chunk);
  if (size == 0) {
    state_->done = true;
    return false;
  }
  size_t column_count = state_->nodes.size();
  size_t first = rows->size();
  rows->resize(first + size, Row(column_count));
  for (size_t col = 0; col < column_count; ++col) {
    duckdb_vector vector = duckdb_data_chunk_get_vector(chunk.chunk, col);
    for (idx_t row = 0; row < size; ++row) {
      (*rows)[first + row][col] = internal::ReadCell(vector, state_->nodes[col], row);
    }
  }
  return true;
}

// ---- PreparedStatement

struct PreparedStatement::State {
  struct Deleter {
    void operator()(_duckdb_prepared_statement* statement) const noexcept {
      duckdb_destroy_prepare(&statement);
    }
  };
  std::unique_ptr<_duckdb_prepared_statement, Deleter> handle;
  std::string sql;
  std::vector<std::string> column_names;
  std::vector<ColumnType> column_types;
};

PreparedStatement::PreparedStatement(std::unique_ptr<State> state) : state_(std::move(state)) {}
PreparedStatement::PreparedStatement(PreparedStatement&&) noexcept = default;
PreparedStatement& PreparedStatement::operator=(PreparedStatement&&) noexcept = default;
PreparedStatement::~PreparedStatement() = default;

StatementType PreparedStatement::statement_type() const {
  return FromDuckDb(duckdb_prepared_statement_type(state_->handle.get()));
}

size_t PreparedStatement::parameter_count() const { return duckdb_nparams(state_->handle.get()); }

ColumnType PreparedStatement::parameter_type(size_t index) const {
  duckdb_type id = duckdb_param_type(state_->handle.get(), index + 1);
  if (id == DUCKDB_TYPE_INVALID || id == DUCKDB_TYPE_ANY) return {};
  LogicalTypeOwner type(duckdb_param_logical_type(state_->handle.get(), index + 1));
  if (type.type == nullptr) return {};
  return ColumnTypeOf(type.type);
}

const std::vector<std::string>& PreparedStatement::column_names() const {
  return state_->column_names;
}
const std::vector<ColumnType>& PreparedStatement::column_types() const {
  return state_->column_types;
}

Status PreparedStatement::BindNull(size_t index) {
  if (duckdb_bind_null(state_->handle.get(), index + 1) == DuckDBError) {
    return Status::InvalidArgument("cannot bind NULL to parameter ${}", index + 1);
  }
  return Status::Ok();
}

Status PreparedStatement::BindText(size_t index, std::string_view text) {
  if (duckdb_bind_varchar_length(state_->handle.get(), index + 1, text.data(), text.size()) ==
      DuckDBError) {
    return Status::InvalidArgument("cannot bind text to parameter ${}", index + 1);
  }
  return Status::Ok();
}

Status PreparedStatement::BindBlob(size_t index, std::string_view bytes) {
  if (duckdb_bind_blob(state_->handle.get(), index + 1, bytes.data(), bytes.size()) ==
      DuckDBError) {
    return Status::InvalidArgument("cannot bind bytes to parameter ${}", index + 1);
  }
  return Status::Ok();
}

Result<RowStream> PreparedStatement::Execute() {
  auto state = std::make_unique<RowStream::State>();
  if (duckdb_execute_prepared(state_->handle.get(), state->result.get()) == DuckDBError) {
    return internal::ErrorFromResult(state->result.get(), state_->sql);
  }
  duckdb_result* result = state->result.get();
  state->statement_type = FromDuckDb(duckdb_result_statement_type(*result));
  state->rows_changed = static_cast<int64_t>(duckdb_rows_changed(result));
  idx_t column_count = duckdb_column_count(result);
  for (idx_t col = 0; col < column_count; ++col) {
    state->columns.emplace_back(duckdb_column_name(result, col));
    LogicalTypeOwner type(duckdb_column_logical_type(result, col));
    auto node = internal::DescribeType(type.type);
    if (!node.ok()) {
      return std::move(node).status().WithContext(
          fmt::format("column {}: cast it to VARCHAR in SQL to read it", state->columns.back()));
    }
    state->types.push_back(ToColumnType(*node));
    state->nodes.push_back(std::move(node).value());
  }
  return RowStream(std::move(state));
}

// ---- Connection

Result<PreparedStatement> Connection::Prepare(std::string_view sql) {
  auto state = std::make_unique<PreparedStatement::State>();
  state->sql = std::string(sql);
  duckdb_prepared_statement handle = nullptr;
  duckdb_state rc = duckdb_prepare(handle_.get(), state->sql.c_str(), &handle);
  state->handle.reset(handle);  // destroyed on the failure path too, as duckdb.h requires
  if (rc == DuckDBError) {
    const char* message = duckdb_prepare_error(handle);
    std::string text = message != nullptr ? message : "unknown DuckDB error";
    return Status(CodeForPrepareError(text), text);
  }
  idx_t column_count = duckdb_prepared_statement_column_count(handle);
  for (idx_t col = 0; col < column_count; ++col) {
    const char* name = duckdb_prepared_statement_column_name(handle, col);
    state->column_names.emplace_back(name != nullptr ? name : "?column?");
    duckdb_free(const_cast<char*>(name));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    LogicalTypeOwner type(duckdb_prepared_statement_column_logical_type(handle, col));
    state->column_types.push_back(type.type != nullptr ? ColumnTypeOf(type.type) : ColumnType{});
  }
  return PreparedStatement(std::move(state));
}

void Connection::Interrupt() { duckdb_interrupt(handle_.get()); }

}  // namespace freshet::engine
