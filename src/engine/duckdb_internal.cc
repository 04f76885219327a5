#include "engine/duckdb_internal.h"

#include <cstring>

#include <fmt/format.h>

namespace freshet::engine::internal {

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

std::string TakeDuckDbString(char* text) {
  std::string out = text != nullptr ? text : "";
  duckdb_free(text);
  return out;
}

Result<TypeNode> DescribeType(duckdb_logical_type type) {
  TypeNode node;
  node.id = duckdb_get_type_id(type);
  char* alias = duckdb_logical_type_get_alias(type);
  if (alias != nullptr) node.alias = TakeDuckDbString(alias);
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

namespace {

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

}  // namespace

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

}  // namespace freshet::engine::internal
