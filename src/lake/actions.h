#pragma once

// Delta log actions (PROTOCOL.md "Actions") and their JSON form: parsing one commit file or
// checkpoint row into actions, and writing actions back as newline-delimited JSON. Unknown
// fields are ignored when reading, as the spec requires. Plain value types.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace freshet::lake {

using Version = int64_t;

struct Protocol {
  int min_reader_version = 1;
  int min_writer_version = 2;
  std::optional<std::vector<std::string>> reader_features;
  std::optional<std::vector<std::string>> writer_features;
  friend bool operator==(const Protocol&, const Protocol&) = default;
};

struct Metadata {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::string format_provider = "parquet";
  std::string schema_string;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<int64_t> created_time;
  friend bool operator==(const Metadata&, const Metadata&) = default;
};

struct DeletionVectorDescriptor {
  std::string storage_type;  // "u", "i" or "p"
  std::string path_or_inline_dv;
  std::optional<int32_t> offset;
  int32_t size_in_bytes = 0;
  int64_t cardinality = 0;

  // PROTOCOL.md "Derived Fields": <storageType><pathOrInlineDv>[@<offset>].
  std::string UniqueId() const;
  friend bool operator==(const DeletionVectorDescriptor&,
                         const DeletionVectorDescriptor&) = default;
};

// Partition values by (physical) column name; nullopt is a null value.
using PartitionValues = std::map<std::string, std::optional<std::string>>;

struct AddFile {
  std::string path;  // a URI reference relative to the table root (percent-encoded)
  PartitionValues partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;
  bool data_change = true;
  std::optional<std::string> stats;
  std::optional<std::map<std::string, std::string>> tags;
  std::optional<DeletionVectorDescriptor> deletion_vector;
  std::optional<int64_t> base_row_id;
  std::optional<int64_t> default_row_commit_version;

  std::string DvUniqueId() const { return deletion_vector ? deletion_vector->UniqueId() : ""; }
  // numRecords from `stats`, when present.
  std::optional<int64_t> NumRecords() const;
  friend bool operator==(const AddFile&, const AddFile&) = default;
};

struct RemoveFile {
  std::string path;
  std::optional<int64_t> deletion_timestamp;
  bool data_change = true;
  std::optional<bool> extended_file_metadata;
  std::optional<PartitionValues> partition_values;
  std::optional<int64_t> size;
  std::optional<std::string> stats;
  std::optional<DeletionVectorDescriptor> deletion_vector;

  std::string DvUniqueId() const { return deletion_vector ? deletion_vector->UniqueId() : ""; }
  friend bool operator==(const RemoveFile&, const RemoveFile&) = default;
};

// A change data file (PROTOCOL.md "Add CDC File"): the table's columns plus _change_type, under
// _change_data/; never part of the table's data, always dataChange=false.
struct AddCdcFile {
  std::string path;
  PartitionValues partition_values;
  int64_t size = 0;
  bool data_change = false;
  std::optional<std::map<std::string, std::string>> tags;
  friend bool operator==(const AddCdcFile&, const AddCdcFile&) = default;
};

struct Txn {
  std::string app_id;
  int64_t version = 0;
  std::optional<int64_t> last_updated;
  friend bool operator==(const Txn&, const Txn&) = default;
};

struct CommitInfo {
  std::string json;  // the whole object: commitInfo is free-form
  std::optional<int64_t> timestamp;
  std::optional<int64_t> in_commit_timestamp;
  std::optional<std::string> operation;
};

struct Sidecar {
  std::string path;  // relative to _delta_log/_sidecars/
  int64_t size_in_bytes = 0;
};

struct DomainMetadata {
  std::string domain;
  std::string configuration;
  bool removed = false;
};

// The actions of one commit file or checkpoint, in file order per kind.
struct ActionSet {
  std::optional<Protocol> protocol;
  std::optional<Metadata> metadata;
  std::optional<CommitInfo> commit_info;
  std::vector<AddFile> adds;
  std::vector<RemoveFile> removes;
  std::vector<AddCdcFile> cdcs;  // in file order
  std::vector<Txn> txns;
  std::vector<Sidecar> sidecars;
  std::vector<DomainMetadata> domain_metadata;
  std::optional<Version> checkpoint_metadata_version;
  // Order of file actions as they appeared: true for add, false for remove, with index.
  std::vector<std::pair<bool, size_t>> file_action_order;
};

// Parses newline-delimited JSON actions (a commit file or a JSON V2 checkpoint) and appends
// them to `out`. Errors are Corruption naming `source` and the line number.
Status ParseActions(std::string_view text, const std::string& source, ActionSet& out);
// Parses one JSON object holding one or more actions (a line, or a checkpoint row rendered as
// JSON, where absent actions are null).
Status ParseActionLine(std::string_view line, ActionSet& out);

// Serialisation for writers: one compact JSON line per action, no trailing newline.
std::string ToJsonLine(const Protocol& protocol);
std::string ToJsonLine(const Metadata& metadata);
std::string ToJsonLine(const AddFile& add);
std::string ToJsonLine(const RemoveFile& remove);
std::string ToJsonLine(const AddCdcFile& cdc);
std::string ToJsonLine(const Txn& txn);
std::string ToJsonLine(const DomainMetadata& domain_metadata);

// "00000000000000000042.json" for version 42.
std::string CommitFileName(Version version);

}  // namespace freshet::lake
