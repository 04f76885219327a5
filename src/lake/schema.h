#pragma once

// Delta table schemas: the data types of PROTOCOL.md "Schema Serialization Format", parsed from
// and written to `metaData.schemaString`, with each field's column-mapping physical name and
// id, and the DuckDB type each Delta type reads as. Plain value types.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace freshet::lake {

struct StructField;

struct DataType {
  enum class Kind {
    kBoolean,
    kByte,
    kShort,
    kInteger,
    kLong,
    kFloat,
    kDouble,
    kDecimal,
    kString,
    kBinary,
    kDate,
    kTimestamp,     // microseconds, UTC
    kTimestampNtz,  // microseconds, no time zone
    kArray,         // children[0] is the element type
    kMap,           // children[0] key, children[1] value
    kStruct,        // fields
  };

  Kind kind = Kind::kString;
  int precision = 0;          // kDecimal
  int scale = 0;              // kDecimal
  bool contains_null = true;  // kArray: containsNull; kMap: valueContainsNull
  std::vector<DataType> children;
  std::vector<StructField> fields;

  // Defined below StructField: building a DataType needs the complete field type.
  static DataType Primitive(Kind kind);
  static DataType Decimal(int precision, int scale);
  bool is_nested() const {
    return kind == Kind::kArray || kind == Kind::kMap || kind == Kind::kStruct;
  }
  // The Delta name of a primitive ("long", "decimal(10,2)"); "array"/"map"/"struct" otherwise.
  std::string DeltaName() const;
  // The DuckDB type text this type reads as: BIGINT, DECIMAL(10,2), STRUCT("a" INTEGER)[] ...
  std::string DuckDbType() const;

  friend bool operator==(const DataType&, const DataType&);
};

struct StructField {
  std::string name;
  DataType type;
  bool nullable = true;
  std::string metadata_json = "{}";  // the field's `metadata` object, as written
  // From delta.columnMapping.physicalName / delta.columnMapping.id when present.
  std::optional<std::string> physical_name;
  std::optional<int64_t> field_id;

  // The column's name in data files under `column_mapping_mode` ("none", "name" or "id").
  const std::string& PhysicalName(const std::string& column_mapping_mode) const {
    return column_mapping_mode != "none" && physical_name ? *physical_name : name;
  }
  friend bool operator==(const StructField&, const StructField&) = default;
};

inline DataType DataType::Primitive(Kind kind) { return DataType{.kind = kind}; }
inline DataType DataType::Decimal(int precision, int scale) {
  return DataType{.kind = Kind::kDecimal, .precision = precision, .scale = scale};
}

struct Schema {
  std::vector<StructField> fields;

  const StructField* Find(const std::string& name) const;
  friend bool operator==(const Schema&, const Schema&) = default;
};

// Parses a schemaString. Corruption naming the problem when it is not a valid Delta schema;
// NotSupported for types freshet does not read (variant, ...).
Result<Schema> ParseSchema(const std::string& schema_json);
// The schemaString for `schema`.
std::string SchemaToJson(const Schema& schema);
// Parses a Delta primitive type name ("integer", "decimal(38,18)").
Result<DataType> ParsePrimitiveType(const std::string& name);
// Whether `type` is or holds timestamp_ntz: a table with such a column needs the timestampNtz
// reader and writer feature.
bool NeedsTimestampNtzFeature(const DataType& type);

}  // namespace freshet::lake
