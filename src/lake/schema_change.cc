#include "lake/schema_change.h"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "lake/deletion_vector.h"
#include "lake/table_writer.h"

namespace freshet::lake {
namespace {

using Json = nlohmann::json;

Json MetadataOf(const StructField& field) {
  Json metadata = Json::parse(field.metadata_json, nullptr, false);
  if (metadata.is_discarded() || !metadata.is_object()) return Json::object();
  return metadata;
}

int64_t LargestId(const std::vector<StructField>& fields);

int64_t LargestIdIn(const DataType& type) {
  int64_t largest = type.kind == DataType::Kind::kStruct ? LargestId(type.fields) : 0;
  for (const DataType& child : type.children) largest = std::max(largest, LargestIdIn(child));
  return largest;
}

int64_t LargestId(const std::vector<StructField>& fields) {
  int64_t largest = 0;
  for (const StructField& field : fields) {
    largest = std::max({largest, field.field_id.value_or(0), LargestIdIn(field.type)});
  }
  return largest;
}

void AssignFields(std::vector<StructField>& fields, int64_t& next_id, bool keep_names);

// Struct fields at any depth, inside arrays and maps too, get ids and physical names like
// top-level columns.
void AssignIn(DataType& type, int64_t& next_id, bool keep_names) {
  if (type.kind == DataType::Kind::kStruct) AssignFields(type.fields, next_id, keep_names);
  for (DataType& child : type.children) AssignIn(child, next_id, keep_names);
}

void AssignFields(std::vector<StructField>& fields, int64_t& next_id, bool keep_names) {
  for (StructField& field : fields) {
    if (!field.field_id) {
      Json metadata = MetadataOf(field);
      field.field_id = ++next_id;
      field.physical_name = keep_names ? field.name : "col-" + UuidText(RandomUuid());
      metadata["delta.columnMapping.id"] = *field.field_id;
      metadata["delta.columnMapping.physicalName"] = *field.physical_name;
      field.metadata_json = metadata.dump();
    }
    AssignIn(field.type, next_id, keep_names);
  }
}

int IntegerRank(DataType::Kind kind) {
  switch (kind) {
    case DataType::Kind::kByte:
      return 1;
    case DataType::Kind::kShort:
      return 2;
    case DataType::Kind::kInteger:
      return 3;
    case DataType::Kind::kLong:
      return 4;
    default:
      return 0;
  }
}

}  // namespace

int64_t AssignColumnMapping(std::vector<StructField>& fields, int64_t max_column_id,
                            bool keep_names) {
  int64_t next_id = std::max(max_column_id, LargestId(fields));
  AssignFields(fields, next_id, keep_names);
  return next_id;
}

bool IsSupportedWidening(const DataType& from, const DataType& to) {
  using Kind = DataType::Kind;
  int from_rank = IntegerRank(from.kind);
  int to_rank = IntegerRank(to.kind);
  if (from_rank > 0) return to_rank > from_rank;
  if (from.kind == Kind::kFloat) return to.kind == Kind::kDouble;
  if (from.kind == Kind::kDate) return to.kind == Kind::kTimestampNtz;
  if (from.kind == Kind::kDecimal && to.kind == Kind::kDecimal) {
    // Every value must still fit: no fewer integer digits, no fewer fraction digits.
    return to.scale >= from.scale && to.precision - to.scale >= from.precision - from.scale &&
           to.precision > from.precision;
  }
  return false;
}

SchemaChange::SchemaChange(const Snapshot& snapshot)
    : table_path_(snapshot.table_path()),
      protocol_(snapshot.protocol()),
      metadata_(snapshot.metadata()),
      schema_(snapshot.schema()) {}

std::string SchemaChange::column_mapping_mode() const {
  auto mode = metadata_.configuration.find(std::string(kColumnMappingModeKey));
  return mode == metadata_.configuration.end() ? "none" : mode->second;
}

StructField* SchemaChange::Find(const std::string& name) {
  for (StructField& field : schema_.fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

Status SchemaChange::RequireMapping(std::string_view what, const std::string& column) const {
  if (column_mapping_mode() == "name") return Status::Ok();
  return Status::NotSupported(
      "{}: cannot {} column '{}' without column mapping mode 'name' (the table's mode is '{}')",
      table_path_, what, column, column_mapping_mode());
}

void SchemaChange::AddFeature(const std::string& feature, bool reader) {
  auto add = [&](std::optional<std::vector<std::string>>& list) {
    if (!list) list.emplace();
    if (std::find(list->begin(), list->end(), feature) == list->end()) {
      list->push_back(feature);
      protocol_changed_ = true;
    }
  };
  if (reader) add(protocol_.reader_features);
  add(protocol_.writer_features);
}

void SchemaChange::SetChangeDataFeed(bool enabled) {
  metadata_.configuration["delta.enableChangeDataFeed"] = enabled ? "true" : "false";
  if (!enabled) return;
  if (protocol_.min_writer_version >= 7) {
    AddFeature("changeDataFeed", /*reader=*/false);
  } else if (protocol_.min_writer_version < 4) {
    protocol_.min_writer_version = 4;
    protocol_changed_ = true;
  }
}

Status SchemaChange::EnableColumnMapping() {
  std::string mode = column_mapping_mode();
  if (mode == "name") return Status::Ok();
  if (mode != "none") {
    return Status::NotSupported("{}: column mapping mode '{}' cannot be changed to 'name'",
                                table_path_, mode);
  }
  if (protocol_.min_reader_version >= 3 && protocol_.min_writer_version >= 7) {
    AddFeature("columnMapping", /*reader=*/true);
  } else if (protocol_.min_reader_version < 3 && protocol_.min_writer_version < 7) {
    // Legacy protocol versions: reader 2 / writer 5 imply column mapping.
    if (protocol_.min_reader_version < 2 || protocol_.min_writer_version < 5) {
      protocol_.min_reader_version = std::max(protocol_.min_reader_version, 2);
      protocol_.min_writer_version = std::max(protocol_.min_writer_version, 5);
      protocol_changed_ = true;
    }
  } else {
    return Status::NotSupported("{}: protocol reader {} / writer {} cannot take column mapping",
                                table_path_, protocol_.min_reader_version,
                                protocol_.min_writer_version);
  }
  int64_t max_id = AssignColumnMapping(schema_.fields, 0, /*keep_names=*/true);
  metadata_.configuration[std::string(kColumnMappingModeKey)] = "name";
  metadata_.configuration[std::string(kMaxColumnIdKey)] = std::to_string(max_id);
  return Status::Ok();
}

Status SchemaChange::AddColumn(StructField field) {
  if (Find(field.name) != nullptr) {
    return Status::InvalidArgument("{} already has a column '{}'", table_path_, field.name);
  }
  if (column_mapping_mode() == "name") {
    // A re-added column must not find the physical column of a dropped one in old files.
    field.field_id.reset();
    field.physical_name.reset();
    Json metadata = MetadataOf(field);
    metadata.erase("delta.columnMapping.id");
    metadata.erase("delta.columnMapping.physicalName");
    field.metadata_json = metadata.dump();
    int64_t max_id = 0;
    auto configured = metadata_.configuration.find(std::string(kMaxColumnIdKey));
    if (configured != metadata_.configuration.end())
      max_id = std::atoll(configured->second.c_str());
    std::vector<StructField> added{std::move(field)};
    max_id = AssignColumnMapping(added, std::max(max_id, LargestId(schema_.fields)), false);
    metadata_.configuration[std::string(kMaxColumnIdKey)] = std::to_string(max_id);
    field = std::move(added[0]);
  }
  // Tables on the table-features protocol name the feature; older ones cannot hold the type.
  if (NeedsTimestampNtzFeature(field.type)) {
    if (protocol_.min_reader_version < 3 || protocol_.min_writer_version < 7) {
      return Status::NotSupported(
          "{}: column '{}' needs the timestampNtz table feature, which needs protocol reader 3 / "
          "writer 7 (the table has {} / {})",
          table_path_, field.name, protocol_.min_reader_version, protocol_.min_writer_version);
    }
    AddFeature("timestampNtz", /*reader=*/true);
  }
  schema_.fields.push_back(std::move(field));
  return Status::Ok();
}

Status SchemaChange::RenameColumn(const std::string& from, const std::string& to) {
  StructField* field = Find(from);
  if (field == nullptr) {
    return Status::NotFound("{} has no column '{}' to rename", table_path_, from);
  }
  FRESHET_RETURN_IF_ERROR(RequireMapping("rename", from));
  if (Find(to) != nullptr) {
    return Status::InvalidArgument("{}: cannot rename '{}' to '{}': that column exists",
                                   table_path_, from, to);
  }
  field->name = to;
  std::replace(metadata_.partition_columns.begin(), metadata_.partition_columns.end(), from, to);
  return Status::Ok();
}

Status SchemaChange::DropColumn(const std::string& name) {
  StructField* field = Find(name);
  if (field == nullptr) return Status::NotFound("{} has no column '{}' to drop", table_path_, name);
  FRESHET_RETURN_IF_ERROR(RequireMapping("drop", name));
  const auto& partitions = metadata_.partition_columns;
  if (std::find(partitions.begin(), partitions.end(), name) != partitions.end()) {
    return Status::NotSupported("{}: cannot drop partition column '{}'", table_path_, name);
  }
  if (schema_.fields.size() == 1) {
    return Status::NotSupported("{}: cannot drop '{}', the table's only column", table_path_, name);
  }
  schema_.fields.erase(schema_.fields.begin() + (field - schema_.fields.data()));
  return Status::Ok();
}

Status SchemaChange::WidenColumn(const std::string& name, const DataType& to) {
  StructField* field = Find(name);
  if (field == nullptr)
    return Status::NotFound("{} has no column '{}' to widen", table_path_, name);
  if (!IsSupportedWidening(field->type, to)) {
    return Status::NotSupported("{}: column '{}' cannot change type in place from {} to {}",
                                table_path_, name, field->type.DeltaName(), to.DeltaName());
  }
  if (protocol_.min_reader_version < 3 || protocol_.min_writer_version < 7) {
    return Status::NotSupported(
        "{}: widening '{}' needs table features (protocol reader 3 / writer 7); the table is on "
        "reader {} / writer {}",
        table_path_, name, protocol_.min_reader_version, protocol_.min_writer_version);
  }
  if (IntegerRank(to.kind) == 0) {
    // Partition values of the old type are strings in the log that would have to be read as
    // the new type; only integers keep the same text.
    const auto& partitions = metadata_.partition_columns;
    if (std::find(partitions.begin(), partitions.end(), name) != partitions.end()) {
      return Status::NotSupported("{}: partition column '{}' cannot widen from {} to {}",
                                  table_path_, name, field->type.DeltaName(), to.DeltaName());
    }
  }
  AddFeature("typeWidening", /*reader=*/true);
  if (to.kind == DataType::Kind::kTimestampNtz) AddFeature("timestampNtz", /*reader=*/true);
  metadata_.configuration[std::string(kEnableTypeWideningKey)] = "true";
  // PROTOCOL.md "Type Change Metadata": one entry per change, oldest first, kept for as long as
  // files of the old type may exist.
  Json metadata = MetadataOf(*field);
  if (!metadata.contains("delta.typeChanges") || !metadata["delta.typeChanges"].is_array()) {
    metadata["delta.typeChanges"] = Json::array();
  }
  metadata["delta.typeChanges"].push_back(
      Json{{"fromType", field->type.DeltaName()}, {"toType", to.DeltaName()}});
  field->metadata_json = metadata.dump();
  field->type = to;
  return Status::Ok();
}

Status SchemaChange::SetColumnMetadata(const std::string& name, const std::string& key,
                                       const std::string& value) {
  StructField* field = Find(name);
  if (field == nullptr) return Status::NotFound("{} has no column '{}'", table_path_, name);
  Json metadata = MetadataOf(*field);
  metadata[key] = value;
  field->metadata_json = metadata.dump();
  return Status::Ok();
}

void SchemaChange::Stage(Transaction& transaction) const {
  Metadata metadata = metadata_;
  metadata.schema_string = SchemaToJson(schema_);
  transaction.SetMetadata(std::move(metadata),
                          protocol_changed_ ? std::optional<Protocol>(protocol_) : std::nullopt);
}

}  // namespace freshet::lake
