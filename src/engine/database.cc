#include "engine/database.h"

#include <cstring>

#include <duckdb.h>

namespace freshet::engine {
namespace {

Code CodeForDuckDbError(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_SYNTAX:
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_MISMATCH_TYPE:
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_INVALID_TYPE:
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
    case DUCKDB_ERROR_CONSTRAINT:
    case DUCKDB_ERROR_SETTINGS:
    case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
    case DUCKDB_ERROR_PARAMETER_NOT_ALLOWED:
      return Code::kInvalidArgument;
    case DUCKDB_ERROR_CATALOG:
      return Code::kNotFound;
    case DUCKDB_ERROR_IO:
      return Code::kIOError;
    case DUCKDB_ERROR_INTERRUPT:
      return Code::kCancelled;
    case DUCKDB_ERROR_TRANSACTION:
      return Code::kConflict;
    case DUCKDB_ERROR_NOT_IMPLEMENTED:
    case DUCKDB_ERROR_MISSING_EXTENSION:
    case DUCKDB_ERROR_AUTOLOAD:
      return Code::kNotSupported;
    case DUCKDB_ERROR_PERMISSION:
      return Code::kPermissionDenied;
    case DUCKDB_ERROR_NETWORK:
    case DUCKDB_ERROR_HTTP:
      return Code::kUnavailable;
    default:
      return Code::kInternal;
  }
}

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

std::string TakeDuckDbString(char* text) {
  std::string out = text != nullptr ? text : "";
  duckdb_free(text);
  return out;
}

// A column's type, read once from DuckDB's logical type so cells are converted without
// creating and destroying type handles per row.
struct TypeNode {
  duckdb_type id = DUCKDB_TYPE_INVALID;
  duckdb_type internal = DUCKDB_TYPE_INVALID;  // storage type of DECIMAL and ENUM
  uint8_t width = 0;
  uint8_t scale = 0;
  uint64_t array_size = 0;
  std::vector<TypeNode> children;
  std::vector<std::string> names;       // STRUCT field names
  std::vector<std::string> dictionary;  // ENUM values
};

Result<TypeNode> DescribeType(duckdb_logical_type type) {
  TypeNode node;
  node.id = duckdb_get_type_id(type);
  switch (node.id) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BLOB:
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIME:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UUID:
    case DUCKDB_TYPE_INTERVAL:
    case DUCKDB_TYPE_SQLNULL:
      return node;
    case DUCKDB_TYPE_DECIMAL:
      node.width = duckdb_decimal_width(type);
      node.scale = duckdb_decimal_scale(type);
      node.internal = duckdb_decimal_internal_type(type);
      return node;
    case DUCKDB_TYPE_ENUM: {
      node.internal = duckdb_enum_internal_type(type);
      uint32_t size = duckdb_enum_dictionary_size(type);
      for (uint32_t i = 0; i < size; ++i) {
        node.dictionary.push_back(TakeDuckDbString(duckdb_enum_dictionary_value(type, i)));
      }
      return node;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY: {
      LogicalTypeOwner child(node.id == DUCKDB_TYPE_LIST ? duckdb_list_type_child_type(type)
                                                         : duckdb_array_type_child_type(type));
      if (node.id == DUCKDB_TYPE_ARRAY) node.array_size = duckdb_array_type_array_size(type);
      FRESHET_ASSIGN_OR_RETURN(TypeNode child_node, DescribeType(child.type));
      node.children.push_back(std::move(child_node));
      return node;
    }
    case DUCKDB_TYPE_MAP: {
      LogicalTypeOwner key(duckdb_map_type_key_type(type));
      LogicalTypeOwner value(duckdb_map_type_value_type(type));
      FRESHET_ASSIGN_OR_RETURN(TypeNode key_node, DescribeType(key.type));
      FRESHET_ASSIGN_OR_RETURN(TypeNode value_node, DescribeType(value.type));
      node.children.push_back(std::move(key_node));
      node.children.push_back(std::move(value_node));
      return node;
    }
    case DUCKDB_TYPE_STRUCT: {
      idx_t count = duckdb_struct_type_child_count(type);
      for (idx_t i = 0; i < count; ++i) {
        node.names.push_back(TakeDuckDbString(duckdb_struct_type_child_name(type, i)));
        LogicalTypeOwner child(duckdb_struct_type_child_type(type, i));
        FRESHET_ASSIGN_OR_RETURN(TypeNode child_node, DescribeType(child.type));
        node.children.push_back(std::move(child_node));
      }
      return node;
    }
    default:
      return Status::NotSupported("DuckDB type id {} has no freshet value mapping",
                                  static_cast<int>(node.id));
  }
}

template <typename T>
T Load(duckdb_vector vector, idx_t row) {
  T value{};
  std::memcpy(&value, static_cast<const char*>(duckdb_vector_get_data(vector)) + row * sizeof(T),
              sizeof(T));
  return value;
}

Int128 LoadHugeInt(duckdb_vector vector, idx_t row) {
  auto huge = Load<duckdb_hugeint>(vector, row);
  return static_cast<Int128>(static_cast<UInt128>(huge.upper) << 64 | huge.lower);
}

int64_t LoadSignedInteger(duckdb_vector vector, idx_t row, duckdb_type storage) {
  switch (storage) {
    case DUCKDB_TYPE_TINYINT:
      return Load<int8_t>(vector, row);
    case DUCKDB_TYPE_SMALLINT:
      return Load<int16_t>(vector, row);
    case DUCKDB_TYPE_INTEGER:
      return Load<int32_t>(vector, row);
    default:
      return Load<int64_t>(vector, row);
  }
}

uint64_t LoadUnsignedInteger(duckdb_vector vector, idx_t row, duckdb_type storage) {
  switch (storage) {
    case DUCKDB_TYPE_UTINYINT:
      return Load<uint8_t>(vector, row);
    case DUCKDB_TYPE_USMALLINT:
      return Load<uint16_t>(vector, row);
    case DUCKDB_TYPE_UINTEGER:
      return Load<uint32_t>(vector, row);
    default:
      return Load<uint64_t>(vector, row);
  }
}

std::string FormatUuid(Int128 stored) {
  // DuckDB stores UUIDs with the top bit flipped so they sort as unsigned.
  auto bits = static_cast<UInt128>(stored) ^ (static_cast<UInt128>(1) << 127);
  auto high = static_cast<uint64_t>(bits >> 64);
  auto low = static_cast<uint64_t>(bits);
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xFFFF,
                     high & 0xFFFF, low >> 48, low & 0xFFFFFFFFFFFFULL);
}

Value ReadCell(duckdb_vector vector, const TypeNode& type, idx_t row) {
  uint64_t* validity = duckdb_vector_get_validity(vector);
  if (validity != nullptr && !duckdb_validity_row_is_valid(validity, row)) return Value::Null();
  using Kind = Value::Kind;
  switch (type.id) {
    case DUCKDB_TYPE_SQLNULL:
      return Value::Null();
    case DUCKDB_TYPE_BOOLEAN:
      return Value::Bool(Load<bool>(vector, row));
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
      return Value::Int(LoadSignedInteger(vector, row, type.id));
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
      return {Kind::kUInt, LoadUnsignedInteger(vector, row, type.id)};
    case DUCKDB_TYPE_FLOAT:
      return {Kind::kDouble, static_cast<double>(Load<float>(vector, row))};
    case DUCKDB_TYPE_DOUBLE:
      return {Kind::kDouble, Load<double>(vector, row)};
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BLOB: {
      auto str = Load<duckdb_string_t>(vector, row);
      std::string bytes(duckdb_string_t_data(&str), duckdb_string_t_length(str));
      return {type.id == DUCKDB_TYPE_VARCHAR ? Kind::kString : Kind::kBlob, std::move(bytes)};
    }
    case DUCKDB_TYPE_DATE:
      return {Kind::kDate, int64_t{Load<int32_t>(vector, row)}};
    case DUCKDB_TYPE_TIME:
      return {Kind::kTime, Load<int64_t>(vector, row)};
    case DUCKDB_TYPE_TIMESTAMP:
      return {Kind::kTimestamp, Load<int64_t>(vector, row)};
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return {Kind::kTimestampTz, Load<int64_t>(vector, row)};
    case DUCKDB_TYPE_TIMESTAMP_S:
      return {Kind::kTimestamp, Load<int64_t>(vector, row) * 1'000'000};
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return {Kind::kTimestamp, Load<int64_t>(vector, row) * 1'000};
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return {Kind::kTimestamp, Load<int64_t>(vector, row) / 1'000};
    case DUCKDB_TYPE_HUGEINT:
      return {Kind::kHugeInt, Decimal{LoadHugeInt(vector, row), 38, 0}};
    case DUCKDB_TYPE_UUID:
      return Value::String(FormatUuid(LoadHugeInt(vector, row)));
    case DUCKDB_TYPE_INTERVAL: {
      auto interval = Load<duckdb_interval>(vector, row);
      return {Kind::kStruct, ValueFields{{"months", Value::Int(interval.months)},
                                         {"days", Value::Int(interval.days)},
                                         {"micros", Value::Int(interval.micros)}}};
    }
    case DUCKDB_TYPE_DECIMAL: {
      Int128 unscaled = type.internal == DUCKDB_TYPE_HUGEINT
                            ? LoadHugeInt(vector, row)
                            : LoadSignedInteger(vector, row, type.internal);
      return {Kind::kDecimal, Decimal{unscaled, type.width, type.scale}};
    }
    case DUCKDB_TYPE_ENUM: {
      uint64_t index = LoadUnsignedInteger(vector, row, type.internal);
      return Value::String(index < type.dictionary.size() ? type.dictionary[index] : "?");
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_MAP: {
      auto entry = Load<duckdb_list_entry>(vector, row);
      duckdb_vector child = duckdb_list_vector_get_child(vector);
      if (type.id == DUCKDB_TYPE_LIST) {
        ValueList items;
        for (idx_t i = 0; i < entry.length; ++i) {
          items.push_back(ReadCell(child, type.children[0], entry.offset + i));
        }
        return {Kind::kList, std::move(items)};
      }
      duckdb_vector keys = duckdb_struct_vector_get_child(child, 0);
      duckdb_vector values = duckdb_struct_vector_get_child(child, 1);
      ValueFields entries;
      for (idx_t i = 0; i < entry.length; ++i) {
        Value key = ReadCell(keys, type.children[0], entry.offset + i);
        entries.emplace_back(key.kind == Kind::kString ? key.string() : key.ToString(),
                             ReadCell(values, type.children[1], entry.offset + i));
      }
      return {Kind::kMap, std::move(entries)};
    }
    case DUCKDB_TYPE_ARRAY: {
      duckdb_vector child = duckdb_array_vector_get_child(vector);
      ValueList items;
      for (idx_t i = 0; i < type.array_size; ++i) {
        items.push_back(ReadCell(child, type.children[0], row * type.array_size + i));
      }
      return {Kind::kList, std::move(items)};
    }
    case DUCKDB_TYPE_STRUCT: {
      ValueFields fields;
      for (size_t i = 0; i < type.children.size(); ++i) {
        fields.emplace_back(type.names[i], ReadCell(duckdb_struct_vector_get_child(vector, i),
                                                    type.children[i], row));
      }
      return {Kind::kStruct, std::move(fields)};
    }
    default:
      return Value::Null();  // DescribeType admitted no other type
  }
}

Status ErrorFromResult(duckdb_result* result, std::string_view sql) {
  const char* message = duckdb_result_error(result);
  std::string text = message != nullptr ? message : "unknown DuckDB error";
  constexpr size_t kMaxSqlInMessage = 200;
  std::string_view shown = sql.substr(0, kMaxSqlInMessage);
  return {CodeForDuckDbError(duckdb_result_error_type(result)),
          fmt::format("{} (while running: {}{})", text, shown,
                      sql.size() > kMaxSqlInMessage ? "..." : "")};
}

}  // namespace

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
