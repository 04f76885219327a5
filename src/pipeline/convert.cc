#include "pipeline/convert.h"

#include <cstring>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

namespace freshet::pipeline {
namespace {

using engine::Value;
using Kind = lake::DataType::Kind;

constexpr int kMaxDecimalPrecision = 38;

Value Typed(Value::Kind kind, int64_t integer) { return Value{kind, integer}; }

template <typename T>
T BigEndian(std::string_view bytes) {
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(value));
  if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(value));
  if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(value));
}

// The common binary scalars straight into a Value, without the Datum DecodeValue builds (the
// pipeline's hot path: a cell of these types costs no allocation but its string's). nullopt
// sends the cell down the general path (DecodeValue, ToEngineValue), which also handles
// domains, infinities and malformed bytes, and gives the same Values.
std::optional<Value> FastBinary(std::string_view bytes, uint32_t type, Kind kind) {
  switch (type) {
    case pg::oid::kBool:
      if (kind != Kind::kBoolean || bytes.size() != 1) break;
      return Value::Bool(bytes[0] != 0);
    case pg::oid::kInt2:
      if (kind != Kind::kShort || bytes.size() != 2) break;
      return Value::Int(BigEndian<int16_t>(bytes));
    case pg::oid::kInt4:
      if (kind != Kind::kInteger || bytes.size() != 4) break;
      return Value::Int(BigEndian<int32_t>(bytes));
    case pg::oid::kInt8:
      if (kind != Kind::kLong || bytes.size() != 8) break;
      return Value::Int(BigEndian<int64_t>(bytes));
    case pg::oid::kFloat4: {
      if (kind != Kind::kFloat || bytes.size() != 4) break;
      uint32_t raw = BigEndian<uint32_t>(bytes);
      float real;
      std::memcpy(&real, &raw, sizeof(real));
      return Value{Value::Kind::kDouble, static_cast<double>(real)};
    }
    case pg::oid::kFloat8: {
      if (kind != Kind::kDouble || bytes.size() != 8) break;
      uint64_t raw = BigEndian<uint64_t>(bytes);
      double real;
      std::memcpy(&real, &raw, sizeof(real));
      return Value{Value::Kind::kDouble, real};
    }
    case pg::oid::kText:
    case pg::oid::kVarchar:
    case pg::oid::kBpchar:
      if (kind != Kind::kString) break;
      return Value::String(std::string(bytes));
    case pg::oid::kDate: {
      if (kind != Kind::kDate || bytes.size() != 4) break;
      int32_t days = BigEndian<int32_t>(bytes);
      if (days == INT32_MAX || days == INT32_MIN) break;  // ±infinity
      return Typed(Value::Kind::kDate, days + kPostgresEpochDays);
    }
    case pg::oid::kTimestamp:
    case pg::oid::kTimestamptz: {
      bool with_zone = type == pg::oid::kTimestamptz;
      if (kind != (with_zone ? Kind::kTimestamp : Kind::kTimestampNtz) || bytes.size() != 8) {
        break;
      }
      int64_t micros = BigEndian<int64_t>(bytes);
      // ±infinity, and the years past what the lake holds, take the general path.
      if (micros == INT64_MIN ||
          micros > std::numeric_limits<int64_t>::max() - kPostgresEpochMicros) {
        break;
      }
      return Typed(with_zone ? Value::Kind::kTimestampTz : Value::Kind::kTimestamp,
                   micros + kPostgresEpochMicros);
    }
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

lake::DataType LakeDataTypeFor(uint32_t type_oid, int32_t type_modifier,
                               const pg::TypeRegistry& registry) {
  switch (pg::LakeTypeFor(type_oid, type_modifier, registry)) {
    case pg::LakeType::kBoolean:
      return lake::DataType::Primitive(Kind::kBoolean);
    case pg::LakeType::kInt16:
      return lake::DataType::Primitive(Kind::kShort);
    case pg::LakeType::kInt32:
      return lake::DataType::Primitive(Kind::kInteger);
    case pg::LakeType::kInt64:
      return lake::DataType::Primitive(Kind::kLong);
    case pg::LakeType::kFloat32:
      return lake::DataType::Primitive(Kind::kFloat);
    case pg::LakeType::kFloat64:
      return lake::DataType::Primitive(Kind::kDouble);
    case pg::LakeType::kDecimal: {
      if (registry.Resolve(type_oid) == pg::oid::kMoney) return lake::DataType::Decimal(19, 2);
      // numeric(p, s): typmod is ((p << 16) | s) + 4; s may be negative or above p since
      // PostgreSQL 15, which no Delta decimal holds.
      int32_t packed = type_modifier - 4;
      int precision = (packed >> 16) & 0xffff;
      int scale = static_cast<int16_t>(packed & 0xffff);
      if (precision < 1 || precision > kMaxDecimalPrecision || scale < 0 || scale > precision) {
        return lake::DataType::Primitive(Kind::kString);
      }
      return lake::DataType::Decimal(precision, scale);
    }
    case pg::LakeType::kBinary:
      return lake::DataType::Primitive(Kind::kBinary);
    case pg::LakeType::kDate:
      return lake::DataType::Primitive(Kind::kDate);
    case pg::LakeType::kTimestamp:
      return lake::DataType::Primitive(Kind::kTimestampNtz);
    case pg::LakeType::kTimestampTz:
      return lake::DataType::Primitive(Kind::kTimestamp);
    // Delta has no time, interval, uuid or json type, and arrays keep PostgreSQL's
    // dimensions and bounds only as text: these are PostgreSQL's text output.
    case pg::LakeType::kString:
    case pg::LakeType::kTime:
    case pg::LakeType::kInterval:
    case pg::LakeType::kUuid:
    case pg::LakeType::kJson:
    case pg::LakeType::kList:
      return lake::DataType::Primitive(Kind::kString);
  }
  return lake::DataType::Primitive(Kind::kString);
}

std::string SourceTypeMetadata(const std::string& source_type, int attnum) {
  nlohmann::json metadata = nlohmann::json::object();
  metadata["freshet.sourceType"] = source_type;
  if (attnum > 0) metadata[kAttnumMetadataKey] = attnum;
  return metadata.dump();
}

lake::Schema RelationSchema(const pg::Relation& relation, const pg::TypeRegistry& registry,
                            const std::vector<std::string>& source_types,
                            const std::vector<int>& attnums) {
  lake::Schema schema;
  for (size_t index = 0; index < relation.columns.size(); ++index) {
    const pg::Column& column = relation.columns[index];
    lake::StructField field{
        .name = column.name,
        .type = LakeDataTypeFor(column.type_oid, column.type_modifier, registry),
        .nullable = true,
    };
    if (index < source_types.size()) {
      field.metadata_json =
          SourceTypeMetadata(source_types[index], index < attnums.size() ? attnums[index] : 0);
    }
    schema.fields.push_back(std::move(field));
  }
  return schema;
}

Result<engine::Int128> ParseDecimalText(std::string_view text, int scale) {
  auto bad = [&] { return Status::InvalidArgument("'{}' is not a finite decimal number", text); };
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    negative = text[pos] == '-';
    ++pos;
  }
  engine::Int128 unscaled = 0;
  int fraction_digits = -1;  // -1 before the point
  bool any_digit = false;
  bool round_up = false;
  constexpr engine::Int128 kLimit = [] {
    engine::Int128 limit = 1;
    for (int i = 0; i < kMaxDecimalPrecision; ++i) limit *= 10;
    return limit;
  }();
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '.') {
      if (fraction_digits >= 0) return bad();
      fraction_digits = 0;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    any_digit = true;
    if (fraction_digits >= 0) {
      if (fraction_digits == scale) {
        // The first digit past the scale decides the rounding; the rest cannot change it.
        round_up = c >= '5';
        fraction_digits = scale + 1;
        continue;
      }
      if (fraction_digits > scale) continue;
      ++fraction_digits;
    }
    unscaled = unscaled * 10 + (c - '0');
    if (unscaled >= kLimit) return Status::InvalidArgument("{} does not fit 38 digits", text);
  }
  if (!any_digit) return bad();
  for (int digits = std::max(fraction_digits, 0); digits < scale; ++digits) {
    unscaled *= 10;
    if (unscaled >= kLimit) return Status::InvalidArgument("{} does not fit 38 digits", text);
  }
  if (round_up) ++unscaled;
  return negative ? -unscaled : unscaled;
}

Result<engine::Value> ToEngineValue(pg::Datum datum, const lake::DataType& type,
                                    std::string_view column, pg::UnrepresentableRule rule,
                                    pg::UnrepresentableCounters& counters) {
  if (datum.kind == pg::DatumKind::kNull) return Value::Null();
  if (datum.kind == pg::DatumKind::kUnchangedToast) {
    return Status::Internal("unchanged TOAST value of {} has no lake value", column);
  }
  if (type.kind == Kind::kDecimal || type.kind == Kind::kDate || type.kind == Kind::kTimestamp ||
      type.kind == Kind::kTimestampNtz) {
    FRESHET_ASSIGN_OR_RETURN(datum, pg::ToLakeValue(std::move(datum), rule, column, counters));
    if (datum.kind == pg::DatumKind::kNull) return Value::Null();
  }
  switch (type.kind) {
    case Kind::kBoolean:
      return Value::Bool(datum.i != 0);
    case Kind::kByte:
    case Kind::kShort:
    case Kind::kInteger:
    case Kind::kLong:
      return Value::Int(datum.i);
    case Kind::kFloat:
    case Kind::kDouble:
      return Value{Value::Kind::kDouble, datum.f};
    case Kind::kDecimal: {
      engine::Int128 unscaled = 0;
      if (datum.kind == pg::DatumKind::kMoney) {
        unscaled = datum.i;  // cents: money is decimal(19, 2)
      } else {
        auto parsed = ParseDecimalText(datum.s, type.scale);
        if (!parsed.ok()) {
          return Status::InvalidArgument("column {}: {}", column, parsed.status().message());
        }
        unscaled = *parsed;
      }
      return Value{Value::Kind::kDecimal,
                   engine::Decimal{.unscaled = unscaled,
                                   .width = static_cast<uint8_t>(type.precision),
                                   .scale = static_cast<uint8_t>(type.scale)}};
    }
    case Kind::kString:
      switch (datum.kind) {
        case pg::DatumKind::kString:
        case pg::DatumKind::kJson:
        case pg::DatumKind::kPgText:
          return Value::String(std::move(datum.s));
        default:
          return Value::String(pg::FormatPostgresText(datum));
      }
    case Kind::kBinary:
      return Value{Value::Kind::kBlob, std::move(datum.s)};
    case Kind::kDate:
      return Typed(Value::Kind::kDate, datum.i + kPostgresEpochDays);
    case Kind::kTimestamp:
    case Kind::kTimestampNtz:
      // PostgreSQL reaches 294276 AD; microseconds since 1970 in 64 bits stop in 294247.
      if (datum.i > std::numeric_limits<int64_t>::max() - kPostgresEpochMicros) {
        return Status::InvalidArgument("column {} holds {}, past the last timestamp the lake holds",
                                       column, pg::FormatPostgresText(datum));
      }
      return Typed(
          type.kind == Kind::kTimestamp ? Value::Kind::kTimestampTz : Value::Kind::kTimestamp,
          datum.i + kPostgresEpochMicros);
    case Kind::kArray:
    case Kind::kMap:
    case Kind::kStruct:
      break;
  }
  return Status::NotSupported("column {}: lake type {} is not written by the pipeline", column,
                              type.DeltaName());
}

RowConverter::RowConverter(const pg::Relation& relation, std::vector<LakeColumn> columns,
                           const pg::TypeRegistry& registry, pg::UnrepresentableRule rule)
    : columns_(std::move(columns)), registry_(&registry), rule_(rule) {
  for (const LakeColumn& column : columns_) {
    int found = -1;
    uint32_t type = 0;
    for (size_t index = 0; index < relation.columns.size(); ++index) {
      if (relation.columns[index].name == column.name) {
        found = static_cast<int>(index);
        type = relation.columns[index].type_oid;
        break;
      }
    }
    source_index_.push_back(found);
    source_type_.push_back(type);
  }
}

Result<std::vector<engine::Value>> RowConverter::ConvertTuple(const pg::Tuple& tuple,
                                                              std::vector<bool>* unchanged) const {
  std::vector<engine::Value> row;
  row.reserve(columns_.size());
  if (unchanged != nullptr) unchanged->clear();
  for (size_t index = 0; index < columns_.size(); ++index) {
    int source = source_index_[index];
    if (source < 0 || static_cast<size_t>(source) >= tuple.size()) {
      row.push_back(Value::Null());
      continue;
    }
    const pg::Value& cell = tuple[source];
    if (cell.kind == pg::ValueKind::kUnchangedToast) {
      row.push_back(Value::Null());
      // The flags are allocated only for the rows that need them.
      if (unchanged != nullptr) {
        unchanged->resize(columns_.size(), false);
        (*unchanged)[index] = true;
      }
      continue;
    }
    if (cell.kind == pg::ValueKind::kBinary) {
      if (std::optional<Value> fast =
              FastBinary(cell.bytes, source_type_[index], columns_[index].type.kind)) {
        row.push_back(std::move(*fast));
        continue;
      }
    }
    auto datum = pg::DecodeValue(cell, source_type_[index], *registry_);
    if (!datum.ok()) {
      return Status(datum.status().code(),
                    fmt::format("column {}: {}", columns_[index].name, datum.status().message()));
    }
    FRESHET_ASSIGN_OR_RETURN(Value value,
                             ToEngineValue(std::move(datum).value(), columns_[index].type,
                                           columns_[index].name, rule_, counters_));
    row.push_back(std::move(value));
  }
  return row;
}

Result<lake::RowChange> RowConverter::Convert(const pg::Change& change, uint64_t lsn) const {
  lake::RowChange out;
  out.lsn = lsn;
  switch (change.kind) {
    case pg::ChangeKind::kInsert:
    case pg::ChangeKind::kRead: {
      out.op = lake::ChangeOp::kInsert;
      FRESHET_ASSIGN_OR_RETURN(out.row, ConvertTuple(change.new_tuple, nullptr));
      break;
    }
    case pg::ChangeKind::kUpdate: {
      out.op = lake::ChangeOp::kUpdate;
      FRESHET_ASSIGN_OR_RETURN(out.row, ConvertTuple(change.new_tuple, &out.unchanged));
      if (change.old_kind != pg::OldTupleKind::kNone) {
        FRESHET_ASSIGN_OR_RETURN(out.old_row, ConvertTuple(change.old_tuple, nullptr));
      }
      break;
    }
    case pg::ChangeKind::kDelete: {
      out.op = lake::ChangeOp::kDelete;
      FRESHET_ASSIGN_OR_RETURN(out.old_row, ConvertTuple(change.old_tuple, nullptr));
      break;
    }
    case pg::ChangeKind::kTruncate:
      out.op = lake::ChangeOp::kTruncate;
      break;
  }
  return out;
}

}  // namespace freshet::pipeline
