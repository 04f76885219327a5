#include "pipeline/resnapshot.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lake/schema_change.h"
#include "lake/table_writer.h"
#include "pipeline/convert.h"

namespace freshet::pipeline {
namespace {

// A table name as a file name: '%' and '/' percent-encoded (PostgreSQL names may hold both).
std::string EncodeName(const std::string& table) {
  std::string out;
  for (char c : table) {
    if (c == '%' || c == '/') {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string DecodeName(const std::string& name) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::string out;
  for (size_t index = 0; index < name.size(); ++index) {
    if (name[index] == '%' && index + 2 < name.size() && hex(name[index + 1]) >= 0 &&
        hex(name[index + 2]) >= 0) {
      out += static_cast<char>(hex(name[index + 1]) * 16 + hex(name[index + 2]));
      index += 2;
    } else {
      out += name[index];
    }
  }
  return out;
}

nlohmann::json MetadataOf(const lake::StructField& field) {
  auto json = nlohmann::json::parse(field.metadata_json, nullptr, false);
  return json.is_object() ? json : nlohmann::json::object();
}

// The source attnum recorded for `field`, 0 when none was.
int AttnumOf(const lake::StructField& field) {
  nlohmann::json metadata = MetadataOf(field);
  auto attnum = metadata.find(kAttnumMetadataKey);
  return attnum != metadata.end() && attnum->is_number_integer() ? attnum->get<int>() : 0;
}

}  // namespace

std::string ResnapshotRequestFolder(const std::string& lake_root, const std::string& pipeline) {
  return lake_root + "/_freshet/pipelines/" + pipeline + "/resnapshot";
}

Status RequestResnapshot(lake::FileSystem& fs, const std::string& lake_root,
                         const std::string& pipeline, const std::string& table) {
  if (table.find('.') == std::string::npos) {
    return Status::InvalidArgument("'{}' is not a table name; give it as schema.table", table);
  }
  return fs.Put(ResnapshotRequestFolder(lake_root, pipeline) + "/" + EncodeName(table),
                nlohmann::json{{"table", table}}.dump());
}

Result<std::vector<std::string>> PendingResnapshots(lake::FileSystem& fs,
                                                    const std::string& lake_root,
                                                    const std::string& pipeline) {
  auto files = fs.ListNames(ResnapshotRequestFolder(lake_root, pipeline));
  if (!files.ok()) {
    if (files.status().Is(Code::kNotFound)) return std::vector<std::string>{};
    return files.status();
  }
  std::vector<std::string> tables;
  for (const lake::FileInfo& file : *files) {
    std::string name = file.path.substr(file.path.rfind('/') + 1);
    // Put's temporary files start with a dot.
    if (file.is_directory || name.empty() || name[0] == '.') continue;
    tables.push_back(DecodeName(name));
  }
  std::sort(tables.begin(), tables.end());
  return tables;
}

Status DeleteResnapshotRequest(lake::FileSystem& fs, const std::string& lake_root,
                               const std::string& pipeline, const std::string& table) {
  Status deleted =
      fs.Delete(ResnapshotRequestFolder(lake_root, pipeline) + "/" + EncodeName(table));
  return deleted.Is(Code::kNotFound) ? Status::Ok() : deleted;
}

Result<lake::Version> CommitResnapshot(lake::FileSystem& fs, engine::Connection& connection,
                                       const std::string& path, const ResnapshotTarget& target) {
  FRESHET_ASSIGN_OR_RETURN(lake::Transaction txn, lake::Transaction::Begin(fs, connection, path));
  const lake::Snapshot& old = txn.read_snapshot();
  if (!target.append_only) {
    for (const lake::AddFile& add : old.files()) FRESHET_RETURN_IF_ERROR(txn.Remove(add.path));
  }

  lake::SchemaChange change(old);
  FRESHET_RETURN_IF_ERROR(change.EnableColumnMapping());
  // Which columns keep their physical column: same name and source attnum (one recorded before
  // attnums were does not count against it), and a type the values still have or widen to.
  std::map<std::string, const lake::StructField*> wanted;
  for (const lake::StructField& field : target.schema.fields) wanted[field.name] = &field;
  std::vector<std::string> kept;
  for (const lake::StructField& field : old.schema().fields) {
    auto found = wanted.find(field.name);
    if (found == wanted.end()) continue;
    const lake::StructField& to = *found->second;
    int attnum = AttnumOf(field);
    if (attnum != 0 && attnum != AttnumOf(to)) continue;
    if (field.type == to.type) {
      kept.push_back(field.name);
    } else if (lake::IsSupportedWidening(field.type, to.type)) {
      FRESHET_RETURN_IF_ERROR(change.WidenColumn(field.name, to.type));
      kept.push_back(field.name);
    }
  }
  for (const std::string& partition : old.metadata().partition_columns) {
    if (std::find(kept.begin(), kept.end(), partition) == kept.end()) {
      return Status::NotSupported(
          "cannot re-snapshot {}: its partition column '{}' is gone or changed type at the "
          "source; fix: stop freshet, move {} away (it keeps the table's history) and start "
          "again, so the table is created anew",
          path, partition, path);
    }
  }

  // The columns in the source's order: kept ones with their physical column and the source's
  // metadata, the others new (a fresh id and physical name, so old files' values stay unseen).
  int64_t max_id = 0;
  auto configured = change.metadata().configuration.find(std::string(lake::kMaxColumnIdKey));
  if (configured != change.metadata().configuration.end()) {
    max_id = std::atoll(configured->second.c_str());
  }
  for (const lake::StructField& field : change.schema().fields) {
    max_id = std::max(max_id, field.field_id.value_or(0));
  }
  lake::Schema schema;
  std::vector<lake::StructField> added;
  for (const lake::StructField& to : target.schema.fields) {
    if (std::find(kept.begin(), kept.end(), to.name) != kept.end()) {
      lake::StructField field = *change.schema().Find(to.name);
      nlohmann::json metadata = MetadataOf(field);
      nlohmann::json source = MetadataOf(to);
      for (const auto& [key, value] : source.items()) metadata[key] = value;
      field.metadata_json = metadata.dump();
      schema.fields.push_back(std::move(field));
    } else {
      lake::StructField field = to;
      field.field_id.reset();
      field.physical_name.reset();
      std::vector<lake::StructField> one{std::move(field)};
      max_id = lake::AssignColumnMapping(one, max_id, /*keep_names=*/false);
      schema.fields.push_back(std::move(one[0]));
    }
  }
  lake::Metadata metadata = change.metadata();
  metadata.schema_string = lake::SchemaToJson(schema);
  metadata.configuration[std::string(lake::kMaxColumnIdKey)] = std::to_string(max_id);
  metadata.configuration["freshet.primaryKey"] = nlohmann::json(target.key).dump();
  metadata.configuration["freshet.sourceOid"] = std::to_string(target.source_oid);
  metadata.configuration.erase("freshet.sourceDropped");
  lake::Protocol protocol = change.protocol();
  bool ntz = std::any_of(schema.fields.begin(), schema.fields.end(), [](const auto& field) {
    return lake::NeedsTimestampNtzFeature(field.type);
  });
  for (auto* features : {&protocol.reader_features, &protocol.writer_features}) {
    if (!ntz || !*features) continue;
    if (std::find((*features)->begin(), (*features)->end(), "timestampNtz") == (*features)->end()) {
      (*features)->push_back("timestampNtz");
    }
  }
  txn.SetMetadata(std::move(metadata), protocol);
  txn.SetAppTransaction(target.app_id, target.app_version);
  return txn.Commit("RESNAPSHOT");
}

}  // namespace freshet::pipeline
