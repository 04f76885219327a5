#include "lake/export.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/sql_quote.h"

namespace freshet::lake {
namespace {

using engine::Value;

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
void CivilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  year = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++year;
}

std::string RenderDate(int64_t days) {
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(days, year, month, day);
  if (year < 0 || year > 9999) {
    return fmt::format("{}{:06d}-{:02d}-{:02d}", year < 0 ? '-' : '+', std::llabs(year), month,
                       day);
  }
  return fmt::format("{:04d}-{:02d}-{:02d}", year, month, day);
}

std::string RenderTimestamp(int64_t micros, bool utc) {
  int64_t days = micros / 86400000000LL;
  int64_t rest = micros % 86400000000LL;
  if (rest < 0) {
    rest += 86400000000LL;
    --days;
  }
  int64_t seconds = rest / 1000000;
  return fmt::format("{}T{:02d}:{:02d}:{:02d}.{:06d}{}", RenderDate(days), seconds / 3600,
                     seconds / 60 % 60, seconds % 60, rest % 1000000, utc ? "Z" : "");
}

// Lays out shortest digits per ECMAScript's Number::toString.
std::string EcmaLayout(const std::string& digits, int n) {
  int k = static_cast<int>(digits.size());
  if (k <= n && n <= 21) return digits + std::string(static_cast<size_t>(n - k), '0');
  if (0 < n && n <= 21) return digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  int exponent = n - 1;
  std::string mantissa = k == 1 ? digits : digits.substr(0, 1) + "." + digits.substr(1);
  return fmt::format("{}e{}{}", mantissa, exponent < 0 ? '-' : '+', std::abs(exponent));
}

}  // namespace

std::string RenderFloatingPoint(double value, bool is_float) {
  if (std::isnan(value)) return "\"NaN\"";
  if (std::isinf(value)) return value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  char buffer[64];
  std::to_chars_result result;
  double magnitude = std::fabs(value);
  if (is_float) {
    result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(magnitude),
                           std::chars_format::scientific);
  } else {
    result =
        std::to_chars(buffer, buffer + sizeof buffer, magnitude, std::chars_format::scientific);
  }
  std::string text(buffer, result.ptr);
  size_t e = text.find('e');
  std::string mantissa = text.substr(0, e);
  int exponent = std::stoi(text.substr(e + 1));
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  return (value < 0 ? "-" : "") + EcmaLayout(digits, exponent + 1);
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

Result<std::string> RenderJsonValue(const DataType& type, const Value& value) {
  if (value.is_null()) return std::string("null");
  auto mismatch = [&]() {
    return Status::Internal("cannot render a {} value as Delta type {}", value.ToString(),
                            type.DeltaName());
  };
  switch (type.kind) {
    case DataType::Kind::kBoolean:
      if (value.kind != Value::Kind::kBool) return mismatch();
      return std::string(value.integer() != 0 ? "true" : "false");
    case DataType::Kind::kByte:
    case DataType::Kind::kShort:
    case DataType::Kind::kInteger:
    case DataType::Kind::kLong:
      if (value.kind == Value::Kind::kInt) return std::to_string(value.integer());
      if (value.kind == Value::Kind::kUInt) return std::to_string(value.unsigned_integer());
      return mismatch();
    case DataType::Kind::kFloat:
    case DataType::Kind::kDouble:
      if (value.kind != Value::Kind::kDouble) return mismatch();
      return RenderFloatingPoint(value.real(), type.kind == DataType::Kind::kFloat);
    case DataType::Kind::kDecimal:
      if (value.kind != Value::Kind::kDecimal) return mismatch();
      return JsonString(value.ToString());
    case DataType::Kind::kString:
      if (value.kind != Value::Kind::kString) return mismatch();
      return JsonString(value.string());
    case DataType::Kind::kBinary: {
      if (value.kind != Value::Kind::kBlob && value.kind != Value::Kind::kString) {
        return mismatch();
      }
      std::string hex;
      for (char c : value.string()) hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
      return JsonString(hex);
    }
    case DataType::Kind::kDate:
      if (value.kind != Value::Kind::kDate) return mismatch();
      return JsonString(RenderDate(value.integer()));
    case DataType::Kind::kTimestamp:
    case DataType::Kind::kTimestampNtz:
      if (value.kind != Value::Kind::kTimestamp && value.kind != Value::Kind::kTimestampTz) {
        return mismatch();
      }
      return JsonString(RenderTimestamp(value.integer(), type.kind == DataType::Kind::kTimestamp));
    case DataType::Kind::kArray: {
      if (value.kind != Value::Kind::kList) return mismatch();
      std::string out = "[";
      for (const Value& item : value.list()) {
        FRESHET_ASSIGN_OR_RETURN(std::string rendered, RenderJsonValue(type.children[0], item));
        out += (out.size() > 1 ? "," : "") + rendered;
      }
      return out + "]";
    }
    case DataType::Kind::kMap: {
      if (value.kind != Value::Kind::kList) return mismatch();
      std::vector<std::pair<std::string, std::string>> entries;
      for (const Value& entry : value.list()) {
        if (entry.kind != Value::Kind::kStruct || entry.fields().size() != 2) return mismatch();
        FRESHET_ASSIGN_OR_RETURN(std::string key,
                                 RenderJsonValue(type.children[0], entry.fields()[0].second));
        FRESHET_ASSIGN_OR_RETURN(std::string item,
                                 RenderJsonValue(type.children[1], entry.fields()[1].second));
        entries.emplace_back(std::move(key), std::move(item));
      }
      std::sort(entries.begin(), entries.end());
      std::string out = "[";
      for (const auto& [key, item] : entries) {
        out += fmt::format("{}[{},{}]", out.size() > 1 ? "," : "", key, item);
      }
      return out + "]";
    }
    case DataType::Kind::kStruct: {
      if (value.kind != Value::Kind::kStruct || value.fields().size() != type.fields.size()) {
        return mismatch();
      }
      std::string out = "{";
      for (size_t i = 0; i < type.fields.size(); ++i) {
        FRESHET_ASSIGN_OR_RETURN(std::string rendered,
                                 RenderJsonValue(type.fields[i].type, value.fields()[i].second));
        out += fmt::format("{}{}:{}", i > 0 ? "," : "", JsonString(type.fields[i].name), rendered);
      }
      return out + "}";
    }
  }
  return mismatch();
}

namespace {

bool ContainsMap(const DataType& type) {
  if (type.kind == DataType::Kind::kMap) return true;
  for (const auto& child : type.children) {
    if (ContainsMap(child)) return true;
  }
  for (const auto& field : type.fields) {
    if (ContainsMap(field.type)) return true;
  }
  return false;
}

std::string MapsAsEntries(const DataType& type, const std::string& source, int& variables) {
  if (!ContainsMap(type)) return source;
  switch (type.kind) {
    case DataType::Kind::kMap: {
      std::string var = fmt::format("e{}", ++variables);
      return fmt::format(
          "list_transform(map_entries({}), lambda {}: struct_pack(k := {}, v := {}))", source, var,
          MapsAsEntries(type.children[0], var + ".key", variables),
          MapsAsEntries(type.children[1], var + ".value", variables));
    }
    case DataType::Kind::kArray: {
      std::string var = fmt::format("e{}", ++variables);
      return fmt::format("list_transform({}, lambda {}: {})", source, var,
                         MapsAsEntries(type.children[0], var, variables));
    }
    default: {
      std::string fields;
      for (const auto& field : type.fields) {
        fields += fmt::format(
            "{}{} := {}", fields.empty() ? "" : ", ", QuoteIdentifier(field.name),
            MapsAsEntries(field.type,
                          fmt::format("struct_extract({}, {})", source, QuoteLiteral(field.name)),
                          variables));
      }
      return fmt::format("CASE WHEN {} IS NULL THEN NULL ELSE struct_pack({}) END", source, fields);
    }
  }
}

}  // namespace

std::string JsonlSelect(const Schema& schema, const std::string& scan_sql) {
  std::string columns;
  int variables = 0;
  for (const auto& field : schema.fields) {
    std::string source = "t." + QuoteIdentifier(field.name);
    columns +=
        fmt::format("{}{} AS {}", columns.empty() ? "" : ", ",
                    MapsAsEntries(field.type, source, variables), QuoteIdentifier(field.name));
  }
  return fmt::format("SELECT {} FROM ({}) AS t", columns.empty() ? "*" : columns, scan_sql);
}

Result<std::vector<std::string>> ExportJsonlLines(engine::Connection& connection,
                                                  const Schema& schema, const std::string& scan_sql,
                                                  bool sort) {
  FRESHET_ASSIGN_OR_RETURN(engine::QueryResult result,
                           connection.Query(JsonlSelect(schema, scan_sql)));
  std::vector<std::string> lines;
  lines.reserve(result.rows.size());
  for (const auto& row : result.rows) {
    std::string line = "{";
    for (size_t i = 0; i < schema.fields.size() && i < row.size(); ++i) {
      FRESHET_ASSIGN_OR_RETURN(std::string rendered,
                               RenderJsonValue(schema.fields[i].type, row[i]));
      line += fmt::format("{}{}:{}", i > 0 ? "," : "", JsonString(schema.fields[i].name), rendered);
    }
    lines.push_back(line + "}");
  }
  if (sort) std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace freshet::lake
