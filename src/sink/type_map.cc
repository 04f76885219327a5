#include "sink/type_map.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/sql_quote.h"

namespace freshet::sink {
namespace {

using Kind = lake::DataType::Kind;

bool IsPlainTypeText(const std::string& text) {
  if (text.empty() || text.size() > 200) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
           c == '(' || c == ')' || c == ',' || c == '[' || c == ']' || c == '"' || c == '.' ||
           c == '_';
  });
}

bool IsJsonType(const std::string& pg_type) { return pg_type == "json" || pg_type == "jsonb"; }

// Text of one array element inside a PostgreSQL array literal: quoted, with \ and " escaped;
// nested lists become nested literals.
std::string ArrayLiteral(const lake::DataType& element, const std::string& list_sql, int depth);

std::string ElementText(const lake::DataType& element, const std::string& x, int depth) {
  if (element.kind == Kind::kArray) return ArrayLiteral(element.children[0], x, depth + 1);
  std::string text;
  if (element.kind == Kind::kBinary) {
    text = "'\\x' || hex(" + x + ")";
  } else if (element.is_nested()) {
    text = "CAST(to_json(" + x + ") AS VARCHAR)";
  } else {
    text = "CAST(" + x + " AS VARCHAR)";
  }
  return "'\"' || replace(replace(" + text + ", '\\', '\\\\'), '\"', '\\\"') || '\"'";
}

std::string ArrayLiteral(const lake::DataType& element, const std::string& list_sql, int depth) {
  std::string x = "x" + std::to_string(depth);
  // array_to_string of an empty list is NULL in DuckDB, hence the coalesce.
  return "CASE WHEN " + list_sql + " IS NULL THEN 'NULL' ELSE '{' || coalesce(array_to_string(" +
         "list_transform(" + list_sql + ", " + x + " -> CASE WHEN " + x +
         " IS NULL THEN 'NULL' ELSE " + ElementText(element, x, depth) + " END), ','), '') || " +
         "'}' END";
}

// The element type under any number of array levels.
const lake::DataType& Innermost(const lake::DataType& type) {
  const lake::DataType* element = &type;
  while (element->kind == Kind::kArray) element = &element->children[0];
  return *element;
}

}  // namespace

std::string PostgresTypeForDelta(const lake::DataType& type) {
  switch (type.kind) {
    case Kind::kBoolean:
      return "boolean";
    case Kind::kByte:
    case Kind::kShort:
      return "smallint";
    case Kind::kInteger:
      return "integer";
    case Kind::kLong:
      return "bigint";
    case Kind::kFloat:
      return "real";
    case Kind::kDouble:
      return "double precision";
    case Kind::kDecimal:
      return "numeric(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
    case Kind::kString:
      return "text";
    case Kind::kBinary:
      return "bytea";
    case Kind::kDate:
      return "date";
    case Kind::kTimestamp:
      return "timestamp with time zone";
    case Kind::kTimestampNtz:
      return "timestamp without time zone";
    case Kind::kArray: {
      // PostgreSQL arrays of any dimension share one type.
      const lake::DataType& element = Innermost(type);
      if (element.is_nested()) return "jsonb";
      return PostgresTypeForDelta(element) + "[]";
    }
    case Kind::kMap:
    case Kind::kStruct:
      return "jsonb";
  }
  return "text";
}

std::optional<std::string> SourceType(const lake::StructField& field) {
  auto metadata = nlohmann::json::parse(field.metadata_json, nullptr, false);
  if (metadata.is_discarded() || !metadata.is_object()) return std::nullopt;
  auto it = metadata.find("freshet.sourceType");
  if (it == metadata.end() || !it->is_string()) return std::nullopt;
  std::string text = it->get<std::string>();
  if (!IsPlainTypeText(text)) return std::nullopt;
  return text;
}

std::string PostgresTypeFor(const lake::StructField& field) {
  if (auto source = SourceType(field)) return *source;
  return PostgresTypeForDelta(field.type);
}

Result<std::vector<std::string>> PrimaryKeyOf(const lake::Snapshot& snapshot) {
  auto text = snapshot.Configuration("freshet.primaryKey");
  if (!text) return std::vector<std::string>{};
  auto parsed = nlohmann::json::parse(*text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return Status::Corruption("table {}: freshet.primaryKey '{}' is not a JSON array of names",
                              snapshot.table_path(), *text);
  }
  std::vector<std::string> key;
  for (const auto& item : parsed) {
    if (!item.is_string()) {
      return Status::Corruption("table {}: freshet.primaryKey '{}' is not a JSON array of names",
                                snapshot.table_path(), *text);
    }
    std::string name = item.get<std::string>();
    if (snapshot.schema().Find(name) == nullptr) {
      return Status::Corruption("table {}: key column '{}' of freshet.primaryKey is not a column",
                                snapshot.table_path(), name);
    }
    key.push_back(std::move(name));
  }
  return key;
}

std::string CsvExpression(const lake::StructField& field, const std::string& column_sql) {
  const lake::DataType& type = field.type;
  std::string pg_type = PostgresTypeFor(field);
  switch (type.kind) {
    case Kind::kBinary:
      // bytea's hex input; a 16-byte uuid reads from plain hex digits.
      if (pg_type == "uuid") return "hex(" + column_sql + ")";
      return "'\\x' || hex(" + column_sql + ")";
    case Kind::kArray:
      if (IsJsonType(pg_type) || Innermost(type).is_nested()) {
        return "CAST(to_json(" + column_sql + ") AS VARCHAR)";
      }
      return "CASE WHEN " + column_sql + " IS NULL THEN NULL ELSE " +
             ArrayLiteral(type.children[0], column_sql, 0) + " END";
    case Kind::kStruct: {
      // An interval kept as {months, days, microseconds}.
      if (pg_type == "interval" && field.type.fields.size() == 3) {
        return "CASE WHEN " + column_sql + " IS NULL THEN NULL ELSE " + column_sql +
               ".months || ' mons ' || " + column_sql + ".days || ' days ' || " + column_sql +
               ".microseconds || ' microseconds' END";
      }
      return "CAST(to_json(" + column_sql + ") AS VARCHAR)";
    }
    case Kind::kMap:
      return "CAST(to_json(" + column_sql + ") AS VARCHAR)";
    case Kind::kLong:
      // A time of day kept as microseconds since midnight.
      if (pg_type.starts_with("time") && !pg_type.starts_with("timestamp")) {
        return "CAST(TIME '00:00:00' + to_microseconds(" + column_sql + ") AS VARCHAR)";
      }
      return "CAST(" + column_sql + " AS VARCHAR)";
    default:
      return "CAST(" + column_sql + " AS VARCHAR)";
  }
}

}  // namespace freshet::sink
