#include "engine/appender.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

#include <duckdb.h>
#include <fmt/format.h>

#include "engine/duckdb_internal.h"

namespace freshet::engine {
namespace {

using internal::CodeForDuckDbError;
using internal::TakeDuckDbString;

const char* OrNull(const std::string& text) { return text.empty() ? nullptr : text.c_str(); }

const char* KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "NULL";
    case Value::Kind::kBool:
      return "a boolean";
    case Value::Kind::kInt:
    case Value::Kind::kUInt:
    case Value::Kind::kHugeInt:
      return "an integer";
    case Value::Kind::kDouble:
      return "a double";
    case Value::Kind::kString:
      return "a string";
    case Value::Kind::kBlob:
      return "a blob";
    case Value::Kind::kDate:
      return "a date";
    case Value::Kind::kTime:
      return "a time";
    case Value::Kind::kTimestamp:
    case Value::Kind::kTimestampTz:
      return "a timestamp";
    case Value::Kind::kDecimal:
      return "a decimal";
    case Value::Kind::kList:
      return "a list";
    case Value::Kind::kStruct:
      return "a struct";
    case Value::Kind::kMap:
      return "a map";
  }
  return "a value";
}

duckdb_hugeint ToHugeInt(Int128 value) {
  auto bits = static_cast<UInt128>(value);
  return {static_cast<uint64_t>(bits), static_cast<int64_t>(bits >> 64)};
}

struct ValueOwner {
  ValueOwner() = default;
  explicit ValueOwner(duckdb_value v) : value(v) {}
  ValueOwner(ValueOwner&& other) noexcept : value(other.value) { other.value = nullptr; }
  ValueOwner(const ValueOwner&) = delete;
  ValueOwner& operator=(const ValueOwner&) = delete;
  ValueOwner& operator=(ValueOwner&&) = delete;
  ~ValueOwner() {
    if (value != nullptr) duckdb_destroy_value(&value);
  }
  duckdb_value value = nullptr;
};

using internal::LogicalTypeOwner;

// `unscaled` at scale `from` rescaled to scale `to`; nullopt when digits would be lost.
std::optional<Int128> Rescale(Int128 unscaled, int from, int to) {
  for (; from < to; ++from) {
    if (unscaled > std::numeric_limits<Int128>::max() / 10 ||
        unscaled < std::numeric_limits<Int128>::min() / 10) {
      return std::nullopt;
    }
    unscaled *= 10;
  }
  for (; from > to; --from) {
    if (unscaled % 10 != 0) return std::nullopt;
    unscaled /= 10;
  }
  return unscaled;
}

Result<ValueOwner> NestedValue(const Value& value, duckdb_logical_type type);

Result<ValueOwner> Children(const Value& value, duckdb_logical_type type, bool array) {
  LogicalTypeOwner child(array ? duckdb_array_type_child_type(type)
                               : duckdb_list_type_child_type(type));
  std::vector<ValueOwner> owners;
  std::vector<duckdb_value> handles;
  owners.reserve(value.list().size());
  for (size_t item_idx = 0; item_idx < value.list().size(); ++item_idx) {
    auto item = NestedValue(value.list()[item_idx], child.type);
    if (!item.ok()) return item.status().WithContext(fmt::format("element {}", item_idx));
    owners.push_back(std::move(item).value());
    handles.push_back(owners.back().value);
  }
  if (array && handles.size() != duckdb_array_type_array_size(type)) {
    return Status::InvalidArgument("an array of {} elements holds {}",
                                   duckdb_array_type_array_size(type), handles.size());
  }
  return ValueOwner(array ? duckdb_create_array_value(child.type, handles.data(), handles.size())
                          : duckdb_create_list_value(child.type, handles.data(), handles.size()));
}

Result<ValueOwner> StructValue(const Value& value, duckdb_logical_type type) {
  idx_t count = duckdb_struct_type_child_count(type);
  const ValueFields& fields = value.fields();
  std::vector<ValueOwner> owners;
  std::vector<duckdb_value> handles;
  for (idx_t field_idx = 0; field_idx < count; ++field_idx) {
    std::string name = TakeDuckDbString(duckdb_struct_type_child_name(type, field_idx));
    const Value* field = value.Field(name);
    if (field == nullptr && field_idx < fields.size()) field = &fields[field_idx].second;
    LogicalTypeOwner child(duckdb_struct_type_child_type(type, field_idx));
    auto converted = NestedValue(field != nullptr ? *field : Value::Null(), child.type);
    if (!converted.ok()) return converted.status().WithContext("field " + name);
    owners.push_back(std::move(converted).value());
    handles.push_back(owners.back().value);
  }
  return ValueOwner(duckdb_create_struct_value(type, handles.data()));
}

Result<ValueOwner> MapValue(const Value& value, duckdb_logical_type type) {
  LogicalTypeOwner key_type(duckdb_map_type_key_type(type));
  LogicalTypeOwner value_type(duckdb_map_type_value_type(type));
  duckdb_type key_id = duckdb_get_type_id(key_type.type);
  std::vector<ValueOwner> owners;
  std::vector<duckdb_value> keys;
  std::vector<duckdb_value> values;
  for (const auto& [key, item] : value.fields()) {
    // Map keys travel as text (ReadCell renders other keys with ToString).
    Value typed_key = Value::String(key);
    if (key_id != DUCKDB_TYPE_VARCHAR) {
      int64_t number = 0;
      auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), number);
      if (error != std::errc() || end != key.data() + key.size()) {
        return Status::NotSupported("map key {} is not text or an integer", key);
      }
      typed_key = Value::Int(number);
    }
    FRESHET_ASSIGN_OR_RETURN(ValueOwner key_value, NestedValue(typed_key, key_type.type));
    auto converted = NestedValue(item, value_type.type);
    if (!converted.ok()) return converted.status().WithContext("map key " + key);
    owners.push_back(std::move(key_value));
    keys.push_back(owners.back().value);
    owners.push_back(std::move(converted).value());
    values.push_back(owners.back().value);
  }
  return ValueOwner(duckdb_create_map_value(type, keys.data(), values.data(), keys.size()));
}

// A DuckDB value of exactly `type` (DuckDB does not cast the elements of nested values).
Result<ValueOwner> NestedValue(const Value& value, duckdb_logical_type type) {
  using Kind = Value::Kind;
  duckdb_type id = duckdb_get_type_id(type);
  auto mismatch = [&] {
    return Status::InvalidArgument("{} cannot be stored as DuckDB type id {}", KindName(value.kind),
                                   static_cast<int>(id));
  };
  if (value.is_null()) return ValueOwner(duckdb_create_null_value());
  bool is_int = value.kind == Kind::kInt || value.kind == Kind::kBool;
  auto in_range = [&](int64_t low, int64_t high) {
    return is_int && value.integer() >= low && value.integer() <= high;
  };
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
      if (value.kind != Kind::kBool) return mismatch();
      return ValueOwner(duckdb_create_bool(value.integer() != 0));
    case DUCKDB_TYPE_TINYINT:
      if (!in_range(INT8_MIN, INT8_MAX)) return mismatch();
      return ValueOwner(duckdb_create_int8(static_cast<int8_t>(value.integer())));
    case DUCKDB_TYPE_SMALLINT:
      if (!in_range(INT16_MIN, INT16_MAX)) return mismatch();
      return ValueOwner(duckdb_create_int16(static_cast<int16_t>(value.integer())));
    case DUCKDB_TYPE_INTEGER:
      if (!in_range(INT32_MIN, INT32_MAX)) return mismatch();
      return ValueOwner(duckdb_create_int32(static_cast<int32_t>(value.integer())));
    case DUCKDB_TYPE_BIGINT:
      if (!is_int) return mismatch();
      return ValueOwner(duckdb_create_int64(value.integer()));
    case DUCKDB_TYPE_UBIGINT:
      if (value.kind == Kind::kUInt)
        return ValueOwner(duckdb_create_uint64(value.unsigned_integer()));
      if (!in_range(0, INT64_MAX)) return mismatch();
      return ValueOwner(duckdb_create_uint64(static_cast<uint64_t>(value.integer())));
    case DUCKDB_TYPE_HUGEINT:
      if (value.kind == Kind::kHugeInt) {
        return ValueOwner(duckdb_create_hugeint(ToHugeInt(value.decimal().unscaled)));
      }
      if (!is_int) return mismatch();
      return ValueOwner(duckdb_create_hugeint(ToHugeInt(value.integer())));
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE: {
      double real = 0;
      if (value.kind == Kind::kDouble) {
        real = value.real();
      } else if (value.kind == Kind::kInt) {
        real = static_cast<double>(value.integer());
      } else {
        return mismatch();
      }
      return ValueOwner(id == DUCKDB_TYPE_FLOAT ? duckdb_create_float(static_cast<float>(real))
                                                : duckdb_create_double(real));
    }
    case DUCKDB_TYPE_DECIMAL: {
      Int128 unscaled = 0;
      int scale = 0;
      if (value.kind == Kind::kDecimal) {
        unscaled = value.decimal().unscaled;
        scale = value.decimal().scale;
      } else if (is_int) {
        unscaled = value.integer();
      } else {
        return mismatch();
      }
      uint8_t width = duckdb_decimal_width(type);
      uint8_t target = duckdb_decimal_scale(type);
      auto rescaled = Rescale(unscaled, scale, target);
      if (!rescaled) {
        return Status::InvalidArgument("{} does not fit DECIMAL({},{})", value.ToString(), width,
                                       target);
      }
      return ValueOwner(duckdb_create_decimal({width, target, ToHugeInt(*rescaled)}));
    }
    case DUCKDB_TYPE_VARCHAR:
      if (value.kind != Kind::kString) return mismatch();
      return ValueOwner(duckdb_create_varchar_length(value.string().data(), value.string().size()));
    case DUCKDB_TYPE_BLOB:
      if (value.kind != Kind::kBlob && value.kind != Kind::kString) return mismatch();
      return ValueOwner(duckdb_create_blob(reinterpret_cast<const uint8_t*>(value.string().data()),
                                           value.string().size()));
    case DUCKDB_TYPE_DATE:
      if (value.kind != Kind::kDate) return mismatch();
      return ValueOwner(duckdb_create_date({static_cast<int32_t>(value.integer())}));
    case DUCKDB_TYPE_TIME:
      if (value.kind != Kind::kTime) return mismatch();
      return ValueOwner(duckdb_create_time({value.integer()}));
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      if (value.kind != Kind::kTimestamp && value.kind != Kind::kTimestampTz) return mismatch();
      return ValueOwner(id == DUCKDB_TYPE_TIMESTAMP
                            ? duckdb_create_timestamp({value.integer()})
                            : duckdb_create_timestamp_tz({value.integer()}));
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
      if (value.kind != Kind::kList) return mismatch();
      return Children(value, type, id == DUCKDB_TYPE_ARRAY);
    case DUCKDB_TYPE_STRUCT:
      if (value.kind != Kind::kStruct) return mismatch();
      return StructValue(value, type);
    case DUCKDB_TYPE_MAP:
      if (value.kind != Kind::kMap) return mismatch();
      return MapValue(value, type);
    default:
      return Status::NotSupported("values of DuckDB type id {} inside a nested value",
                                  static_cast<int>(id));
  }
}

}  // namespace

void Appender::Deleter::operator()(_duckdb_appender* appender) const noexcept {
  duckdb_appender_destroy(&appender);
}

void Appender::TypeDeleter::operator()(_duckdb_logical_type* type) const noexcept {
  duckdb_destroy_logical_type(&type);
}

Appender::Appender(Appender&&) noexcept = default;
Appender& Appender::operator=(Appender&&) noexcept = default;
Appender::~Appender() = default;

Result<Appender> Appender::Open(Connection& connection, const std::string& table,
                                const std::string& schema, const std::string& catalog) {
  Appender out;
  out.table_ = schema.empty() ? table : schema + "." + table;
  duckdb_appender handle = nullptr;
  duckdb_state state = duckdb_appender_create_ext(connection.handle_.get(), OrNull(catalog),
                                                  OrNull(schema), table.c_str(), &handle);
  out.handle_.reset(handle);  // destroyed even when creation failed, as duckdb.h requires
  if (state == DuckDBError) {
    std::string message = "no such table";
    duckdb_error_data error = handle != nullptr ? duckdb_appender_error_data(handle) : nullptr;
    if (error != nullptr) {
      if (duckdb_error_data_has_error(error)) message = duckdb_error_data_message(error);
      duckdb_destroy_error_data(&error);
    }
    return Status::NotFound("cannot append to table {}: {}", out.table_, message);
  }
  duckdb_table_description description = nullptr;
  duckdb_state described = duckdb_table_description_create_ext(
      connection.handle_.get(), OrNull(catalog), OrNull(schema), table.c_str(), &description);
  struct DescriptionOwner {
    duckdb_table_description* description;
    ~DescriptionOwner() { duckdb_table_description_destroy(description); }
  } description_owner{&description};
  if (described == DuckDBError) {
    return Status::NotFound("cannot describe table {}: {}", out.table_,
                            duckdb_table_description_error(description));
  }
  idx_t count = duckdb_appender_column_count(handle);
  for (idx_t column = 0; column < count; ++column) {
    out.columns_.push_back(
        TakeDuckDbString(duckdb_table_description_get_column_name(description, column)));
    TypeHandle type(duckdb_appender_column_type(handle, column));
    duckdb_type id = duckdb_get_type_id(type.get());
    bool nested = id == DUCKDB_TYPE_LIST || id == DUCKDB_TYPE_ARRAY || id == DUCKDB_TYPE_STRUCT ||
                  id == DUCKDB_TYPE_MAP;
    out.decimal_.push_back(id == DUCKDB_TYPE_DECIMAL);
    out.type_ids_.push_back(static_cast<int>(id));
    out.types_.push_back(nested ? TypeHandle(duckdb_appender_column_type(handle, column))
                                : TypeHandle());
    out.column_types_.push_back(std::move(type));
  }
  return out;
}

Status Appender::Fail(std::string detail) {
  Code code = Code::kInvalidArgument;
  if (detail.empty()) {
    duckdb_error_data error = duckdb_appender_error_data(handle_.get());
    if (error != nullptr) {
      if (duckdb_error_data_has_error(error)) {
        detail = duckdb_error_data_message(error);
        code = CodeForDuckDbError(duckdb_error_data_error_type(error));
      }
      duckdb_destroy_error_data(&error);
    }
    if (detail.empty()) detail = "DuckDB's appender failed";
  }
  std::string where =
      column_ < columns_.size()
          ? fmt::format("column {} ({} of {})", columns_[column_], column_ + 1, columns_.size())
          : fmt::format("row end ({} columns)", columns_.size());
  error_ = Status(code, fmt::format("appending to {}, {}: {}", table_, where, detail));
  return error_;
}

Status Appender::Append(const Value& value) {
  if (!error_.ok()) return error_;
  if (column_ >= columns_.size()) {
    return Fail(fmt::format("the row has more than {} values", columns_.size()));
  }
  duckdb_appender appender = handle_.get();
  duckdb_state state = DuckDBSuccess;
  using Kind = Value::Kind;
  if (types_[column_] != nullptr) return AppendNested(value);
  switch (value.kind) {
    case Kind::kNull:
      state = duckdb_append_null(appender);
      break;
    case Kind::kBool:
      state = duckdb_append_bool(appender, value.integer() != 0);
      break;
    case Kind::kInt:
      state = duckdb_append_int64(appender, value.integer());
      break;
    case Kind::kUInt:
      state = duckdb_append_uint64(appender, value.unsigned_integer());
      break;
    case Kind::kDouble:
      state = duckdb_append_double(appender, value.real());
      break;
    case Kind::kString:
      state = duckdb_append_varchar_length(appender, value.string().data(), value.string().size());
      break;
    case Kind::kBlob:
      state = duckdb_append_blob(appender, value.string().data(), value.string().size());
      break;
    case Kind::kDate:
      if (value.integer() < INT32_MIN || value.integer() > INT32_MAX) {
        return Fail(fmt::format("date {} days from 1970-01-01 is out of range", value.integer()));
      }
      state = duckdb_append_date(appender, {static_cast<int32_t>(value.integer())});
      break;
    case Kind::kTime:
      state = duckdb_append_time(appender, {value.integer()});
      break;
    case Kind::kTimestamp:
    case Kind::kTimestampTz:
      // The appender stores a timestamp into a TIMESTAMPTZ column as the same instant (UTC
      // micros); no session time zone applies.
      state = duckdb_append_timestamp(appender, {value.integer()});
      break;
    case Kind::kDecimal: {
      // Exact text: DuckDB parses it into the column's type (any DECIMAL width and scale,
      // DOUBLE, VARCHAR) and rejects what does not fit.
      std::string text = value.ToString();
      state = duckdb_append_varchar_length(appender, text.data(), text.size());
      break;
    }
    case Kind::kHugeInt:
      state = duckdb_append_hugeint(appender, ToHugeInt(value.decimal().unscaled));
      break;
    case Kind::kList:
    case Kind::kStruct:
    case Kind::kMap:
      return Fail(
          fmt::format("{} cannot be stored in a column that is not nested", KindName(value.kind)));
  }
  if (state == DuckDBError) return Fail("");
  ++column_;
  return Status::Ok();
}

Status Appender::AppendNested(const Value& value) {
  auto converted = NestedValue(value, types_[column_].get());
  if (!converted.ok()) return Fail(converted.status().message());
  if (converted->value == nullptr) {
    // DuckDB's C API refuses to build some nested values, such as an empty list (it wants at
    // least one element).
    error_ = Status::NotSupported("appending to {}, column {}: DuckDB cannot build {} here", table_,
                                  columns_[column_], value.ToString());
    return error_;
  }
  if (duckdb_append_value(handle_.get(), converted->value) == DuckDBError) return Fail("");
  ++column_;
  return Status::Ok();
}

Status Appender::EndRow() {
  if (!error_.ok()) return error_;
  if (column_ != columns_.size()) {
    return Fail(fmt::format("the row ends after {} values", column_));
  }
  if (duckdb_appender_end_row(handle_.get()) == DuckDBError) return Fail("");
  column_ = 0;
  values_pending_ = true;
  return Status::Ok();
}

Status Appender::AppendRow(const Row& row) {
  if (!error_.ok()) return error_;
  if (row.size() != columns_.size()) {
    // Nothing was appended yet: the appender stays usable.
    return Status::InvalidArgument("appending to {}: a row of {} values for {} columns", table_,
                                   row.size(), columns_.size());
  }
  for (const Value& value : row) FRESHET_RETURN_IF_ERROR(Append(value));
  return EndRow();
}

bool Appender::FitsColumn(const Value& value, size_t column) const {
  using Kind = Value::Kind;
  auto in_range = [&](int64_t low, int64_t high) {
    return value.kind == Kind::kInt && value.integer() >= low && value.integer() <= high;
  };
  if (value.kind == Kind::kNull) return true;
  switch (static_cast<duckdb_type>(type_ids_[column])) {
    case DUCKDB_TYPE_BOOLEAN:
      return value.kind == Kind::kBool;
    case DUCKDB_TYPE_TINYINT:
      return in_range(INT8_MIN, INT8_MAX);
    case DUCKDB_TYPE_SMALLINT:
      return in_range(INT16_MIN, INT16_MAX);
    case DUCKDB_TYPE_INTEGER:
      return in_range(INT32_MIN, INT32_MAX);
    case DUCKDB_TYPE_BIGINT:
      return value.kind == Kind::kInt;
    case DUCKDB_TYPE_DOUBLE:
      return value.kind == Kind::kDouble;
    case DUCKDB_TYPE_VARCHAR:
      return value.kind == Kind::kString;
    case DUCKDB_TYPE_BLOB:
      return value.kind == Kind::kBlob;
    case DUCKDB_TYPE_DATE:
      return value.kind == Kind::kDate && value.integer() >= INT32_MIN &&
             value.integer() <= INT32_MAX;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return value.kind == Kind::kTimestamp || value.kind == Kind::kTimestampTz;
    default:
      return false;
  }
}

Status Appender::AppendRows(size_t count,
                            const std::function<const Value&(size_t row, size_t column)>& value) {
  if (!error_.ok()) return error_;
  if (column_ != 0) return Fail("AppendRows in the middle of a row");
  size_t width = columns_.size();
  bool fits = true;
  for (size_t row = 0; row < count && fits; ++row) {
    for (size_t column = 0; column < width && fits; ++column) {
      fits = FitsColumn(value(row, column), column);
    }
  }
  if (!fits) {
    for (size_t row = 0; row < count; ++row) {
      for (size_t column = 0; column < width; ++column) {
        FRESHET_RETURN_IF_ERROR(Append(value(row, column)));
      }
      FRESHET_RETURN_IF_ERROR(EndRow());
    }
    return Status::Ok();
  }
  // DuckDB buffers value-by-value rows apart from appended chunks: flush them first so the
  // table keeps the order rows came in.
  if (values_pending_) FRESHET_RETURN_IF_ERROR(Flush());
  std::vector<duckdb_logical_type> types;
  for (const TypeHandle& type : column_types_) types.push_back(type.get());
  const size_t capacity = duckdb_vector_size();
  for (size_t start = 0; start < count; start += capacity) {
    size_t rows = std::min(capacity, count - start);
    duckdb_data_chunk chunk = duckdb_create_data_chunk(types.data(), width);
    struct ChunkOwner {
      duckdb_data_chunk* chunk;
      ~ChunkOwner() { duckdb_destroy_data_chunk(chunk); }
    } owner{&chunk};
    for (size_t column = 0; column < width; ++column) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, column);
      void* data = duckdb_vector_get_data(vector);
      auto type = static_cast<duckdb_type>(type_ids_[column]);
      for (size_t row = 0; row < rows; ++row) {
        const Value& cell = value(start + row, column);
        if (cell.kind == Value::Kind::kNull) {
          duckdb_vector_ensure_validity_writable(vector);
          duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vector), row);
          continue;
        }
        switch (type) {
          case DUCKDB_TYPE_BOOLEAN:
            static_cast<bool*>(data)[row] = cell.integer() != 0;
            break;
          case DUCKDB_TYPE_TINYINT:
            static_cast<int8_t*>(data)[row] = static_cast<int8_t>(cell.integer());
            break;
          case DUCKDB_TYPE_SMALLINT:
            static_cast<int16_t*>(data)[row] = static_cast<int16_t>(cell.integer());
            break;
          case DUCKDB_TYPE_INTEGER:
          case DUCKDB_TYPE_DATE:
            static_cast<int32_t*>(data)[row] = static_cast<int32_t>(cell.integer());
            break;
          case DUCKDB_TYPE_BIGINT:
          case DUCKDB_TYPE_TIMESTAMP:
          case DUCKDB_TYPE_TIMESTAMP_TZ:
            static_cast<int64_t*>(data)[row] = cell.integer();
            break;
          case DUCKDB_TYPE_DOUBLE:
            static_cast<double*>(data)[row] = cell.real();
            break;
          default:  // VARCHAR and BLOB
            duckdb_vector_assign_string_element_len(vector, row, cell.string().data(),
                                                    cell.string().size());
            break;
        }
      }
    }
    duckdb_data_chunk_set_size(chunk, rows);
    if (duckdb_append_data_chunk(handle_.get(), chunk) == DuckDBError) {
      column_ = columns_.size();
      return Fail("");
    }
  }
  return Status::Ok();
}

Status Appender::Flush() {
  if (!error_.ok()) return error_;
  values_pending_ = false;
  if (duckdb_appender_flush(handle_.get()) == DuckDBError) {
    column_ = columns_.size();
    Status status = Fail("");
    error_ = Status(status.code(), "flushing: " + status.message());
    return error_;
  }
  return Status::Ok();
}

}  // namespace freshet::engine
