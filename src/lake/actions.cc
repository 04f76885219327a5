#include "lake/actions.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace freshet::lake {
namespace {

using Json = nlohmann::json;

// Invalid UTF-8 (say, a truncated binary statistic) is replaced rather than thrown on.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Field readers: absent and null read as nullopt; a present value of the wrong type is an
// error, since silently ignoring it could drop a file from the table.
Result<std::optional<std::string>> OptString(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Status::Corruption("field '{}' is not a string", key);
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<int64_t>> OptInt(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Status::Corruption("field '{}' is not an integer", key);
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<bool>> OptBool(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return Status::Corruption("field '{}' is not a boolean", key);
  return std::optional<bool>(it->get<bool>());
}

Result<std::string> ReqString(const Json& object, const char* key, const char* action) {
  FRESHET_ASSIGN_OR_RETURN(auto value, OptString(object, key));
  if (!value) return Status::Corruption("'{}' action without '{}'", action, key);
  return *value;
}

Result<int64_t> ReqInt(const Json& object, const char* key, const char* action) {
  FRESHET_ASSIGN_OR_RETURN(auto value, OptInt(object, key));
  if (!value) return Status::Corruption("'{}' action without '{}'", action, key);
  return *value;
}

Result<std::optional<std::vector<std::string>>> OptStringList(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) return Status::Corruption("field '{}' is not an array", key);
  std::vector<std::string> out;
  for (const Json& item : *it) {
    if (!item.is_string()) return Status::Corruption("field '{}' holds a non-string", key);
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::map<std::string, std::string>> StringMap(const Json& object, const char* key) {
  std::map<std::string, std::string> out;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_object()) return Status::Corruption("field '{}' is not an object", key);
  for (const auto& [k, v] : it->items()) {
    if (v.is_null()) continue;
    if (!v.is_string()) return Status::Corruption("field '{}.{}' is not a string", key, k);
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<std::optional<PartitionValues>> OptPartitionValues(const Json& object) {
  auto it = object.find("partitionValues");
  if (it == object.end() || it->is_null()) return std::optional<PartitionValues>();
  if (!it->is_object()) return Status::Corruption("partitionValues is not an object");
  PartitionValues out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_null()) {
      out[k] = std::nullopt;
    } else if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else {
      return Status::Corruption("partition value '{}' is not a string", k);
    }
  }
  return std::optional<PartitionValues>(std::move(out));
}

Result<std::optional<DeletionVectorDescriptor>> OptDv(const Json& object) {
  auto it = object.find("deletionVector");
  if (it == object.end() || it->is_null()) return std::optional<DeletionVectorDescriptor>();
  if (!it->is_object()) return Status::Corruption("deletionVector is not an object");
  DeletionVectorDescriptor dv;
  FRESHET_ASSIGN_OR_RETURN(dv.storage_type, ReqString(*it, "storageType", "deletionVector"));
  FRESHET_ASSIGN_OR_RETURN(dv.path_or_inline_dv,
                           ReqString(*it, "pathOrInlineDv", "deletionVector"));
  FRESHET_ASSIGN_OR_RETURN(auto offset, OptInt(*it, "offset"));
  if (offset) dv.offset = static_cast<int32_t>(*offset);
  FRESHET_ASSIGN_OR_RETURN(int64_t size, ReqInt(*it, "sizeInBytes", "deletionVector"));
  dv.size_in_bytes = static_cast<int32_t>(size);
  FRESHET_ASSIGN_OR_RETURN(dv.cardinality, ReqInt(*it, "cardinality", "deletionVector"));
  if (dv.storage_type != "u" && dv.storage_type != "i" && dv.storage_type != "p") {
    return Status::Corruption("deletionVector storageType '{}' is not u, i or p", dv.storage_type);
  }
  if (size < 0 || dv.cardinality < 0 || (offset && *offset < 0)) {
    return Status::Corruption("deletionVector with a negative size, offset or cardinality");
  }
  return std::optional<DeletionVectorDescriptor>(std::move(dv));
}

Result<AddFile> ParseAdd(const Json& json) {
  AddFile add;
  FRESHET_ASSIGN_OR_RETURN(add.path, ReqString(json, "path", "add"));
  FRESHET_ASSIGN_OR_RETURN(auto partition_values, OptPartitionValues(json));
  if (partition_values) add.partition_values = std::move(*partition_values);
  FRESHET_ASSIGN_OR_RETURN(add.size, ReqInt(json, "size", "add"));
  FRESHET_ASSIGN_OR_RETURN(auto modification_time, OptInt(json, "modificationTime"));
  add.modification_time = modification_time.value_or(0);
  FRESHET_ASSIGN_OR_RETURN(auto data_change, OptBool(json, "dataChange"));
  add.data_change = data_change.value_or(true);
  FRESHET_ASSIGN_OR_RETURN(add.stats, OptString(json, "stats"));
  if (json.contains("tags") && json["tags"].is_object()) {
    FRESHET_ASSIGN_OR_RETURN(add.tags, StringMap(json, "tags"));
  }
  FRESHET_ASSIGN_OR_RETURN(add.deletion_vector, OptDv(json));
  FRESHET_ASSIGN_OR_RETURN(add.base_row_id, OptInt(json, "baseRowId"));
  FRESHET_ASSIGN_OR_RETURN(add.default_row_commit_version, OptInt(json, "defaultRowCommitVersion"));
  return add;
}

Result<RemoveFile> ParseRemove(const Json& json) {
  RemoveFile remove;
  FRESHET_ASSIGN_OR_RETURN(remove.path, ReqString(json, "path", "remove"));
  FRESHET_ASSIGN_OR_RETURN(remove.deletion_timestamp, OptInt(json, "deletionTimestamp"));
  FRESHET_ASSIGN_OR_RETURN(auto data_change, OptBool(json, "dataChange"));
  remove.data_change = data_change.value_or(true);
  FRESHET_ASSIGN_OR_RETURN(remove.extended_file_metadata, OptBool(json, "extendedFileMetadata"));
  FRESHET_ASSIGN_OR_RETURN(remove.partition_values, OptPartitionValues(json));
  FRESHET_ASSIGN_OR_RETURN(remove.size, OptInt(json, "size"));
  FRESHET_ASSIGN_OR_RETURN(remove.stats, OptString(json, "stats"));
  FRESHET_ASSIGN_OR_RETURN(remove.deletion_vector, OptDv(json));
  return remove;
}

Result<Protocol> ParseProtocol(const Json& json) {
  Protocol protocol;
  FRESHET_ASSIGN_OR_RETURN(int64_t reader, ReqInt(json, "minReaderVersion", "protocol"));
  FRESHET_ASSIGN_OR_RETURN(int64_t writer, ReqInt(json, "minWriterVersion", "protocol"));
  protocol.min_reader_version = static_cast<int>(reader);
  protocol.min_writer_version = static_cast<int>(writer);
  FRESHET_ASSIGN_OR_RETURN(protocol.reader_features, OptStringList(json, "readerFeatures"));
  FRESHET_ASSIGN_OR_RETURN(protocol.writer_features, OptStringList(json, "writerFeatures"));
  return protocol;
}

Result<Metadata> ParseMetadata(const Json& json) {
  Metadata metadata;
  FRESHET_ASSIGN_OR_RETURN(metadata.id, ReqString(json, "id", "metaData"));
  FRESHET_ASSIGN_OR_RETURN(metadata.name, OptString(json, "name"));
  FRESHET_ASSIGN_OR_RETURN(metadata.description, OptString(json, "description"));
  auto format = json.find("format");
  if (format != json.end() && format->is_object()) {
    FRESHET_ASSIGN_OR_RETURN(auto provider, OptString(*format, "provider"));
    metadata.format_provider = provider.value_or("parquet");
  }
  FRESHET_ASSIGN_OR_RETURN(metadata.schema_string, ReqString(json, "schemaString", "metaData"));
  FRESHET_ASSIGN_OR_RETURN(auto partition_columns, OptStringList(json, "partitionColumns"));
  if (partition_columns) metadata.partition_columns = std::move(*partition_columns);
  FRESHET_ASSIGN_OR_RETURN(metadata.configuration, StringMap(json, "configuration"));
  FRESHET_ASSIGN_OR_RETURN(metadata.created_time, OptInt(json, "createdTime"));
  return metadata;
}

Status ParseObject(const Json& line, ActionSet& out) {
  if (!line.is_object()) return Status::Corruption("an action line is not a JSON object");
  for (const auto& [key, value] : line.items()) {
    if (value.is_null()) continue;  // checkpoint rows carry every action column
    if (!value.is_object()) return Status::Corruption("action '{}' is not an object", key);
    Status s;
    if (key == "add") {
      auto add = ParseAdd(value);
      if (!add.ok()) return add.status();
      out.file_action_order.emplace_back(true, out.adds.size());
      out.adds.push_back(std::move(add).value());
    } else if (key == "remove") {
      auto remove = ParseRemove(value);
      if (!remove.ok()) return remove.status();
      out.file_action_order.emplace_back(false, out.removes.size());
      out.removes.push_back(std::move(remove).value());
    } else if (key == "cdc") {
      AddCdcFile cdc;
      FRESHET_ASSIGN_OR_RETURN(cdc.path, ReqString(value, "path", "cdc"));
      FRESHET_ASSIGN_OR_RETURN(auto partition_values, OptPartitionValues(value));
      if (partition_values) cdc.partition_values = std::move(*partition_values);
      FRESHET_ASSIGN_OR_RETURN(cdc.size, ReqInt(value, "size", "cdc"));
      FRESHET_ASSIGN_OR_RETURN(auto data_change, OptBool(value, "dataChange"));
      cdc.data_change = data_change.value_or(false);
      if (value.contains("tags") && value["tags"].is_object()) {
        FRESHET_ASSIGN_OR_RETURN(cdc.tags, StringMap(value, "tags"));
      }
      out.cdcs.push_back(std::move(cdc));
    } else if (key == "metaData") {
      auto metadata = ParseMetadata(value);
      if (!metadata.ok()) return metadata.status();
      out.metadata = std::move(metadata).value();
    } else if (key == "protocol") {
      auto protocol = ParseProtocol(value);
      if (!protocol.ok()) return protocol.status();
      out.protocol = std::move(protocol).value();
    } else if (key == "txn") {
      Txn txn;
      FRESHET_ASSIGN_OR_RETURN(txn.app_id, ReqString(value, "appId", "txn"));
      FRESHET_ASSIGN_OR_RETURN(txn.version, ReqInt(value, "version", "txn"));
      FRESHET_ASSIGN_OR_RETURN(txn.last_updated, OptInt(value, "lastUpdated"));
      out.txns.push_back(std::move(txn));
    } else if (key == "commitInfo") {
      CommitInfo info;
      info.json = Dump(value);
      FRESHET_ASSIGN_OR_RETURN(info.timestamp, OptInt(value, "timestamp"));
      FRESHET_ASSIGN_OR_RETURN(info.in_commit_timestamp, OptInt(value, "inCommitTimestamp"));
      FRESHET_ASSIGN_OR_RETURN(info.operation, OptString(value, "operation"));
      out.commit_info = std::move(info);
    } else if (key == "sidecar") {
      Sidecar sidecar;
      FRESHET_ASSIGN_OR_RETURN(sidecar.path, ReqString(value, "path", "sidecar"));
      FRESHET_ASSIGN_OR_RETURN(auto size, OptInt(value, "sizeInBytes"));
      sidecar.size_in_bytes = size.value_or(0);
      out.sidecars.push_back(std::move(sidecar));
    } else if (key == "checkpointMetadata") {
      FRESHET_ASSIGN_OR_RETURN(out.checkpoint_metadata_version,
                               ReqInt(value, "version", "checkpointMetadata"));
    } else if (key == "domainMetadata") {
      DomainMetadata domain;
      FRESHET_ASSIGN_OR_RETURN(domain.domain, ReqString(value, "domain", "domainMetadata"));
      FRESHET_ASSIGN_OR_RETURN(auto configuration, OptString(value, "configuration"));
      domain.configuration = configuration.value_or("");
      FRESHET_ASSIGN_OR_RETURN(auto removed, OptBool(value, "removed"));
      domain.removed = removed.value_or(false);
      out.domain_metadata.push_back(std::move(domain));
    }
    // Other actions (cdc, ...) do not shape a snapshot; readers ignore them.
  }
  return Status::Ok();
}

Json DvToJson(const DeletionVectorDescriptor& dv) {
  Json out{{"storageType", dv.storage_type}, {"pathOrInlineDv", dv.path_or_inline_dv}};
  if (dv.offset) out["offset"] = *dv.offset;
  out["sizeInBytes"] = dv.size_in_bytes;
  out["cardinality"] = dv.cardinality;
  return out;
}

Json PartitionValuesToJson(const PartitionValues& values) {
  Json out = Json::object();
  for (const auto& [k, v] : values) out[k] = v ? Json(*v) : Json(nullptr);
  return out;
}

}  // namespace

std::string DeletionVectorDescriptor::UniqueId() const {
  if (!offset) return storage_type + path_or_inline_dv;
  return fmt::format("{}{}@{}", storage_type, path_or_inline_dv, *offset);
}

std::optional<int64_t> AddFile::NumRecords() const {
  if (!stats) return std::nullopt;
  Json json = Json::parse(*stats, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  auto it = json.find("numRecords");
  if (it == json.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

Status ParseActionLine(std::string_view line, ActionSet& out) {
  Json json = Json::parse(line, nullptr, false);
  if (json.is_discarded()) return Status::Corruption("not valid JSON");
  return ParseObject(json, out);
}

Status ParseActions(std::string_view text, const std::string& source, ActionSet& out) {
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Status s = ParseActionLine(line, out);
    if (!s.ok()) {
      return Status::Corruption("{} line {}: {}", source, line_number, s.message());
    }
  }
  return Status::Ok();
}

std::string ToJsonLine(const Protocol& protocol) {
  Json out{{"minReaderVersion", protocol.min_reader_version},
           {"minWriterVersion", protocol.min_writer_version}};
  if (protocol.reader_features) out["readerFeatures"] = *protocol.reader_features;
  if (protocol.writer_features) out["writerFeatures"] = *protocol.writer_features;
  return Dump(Json{{"protocol", out}});
}

std::string ToJsonLine(const Metadata& metadata) {
  Json out{{"id", metadata.id},
           {"format", {{"provider", metadata.format_provider}, {"options", Json::object()}}},
           {"schemaString", metadata.schema_string},
           {"partitionColumns", metadata.partition_columns},
           {"configuration", metadata.configuration}};
  if (metadata.name) out["name"] = *metadata.name;
  if (metadata.description) out["description"] = *metadata.description;
  if (metadata.created_time) out["createdTime"] = *metadata.created_time;
  return Dump(Json{{"metaData", out}});
}

std::string ToJsonLine(const AddFile& add) {
  Json out{{"path", add.path},
           {"partitionValues", PartitionValuesToJson(add.partition_values)},
           {"size", add.size},
           {"modificationTime", add.modification_time},
           {"dataChange", add.data_change}};
  if (add.stats) out["stats"] = *add.stats;
  if (add.tags) out["tags"] = *add.tags;
  if (add.deletion_vector) out["deletionVector"] = DvToJson(*add.deletion_vector);
  if (add.base_row_id) out["baseRowId"] = *add.base_row_id;
  if (add.default_row_commit_version) {
    out["defaultRowCommitVersion"] = *add.default_row_commit_version;
  }
  return Dump(Json{{"add", out}});
}

std::string ToJsonLine(const RemoveFile& remove) {
  Json out{{"path", remove.path}, {"dataChange", remove.data_change}};
  if (remove.deletion_timestamp) out["deletionTimestamp"] = *remove.deletion_timestamp;
  if (remove.extended_file_metadata) out["extendedFileMetadata"] = *remove.extended_file_metadata;
  if (remove.partition_values) {
    out["partitionValues"] = PartitionValuesToJson(*remove.partition_values);
  }
  if (remove.size) out["size"] = *remove.size;
  if (remove.stats) out["stats"] = *remove.stats;
  if (remove.deletion_vector) out["deletionVector"] = DvToJson(*remove.deletion_vector);
  return Dump(Json{{"remove", out}});
}

std::string ToJsonLine(const AddCdcFile& cdc) {
  Json out{{"path", cdc.path},
           {"partitionValues", PartitionValuesToJson(cdc.partition_values)},
           {"size", cdc.size},
           {"dataChange", cdc.data_change}};
  if (cdc.tags) out["tags"] = *cdc.tags;
  return Dump(Json{{"cdc", out}});
}

std::string ToJsonLine(const Txn& txn) {
  Json out{{"appId", txn.app_id}, {"version", txn.version}};
  if (txn.last_updated) out["lastUpdated"] = *txn.last_updated;
  return Dump(Json{{"txn", out}});
}

std::string ToJsonLine(const DomainMetadata& domain_metadata) {
  return Dump(Json{{"domainMetadata",
                    {{"domain", domain_metadata.domain},
                     {"configuration", domain_metadata.configuration},
                     {"removed", domain_metadata.removed}}}});
}

std::string CommitFileName(Version version) { return fmt::format("{:020d}.json", version); }

}  // namespace freshet::lake
