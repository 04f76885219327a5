#include "lake/schema.h"

#include <nlohmann/json.hpp>

#include "common/sql_quote.h"

namespace freshet::lake {
namespace {

using Json = nlohmann::json;

struct PrimitiveName {
  const char* name;
  DataType::Kind kind;
  const char* duckdb;
};

constexpr PrimitiveName kPrimitives[] = {
    {"boolean", DataType::Kind::kBoolean, "BOOLEAN"},
    {"byte", DataType::Kind::kByte, "TINYINT"},
    {"short", DataType::Kind::kShort, "SMALLINT"},
    {"integer", DataType::Kind::kInteger, "INTEGER"},
    {"long", DataType::Kind::kLong, "BIGINT"},
    {"float", DataType::Kind::kFloat, "FLOAT"},
    {"double", DataType::Kind::kDouble, "DOUBLE"},
    {"string", DataType::Kind::kString, "VARCHAR"},
    {"binary", DataType::Kind::kBinary, "BLOB"},
    {"date", DataType::Kind::kDate, "DATE"},
    {"timestamp", DataType::Kind::kTimestamp, "TIMESTAMPTZ"},
    {"timestamp_ntz", DataType::Kind::kTimestampNtz, "TIMESTAMP"},
};

Result<DataType> ParseType(const Json& json, int depth);

Result<StructField> ParseField(const Json& json, int depth) {
  if (!json.is_object() || !json.contains("name") || !json["name"].is_string() ||
      !json.contains("type")) {
    return Status::Corruption("schema field without a string 'name' and a 'type': {}", json.dump());
  }
  StructField field;
  field.name = json["name"].get<std::string>();
  FRESHET_ASSIGN_OR_RETURN(field.type, ParseType(json["type"], depth + 1));
  if (json.contains("nullable") && json["nullable"].is_boolean()) {
    field.nullable = json["nullable"].get<bool>();
  }
  if (json.contains("metadata") && json["metadata"].is_object()) {
    const Json& metadata = json["metadata"];
    field.metadata_json = metadata.dump();
    auto physical = metadata.find("delta.columnMapping.physicalName");
    if (physical != metadata.end() && physical->is_string()) {
      field.physical_name = physical->get<std::string>();
    }
    auto id = metadata.find("delta.columnMapping.id");
    if (id != metadata.end() && id->is_number_integer()) field.field_id = id->get<int64_t>();
  }
  return field;
}

Result<std::vector<StructField>> ParseFields(const Json& json, int depth) {
  if (!json.contains("fields") || !json["fields"].is_array()) {
    return Status::Corruption("struct type without a 'fields' array: {}", json.dump());
  }
  std::vector<StructField> fields;
  for (const Json& field_json : json["fields"]) {
    FRESHET_ASSIGN_OR_RETURN(StructField field, ParseField(field_json, depth));
    fields.push_back(std::move(field));
  }
  return fields;
}

Result<DataType> ParseType(const Json& json, int depth) {
  // Deeper nesting than any real schema: refuse instead of recursing without bound.
  if (depth > 64) return Status::Corruption("schema nested more than 64 levels deep");
  if (json.is_string()) return ParsePrimitiveType(json.get<std::string>());
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return Status::Corruption("schema type is neither a name nor an object with 'type': {}",
                              json.dump());
  }
  std::string type = json["type"].get<std::string>();
  DataType out;
  if (type == "struct") {
    out.kind = DataType::Kind::kStruct;
    FRESHET_ASSIGN_OR_RETURN(out.fields, ParseFields(json, depth));
  } else if (type == "array") {
    if (!json.contains("elementType")) return Status::Corruption("array without elementType");
    out.kind = DataType::Kind::kArray;
    FRESHET_ASSIGN_OR_RETURN(DataType element, ParseType(json["elementType"], depth + 1));
    out.children.push_back(std::move(element));
    if (json.contains("containsNull") && json["containsNull"].is_boolean()) {
      out.contains_null = json["containsNull"].get<bool>();
    }
  } else if (type == "map") {
    if (!json.contains("keyType") || !json.contains("valueType")) {
      return Status::Corruption("map without keyType and valueType");
    }
    out.kind = DataType::Kind::kMap;
    FRESHET_ASSIGN_OR_RETURN(DataType key, ParseType(json["keyType"], depth + 1));
    FRESHET_ASSIGN_OR_RETURN(DataType value, ParseType(json["valueType"], depth + 1));
    out.children.push_back(std::move(key));
    out.children.push_back(std::move(value));
    if (json.contains("valueContainsNull") && json["valueContainsNull"].is_boolean()) {
      out.contains_null = json["valueContainsNull"].get<bool>();
    }
  } else {
    return Status::NotSupported("schema type '{}' is not supported", type);
  }
  return out;
}

Json TypeToJson(const DataType& type);

Json FieldToJson(const StructField& field) {
  Json metadata = Json::parse(field.metadata_json, nullptr, false);
  if (metadata.is_discarded() || !metadata.is_object()) metadata = Json::object();
  return Json{{"name", field.name},
              {"type", TypeToJson(field.type)},
              {"nullable", field.nullable},
              {"metadata", metadata}};
}

Json TypeToJson(const DataType& type) {
  switch (type.kind) {
    case DataType::Kind::kStruct: {
      Json fields = Json::array();
      for (const auto& field : type.fields) fields.push_back(FieldToJson(field));
      return Json{{"type", "struct"}, {"fields", fields}};
    }
    case DataType::Kind::kArray:
      return Json{{"type", "array"},
                  {"elementType", TypeToJson(type.children[0])},
                  {"containsNull", type.contains_null}};
    case DataType::Kind::kMap:
      return Json{{"type", "map"},
                  {"keyType", TypeToJson(type.children[0])},
                  {"valueType", TypeToJson(type.children[1])},
                  {"valueContainsNull", type.contains_null}};
    default:
      return type.DeltaName();
  }
}

}  // namespace

bool operator==(const DataType& a, const DataType& b) {
  return a.kind == b.kind && a.precision == b.precision && a.scale == b.scale &&
         a.contains_null == b.contains_null && a.children == b.children && a.fields == b.fields;
}

Result<DataType> ParsePrimitiveType(const std::string& name) {
  for (const auto& primitive : kPrimitives) {
    if (name == primitive.name) return DataType::Primitive(primitive.kind);
  }
  int precision = 0;
  int scale = 0;
  char tail = 0;
  if (name == "decimal") return DataType::Decimal(10, 0);
  if (std::sscanf(name.c_str(), "decimal(%d,%d)%c", &precision, &scale, &tail) == 2 ||
      std::sscanf(name.c_str(), "decimal(%d, %d)%c", &precision, &scale, &tail) == 2) {
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
      return Status::NotSupported(
          "decimal({},{}) is outside Delta's decimal range (precision "
          "1 to 38, scale 0 to precision)",
          precision, scale);
    }
    return DataType::Decimal(precision, scale);
  }
  return Status::NotSupported("data type '{}' is not supported", name);
}

std::string DataType::DeltaName() const {
  for (const auto& primitive : kPrimitives) {
    if (kind == primitive.kind) return primitive.name;
  }
  switch (kind) {
    case Kind::kDecimal:
      return fmt::format("decimal({},{})", precision, scale);
    case Kind::kArray:
      return "array";
    case Kind::kMap:
      return "map";
    default:
      return "struct";
  }
}

std::string DataType::DuckDbType() const {
  for (const auto& primitive : kPrimitives) {
    if (kind == primitive.kind) return primitive.duckdb;
  }
  switch (kind) {
    case Kind::kDecimal:
      return fmt::format("DECIMAL({},{})", precision, scale);
    case Kind::kArray:
      return children[0].DuckDbType() + "[]";
    case Kind::kMap:
      return fmt::format("MAP({}, {})", children[0].DuckDbType(), children[1].DuckDbType());
    default: {
      std::string out = "STRUCT(";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ", ";
        out += QuoteIdentifier(fields[i].name) + " " + fields[i].type.DuckDbType();
      }
      return out + ")";
    }
  }
}

const StructField* Schema::Find(const std::string& name) const {
  for (const auto& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

bool NeedsTimestampNtzFeature(const DataType& type) {
  if (type.kind == DataType::Kind::kTimestampNtz) return true;
  for (const DataType& child : type.children) {
    if (NeedsTimestampNtzFeature(child)) return true;
  }
  for (const StructField& field : type.fields) {
    if (NeedsTimestampNtzFeature(field.type)) return true;
  }
  return false;
}

Result<Schema> ParseSchema(const std::string& schema_json) {
  Json json = Json::parse(schema_json, nullptr, false);
  if (json.is_discarded()) return Status::Corruption("schemaString is not valid JSON");
  if (!json.is_object() || json.value("type", "") != "struct") {
    return Status::Corruption("schemaString is not a struct type");
  }
  Schema schema;
  FRESHET_ASSIGN_OR_RETURN(schema.fields, ParseFields(json, 0));
  return schema;
}

std::string SchemaToJson(const Schema& schema) {
  Json fields = Json::array();
  for (const auto& field : schema.fields) fields.push_back(FieldToJson(field));
  return Json{{"type", "struct"}, {"fields", fields}}.dump();
}

}  // namespace freshet::lake
