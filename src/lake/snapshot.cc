#include "lake/snapshot.h"

#include <algorithm>
#include <limits>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "lake/paths.h"

namespace freshet::lake {
namespace {

// Readers of these features need nothing beyond what this reader does: deletion vectors,
// column mapping, timestamp_ntz, V2 checkpoints, type widening (values are cast to the
// table type), and the vacuum protocol check (a writer-side rule).
const std::set<std::string> kSupportedReaderFeatures = {
    "deletionVectors", "columnMapping",        "timestampNtz",        "v2Checkpoint",
    "typeWidening",    "typeWidening-preview", "vacuumProtocolCheck",
};

struct CheckpointCandidate {
  LogFileName::Kind kind = LogFileName::Kind::kOther;
  Version version = -1;
  std::vector<std::string> paths;  // all parts, in part order
};

struct LogListing {
  std::map<Version, FileInfo> commits;
  std::map<Version, std::vector<CheckpointCandidate>> checkpoints;  // complete ones only
};

// `with_times`: fill modification times (a call per entry on local disk); without it only
// names are listed, which is what resolving a snapshot needs.
Result<LogListing> ListLog(FileSystem& fs, const std::string& table_path, bool with_times) {
  std::string log_path = LogPath(table_path);
  auto entries = with_times ? fs.List(log_path) : fs.ListNames(log_path);
  if (!entries.ok()) {
    if (entries.status().Is(Code::kNotFound)) {
      return Status::NotFound("{} is not a Delta table: it has no _delta_log folder", table_path);
    }
    return entries.status();
  }
  LogListing listing;
  // Multi-part checkpoints: (version, parts) -> part number -> path.
  std::map<std::pair<Version, int>, std::map<int, std::string>> multi_part;
  for (const FileInfo& entry : *entries) {
    if (entry.is_directory) continue;
    LogFileName name = ParseLogFileName(entry.name);
    switch (name.kind) {
      case LogFileName::Kind::kCommit:
        listing.commits[name.version] = entry;
        break;
      case LogFileName::Kind::kClassicCheckpoint:
      case LogFileName::Kind::kUuidCheckpoint:
        listing.checkpoints[name.version].push_back({name.kind, name.version, {entry.path}});
        break;
      case LogFileName::Kind::kMultiPartCheckpoint:
        multi_part[{name.version, name.parts}][name.part] = entry.path;
        break;
      case LogFileName::Kind::kOther:
        break;
    }
  }
  for (auto& [key, parts] : multi_part) {
    // A multi-part checkpoint counts only when every part is present.
    if (static_cast<int>(parts.size()) != key.second) continue;
    CheckpointCandidate candidate{LogFileName::Kind::kMultiPartCheckpoint, key.first, {}};
    for (auto& [part, path] : parts) candidate.paths.push_back(path);
    listing.checkpoints[key.first].push_back(std::move(candidate));
  }
  if (listing.commits.empty() && listing.checkpoints.empty()) {
    return Status::NotFound("{} is not a Delta table: {} holds no commit or checkpoint", table_path,
                            log_path);
  }
  return listing;
}

std::string FileList(const std::vector<std::string>& paths) {
  std::string list;
  for (const auto& path : paths) list += (list.empty() ? "" : ", ") + QuoteLiteral(path);
  return "[" + list + "]";
}

// Checkpoint rows as JSON objects, one per row (absent actions are null), parsed like commit
// lines. `where` narrows the rows.
Status ReadParquetActionsAsJson(engine::Connection& connection,
                                const std::vector<std::string>& paths, const std::string& where,
                                ActionSet& out) {
  auto result = connection.Query(fmt::format(
      "SELECT to_json(t)::VARCHAR FROM read_parquet({}) AS t{}", FileList(paths), where));
  if (!result.ok()) return result.status().WithContext("reading checkpoint " + paths.front());
  for (const auto& row : result->rows) {
    if (row[0].kind != engine::Value::Kind::kString) continue;
    Status s = ParseActionLine(row[0].string(), out);
    if (!s.ok()) return s.WithContext("checkpoint " + paths.front());
  }
  return Status::Ok();
}

std::optional<std::string> OptText(const engine::Value* value) {
  if (value == nullptr || value->kind != engine::Value::Kind::kString) return std::nullopt;
  return value->string();
}

std::optional<int64_t> OptInteger(const engine::Value* value) {
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (value->kind == engine::Value::Kind::kUInt) {
    return static_cast<int64_t>(value->unsigned_integer());
  }
  if (value->kind != engine::Value::Kind::kInt) return std::nullopt;
  return value->integer();
}

// One typed checkpoint `add` row (columns as in kTypedAddColumns) to an AddFile.
Result<AddFile> AddFromRow(const engine::Row& row, size_t columns) {
  AddFile add;
  auto path = OptText(&row[0]);
  auto size = OptInteger(&row[2]);
  if (!path || !size) return Status::Corruption("checkpoint add row without path or size");
  add.path = *path;
  if (row[1].kind == engine::Value::Kind::kMap) {
    for (const auto& [key, value] : row[1].fields()) add.partition_values[key] = OptText(&value);
  }
  add.size = *size;
  add.modification_time = OptInteger(&row[3]).value_or(0);
  add.data_change = row[4].kind == engine::Value::Kind::kBool && row[4].integer() != 0;
  add.stats = OptText(&row[5]);
  if (columns > 6 && row[6].kind == engine::Value::Kind::kStruct) {
    const engine::Value& dv = row[6];
    DeletionVectorDescriptor descriptor;
    auto storage = OptText(dv.Field("storageType"));
    auto where = OptText(dv.Field("pathOrInlineDv"));
    auto dv_size = OptInteger(dv.Field("sizeInBytes"));
    auto cardinality = OptInteger(dv.Field("cardinality"));
    if (!storage || !where || !dv_size || !cardinality) {
      return Status::Corruption("checkpoint add row {} has an incomplete deletionVector", add.path);
    }
    descriptor.storage_type = *storage;
    descriptor.path_or_inline_dv = *where;
    if (auto offset = OptInteger(dv.Field("offset"))) {
      descriptor.offset = static_cast<int32_t>(*offset);
    }
    descriptor.size_in_bytes = static_cast<int32_t>(*dv_size);
    descriptor.cardinality = *cardinality;
    add.deletion_vector = std::move(descriptor);
  }
  if (columns > 7) {
    if (row[7].kind == engine::Value::Kind::kMap) {
      add.tags.emplace();
      for (const auto& [key, value] : row[7].fields()) {
        if (auto text = OptText(&value)) (*add.tags)[key] = *text;
      }
    }
    add.base_row_id = OptInteger(&row[8]);
    add.default_row_commit_version = OptInteger(&row[9]);
  }
  return add;
}

// Reads Parquet checkpoint parts (or sidecars). The `add` rows, nearly all of a large
// checkpoint, are read as typed columns, which is several times faster than rendering and
// parsing JSON; the other rows (and checkpoints whose add struct lacks a field asked for) go
// through JSON.
Status ReadParquetActions(engine::Connection& connection, const std::vector<std::string>& paths,
                          bool tombstones, ActionSet& out) {
  std::string others = tombstones ? " WHERE add IS NULL" : " WHERE add IS NULL AND remove IS NULL";
  static const std::vector<std::string> kTypedAddColumns = {
      "path",  "partitionValues", "size", "modificationTime", "dataChange",
      "stats", "deletionVector",  "tags", "baseRowId",        "defaultRowCommitVersion"};
  for (size_t columns : {size_t{10}, size_t{7}, size_t{6}}) {
    std::string select;
    for (size_t i = 0; i < columns; ++i) {
      select += fmt::format("{}add.{}", i == 0 ? "" : ", ", QuoteIdentifier(kTypedAddColumns[i]));
    }
    auto result = connection.Query(fmt::format(
        "SELECT {} FROM read_parquet({}) WHERE add IS NOT NULL", select, FileList(paths)));
    if (!result.ok()) continue;  // a field this checkpoint lacks: try fewer
    out.adds.reserve(out.adds.size() + result->rows.size());
    for (const auto& row : result->rows) {
      auto add = AddFromRow(row, columns);
      if (!add.ok()) return add.status().WithContext("checkpoint " + paths.front());
      out.file_action_order.emplace_back(true, out.adds.size());
      out.adds.push_back(std::move(add).value());
    }
    return ReadParquetActionsAsJson(connection, paths, others, out);
  }
  return ReadParquetActionsAsJson(connection, paths, tombstones ? "" : " WHERE remove IS NULL",
                                  out);
}

Status ReadCheckpoint(FileSystem& fs, engine::Connection& connection, const std::string& table_path,
                      const CheckpointCandidate& checkpoint, bool tombstones, ActionSet& out) {
  const std::string& first = checkpoint.paths.front();
  if (first.ends_with(".json")) {
    FRESHET_ASSIGN_OR_RETURN(std::string text, fs.Get(first));
    FRESHET_RETURN_IF_ERROR(ParseActions(text, first, out));
  } else {
    FRESHET_RETURN_IF_ERROR(ReadParquetActions(connection, checkpoint.paths, tombstones, out));
  }
  if (!out.sidecars.empty()) {
    std::vector<std::string> sidecar_paths;
    for (const Sidecar& sidecar : out.sidecars) {
      FRESHET_ASSIGN_OR_RETURN(std::string relative, PercentDecode(sidecar.path));
      std::string path = relative.find('/') == std::string::npos
                             ? JoinPath(JoinPath(LogPath(table_path), "_sidecars"), relative)
                             : relative;
      auto head = fs.Head(path);
      if (!head.ok()) {
        return head.status().WithContext("checkpoint " + first + " names a missing sidecar");
      }
      sidecar_paths.push_back(path);
    }
    FRESHET_RETURN_IF_ERROR(ReadParquetActions(connection, sidecar_paths, tombstones, out));
  }
  if (!out.protocol || !out.metadata) {
    return Status::Corruption("checkpoint {} lacks a protocol or metaData action", first);
  }
  return Status::Ok();
}

// The newest checkpoint at or below `version`, preferring the one _last_checkpoint names.
std::optional<CheckpointCandidate> ChooseCheckpoint(const LogListing& listing, Version version) {
  auto it = listing.checkpoints.upper_bound(version);
  if (it == listing.checkpoints.begin()) return std::nullopt;
  --it;
  // Several complete checkpoints of one version are equivalent; take a stable choice.
  return it->second.front();
}

class Replayer {
 public:
  void Apply(const ActionSet& actions) {
    if (actions.protocol) protocol_ = actions.protocol;
    if (actions.metadata) metadata_ = actions.metadata;
    for (const Txn& txn : actions.txns) txns_[txn.app_id] = txn;
    for (auto [is_add, index] : actions.file_action_order) {
      if (is_add) {
        const AddFile& add = actions.adds[index];
        tombstones_.erase({add.path, add.DvUniqueId()});
        files_[add.path] = add;
      } else {
        const RemoveFile& remove = actions.removes[index];
        std::string dv_id = remove.DvUniqueId();
        auto it = files_.find(remove.path);
        // A remove hides the add of the same logical file only: a DV replacement writes the
        // new add and the remove of the old (path, DV) in one commit, in either order.
        if (it != files_.end() && it->second.DvUniqueId() == dv_id) files_.erase(it);
        tombstones_[{remove.path, dv_id}] = remove;
      }
    }
  }

  std::optional<Protocol> protocol_;
  std::optional<Metadata> metadata_;
  std::map<std::string, AddFile> files_;
  std::map<std::pair<std::string, std::string>, RemoveFile> tombstones_;
  std::map<std::string, Txn> txns_;
};

Result<std::optional<CommitInfo>> ReadCommitInfo(FileSystem& fs, const std::string& path) {
  FRESHET_ASSIGN_OR_RETURN(std::string text, fs.Get(path));
  ActionSet actions;
  FRESHET_RETURN_IF_ERROR(ParseActions(text, path, actions));
  return actions.commit_info;
}

}  // namespace

bool IsSupportedReaderFeature(const std::string& feature) {
  return kSupportedReaderFeatures.count(feature) > 0;
}

Status CheckReadable(const Protocol& protocol) {
  if (protocol.min_reader_version > 3) {
    return Status::NotSupported("the table needs reader version {}; freshet reads up to 3",
                                protocol.min_reader_version);
  }
  if (protocol.min_reader_version == 3 && protocol.reader_features) {
    for (const auto& feature : *protocol.reader_features) {
      if (!IsSupportedReaderFeature(feature)) {
        return Status::NotSupported(
            "the table needs reader feature '{}', which freshet does "
            "not implement",
            feature);
      }
    }
  }
  return Status::Ok();
}

class SnapshotBuilder {
 public:
  static Result<Snapshot> Build(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, const LogListing& listing,
                                std::optional<Version> requested, bool tombstones) {
    Version latest = -1;
    if (!listing.commits.empty()) latest = listing.commits.rbegin()->first;
    if (!listing.checkpoints.empty()) {
      latest = std::max(latest, listing.checkpoints.rbegin()->first);
    }
    Version version = requested.value_or(latest);
    if (version < 0 || version > latest) {
      return Status::NotFound("{} has no version {}; its latest version is {}", table_path, version,
                              latest);
    }
    Snapshot snapshot;
    snapshot.table_path_ = table_path;
    snapshot.version_ = version;
    Replayer replayer;
    Version next = 0;
    if (auto checkpoint = ChooseCheckpoint(listing, version)) {
      ActionSet actions;
      FRESHET_RETURN_IF_ERROR(
          ReadCheckpoint(fs, connection, table_path, *checkpoint, tombstones, actions));
      replayer.Apply(actions);
      snapshot.checkpoint_version_ = checkpoint->version;
      next = checkpoint->version + 1;
    }
    if (next == 0 && listing.commits.count(0) == 0 && !listing.commits.empty()) {
      Version earliest = listing.commits.begin()->first;
      if (!listing.checkpoints.empty()) earliest = listing.checkpoints.begin()->first;
      return Status::NotFound(
          "{} no longer keeps version {} (older log files were cleaned "
          "up); the earliest readable version is {}",
          table_path, version, earliest);
    }
    for (Version v = next; v <= version; ++v) {
      auto it = listing.commits.find(v);
      if (it == listing.commits.end()) {
        return Status::Corruption(
            "{}: commit {} is missing from {} (and no checkpoint covers "
            "it)",
            table_path, CommitFileName(v), LogPath(table_path));
      }
      FRESHET_ASSIGN_OR_RETURN(std::string text, fs.Get(it->second.path));
      ActionSet actions;
      FRESHET_RETURN_IF_ERROR(ParseActions(text, it->second.path, actions));
      replayer.Apply(actions);
      if (v == version) snapshot.commit_info_ = actions.commit_info;
    }
    if (!replayer.protocol_ || !replayer.metadata_) {
      return Status::Corruption("{}: no protocol or metaData action up to version {}", table_path,
                                version);
    }
    if (next > version) {
      // Built from a checkpoint at exactly this version: commitInfo lives in the commit file.
      auto it = listing.commits.find(version);
      if (it != listing.commits.end()) {
        FRESHET_ASSIGN_OR_RETURN(snapshot.commit_info_, ReadCommitInfo(fs, it->second.path));
      }
    }
    snapshot.protocol_ = *replayer.protocol_;
    snapshot.metadata_ = *replayer.metadata_;
    Status readable = CheckReadable(snapshot.protocol_);
    if (!readable.ok()) return readable.WithContext(table_path);
    auto schema = ParseSchema(snapshot.metadata_.schema_string);
    if (!schema.ok()) return schema.status().WithContext(table_path + " metaData.schemaString");
    snapshot.schema_ = std::move(schema).value();
    snapshot.column_mapping_mode_ =
        snapshot.Configuration("delta.columnMapping.mode").value_or("none");
    snapshot.files_.reserve(replayer.files_.size());
    for (auto& [path, add] : replayer.files_) snapshot.files_.push_back(std::move(add));
    for (auto& [key, remove] : replayer.tombstones_) {
      snapshot.tombstones_.push_back(std::move(remove));
    }
    snapshot.app_transactions_ = std::move(replayer.txns_);
    auto commit = listing.commits.find(version);
    if (snapshot.commit_info_ && snapshot.commit_info_->in_commit_timestamp) {
      snapshot.timestamp_ms_ = *snapshot.commit_info_->in_commit_timestamp;
    } else if (commit != listing.commits.end()) {
      FRESHET_ASSIGN_OR_RETURN(FileInfo info, fs.Head(commit->second.path));
      snapshot.timestamp_ms_ = info.modification_time_ms;
    }
    return snapshot;
  }
};

Result<Snapshot> Snapshot::Advance(const ActionSet& commit, int64_t file_time_ms,
                                   bool keep_tombstones) const {
  Replayer replayer;
  replayer.protocol_ = protocol_;
  replayer.metadata_ = metadata_;
  replayer.txns_ = app_transactions_;
  for (const AddFile& add : files_)
    replayer.files_.emplace_hint(replayer.files_.end(), add.path, add);
  bool keep = keep_tombstones && tombstones_kept_;
  if (keep) {
    for (const RemoveFile& remove : tombstones_) {
      replayer.tombstones_.emplace(std::make_pair(remove.path, remove.DvUniqueId()), remove);
    }
  }
  replayer.Apply(commit);
  Snapshot next;
  next.table_path_ = table_path_;
  next.version_ = version_ + 1;
  next.protocol_ = *replayer.protocol_;
  next.metadata_ = *replayer.metadata_;
  next.checkpoint_version_ = checkpoint_version_;
  if (commit.protocol) {
    Status readable = CheckReadable(next.protocol_);
    if (!readable.ok()) return readable.WithContext(table_path_);
  }
  if (commit.metadata) {
    auto schema = ParseSchema(next.metadata_.schema_string);
    if (!schema.ok()) return schema.status().WithContext(table_path_ + " metaData.schemaString");
    next.schema_ = std::move(schema).value();
    next.column_mapping_mode_ = next.Configuration("delta.columnMapping.mode").value_or("none");
  } else {
    next.schema_ = schema_;
    next.column_mapping_mode_ = column_mapping_mode_;
  }
  next.files_.reserve(replayer.files_.size());
  for (auto& [path, add] : replayer.files_) next.files_.push_back(std::move(add));
  next.tombstones_kept_ = keep;
  if (keep) {
    next.tombstones_.reserve(replayer.tombstones_.size());
    for (auto& [key, remove] : replayer.tombstones_) next.tombstones_.push_back(std::move(remove));
  }
  next.app_transactions_ = std::move(replayer.txns_);
  next.commit_info_ = commit.commit_info;
  next.timestamp_ms_ = next.commit_info_ && next.commit_info_->in_commit_timestamp
                           ? *next.commit_info_->in_commit_timestamp
                           : file_time_ms;
  return next;
}

void Snapshot::MarkCheckpointed() {
  checkpoint_version_ = version_;
  tombstones_.clear();
  tombstones_kept_ = true;
}

std::optional<int64_t> Snapshot::AppVersion(const std::string& app_id) const {
  auto it = app_transactions_.find(app_id);
  if (it == app_transactions_.end()) return std::nullopt;
  return it->second.version;
}

std::optional<std::string> Snapshot::Configuration(const std::string& key) const {
  auto it = metadata_.configuration.find(key);
  if (it == metadata_.configuration.end()) return std::nullopt;
  return it->second;
}

Result<Snapshot> Snapshot::Load(FileSystem& fs, engine::Connection& connection,
                                const std::string& table_path, std::optional<Version> version,
                                bool tombstones) {
  FRESHET_ASSIGN_OR_RETURN(LogListing listing, ListLog(fs, table_path, false));
  return SnapshotBuilder::Build(fs, connection, table_path, listing, version, tombstones);
}

Result<std::vector<CommitEntry>> History(FileSystem& fs, const std::string& table_path) {
  return History(fs, table_path, 0, std::numeric_limits<Version>::max());
}

Result<std::vector<CommitEntry>> History(FileSystem& fs, const std::string& table_path,
                                         Version from, Version to) {
  FRESHET_ASSIGN_OR_RETURN(LogListing listing, ListLog(fs, table_path, true));
  std::vector<CommitEntry> out;
  int64_t previous = INT64_MIN;
  for (const auto& [version, info] : listing.commits) {
    if (version > to) break;
    CommitEntry entry;
    entry.version = version;
    entry.timestamp_ms = info.modification_time_ms;
    if (version >= from) {
      FRESHET_ASSIGN_OR_RETURN(entry.commit_info, ReadCommitInfo(fs, info.path));
      if (entry.commit_info && entry.commit_info->in_commit_timestamp) {
        entry.timestamp_ms = *entry.commit_info->in_commit_timestamp;
      }
    }
    // File times can go backwards (copies, clock skew); like Delta's reference reader, make
    // them strictly increasing so that timestamp lookups are well defined.
    if (previous != INT64_MIN && entry.timestamp_ms <= previous) entry.timestamp_ms = previous + 1;
    previous = entry.timestamp_ms;
    if (version >= from) out.push_back(std::move(entry));
  }
  return out;
}

Result<Snapshot> Snapshot::LoadAsOf(FileSystem& fs, engine::Connection& connection,
                                    const std::string& table_path, int64_t timestamp_ms) {
  FRESHET_ASSIGN_OR_RETURN(std::vector<CommitEntry> history, History(fs, table_path));
  std::optional<Version> found;
  for (const CommitEntry& entry : history) {
    if (entry.timestamp_ms <= timestamp_ms) found = entry.version;
  }
  if (!found) {
    return Status::NotFound(
        "{} has no version at or before timestamp {} ms; its earliest "
        "commit is at {} ms",
        table_path, timestamp_ms, history.empty() ? 0 : history.front().timestamp_ms);
  }
  return Load(fs, connection, table_path, found);
}

Result<Version> LatestVersion(FileSystem& fs, const std::string& table_path) {
  FRESHET_ASSIGN_OR_RETURN(LogListing listing, ListLog(fs, table_path, false));
  Version latest = listing.commits.empty() ? -1 : listing.commits.rbegin()->first;
  if (!listing.checkpoints.empty()) latest = std::max(latest, listing.checkpoints.rbegin()->first);
  return latest;
}

}  // namespace freshet::lake
