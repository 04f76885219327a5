#include "lake/change_feed.h"

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/export.h"
#include "lake/paths.h"
#include "lake/scan.h"
#include "lake/snapshot.h"

namespace freshet::lake {
namespace {

// Hidden ordering columns of the per-file selects.
constexpr const char* kFileOrdinal = "__freshet_feed_file";
constexpr const char* kRowOrdinal = "__freshet_feed_row";

std::string ExtraColumns(const std::string& change_type_sql, Version version, int64_t timestamp_ms,
                         size_t file_ordinal) {
  return fmt::format(
      ", {} AS {}, CAST({} AS BIGINT) AS {}, timezone('UTC', make_timestamp(CAST({} AS BIGINT))) "
      "AS {}, CAST({} AS BIGINT) AS {}, CAST(file_row_number AS BIGINT) AS {}",
      change_type_sql, QuoteIdentifier(kChangeTypeColumn), version,
      QuoteIdentifier(kCommitVersionColumn), timestamp_ms * 1000,
      QuoteIdentifier(kCommitTimestampColumn), file_ordinal, kFileOrdinal, kRowOrdinal);
}

Result<std::vector<uint64_t>> DeletedRows(FileSystem& fs, const std::string& table_path,
                                          const std::optional<DeletionVectorDescriptor>& dv) {
  if (!dv) return std::vector<uint64_t>();
  auto rows = LoadDeletionVector(fs, table_path, *dv);
  if (!rows.ok()) return rows.status().WithContext("a deletion vector of " + table_path);
  return rows;
}

// The spec's fallback for a commit without cdc actions: new files are inserts, removed files'
// live rows are deletes, and rows a file's new deletion vector adds are deletes.
// `removed_partition` gives the partition values of a removed file whose remove action lacks
// them (they are optional in the log).
Status FallbackFiles(
    FileSystem& fs, const std::string& table_path, const ActionSet& actions, Version version,
    int64_t timestamp_ms,
    const std::function<Result<PartitionValues>(const std::string& path)>& removed_partition,
    std::vector<ScanFile>& files) {
  std::map<std::string, const AddFile*> adds;
  std::map<std::string, const RemoveFile*> removes;
  for (const AddFile& add : actions.adds) {
    if (add.data_change) adds[add.path] = &add;
  }
  for (const RemoveFile& remove : actions.removes) {
    if (remove.data_change) removes[remove.path] = &remove;
  }
  for (const auto& [is_add, index] : actions.file_action_order) {
    if (is_add) {
      const AddFile& add = actions.adds[index];
      if (!add.data_change) continue;
      auto removed = removes.find(add.path);
      FRESHET_ASSIGN_OR_RETURN(auto now_deleted, DeletedRows(fs, table_path, add.deletion_vector));
      ScanFile file;
      file.path = add.path;
      file.partition_values = add.partition_values;
      if (removed == removes.end()) {
        file.rows_mode = ScanFile::Rows::kExcept;
        file.rows = std::move(now_deleted);
        file.extra_columns = ExtraColumns("'insert'", version, timestamp_ms, files.size());
      } else {
        // The same file with a new deletion vector: the rows it newly marks were deleted.
        FRESHET_ASSIGN_OR_RETURN(auto before,
                                 DeletedRows(fs, table_path, removed->second->deletion_vector));
        std::vector<uint64_t> newly;
        std::set_difference(now_deleted.begin(), now_deleted.end(), before.begin(), before.end(),
                            std::back_inserter(newly));
        file.rows_mode = ScanFile::Rows::kOnly;
        file.rows = std::move(newly);
        file.extra_columns = ExtraColumns("'delete'", version, timestamp_ms, files.size());
      }
      files.push_back(std::move(file));
    } else {
      const RemoveFile& remove = actions.removes[index];
      if (!remove.data_change || adds.count(remove.path) > 0) continue;
      ScanFile file;
      file.path = remove.path;
      if (remove.partition_values) {
        file.partition_values = *remove.partition_values;
      } else {
        FRESHET_ASSIGN_OR_RETURN(file.partition_values, removed_partition(remove.path));
      }
      FRESHET_ASSIGN_OR_RETURN(file.rows, DeletedRows(fs, table_path, remove.deletion_vector));
      file.rows_mode = ScanFile::Rows::kExcept;
      file.extra_columns = ExtraColumns("'delete'", version, timestamp_ms, files.size());
      files.push_back(std::move(file));
    }
  }
  return Status::Ok();
}

}  // namespace

bool ChangeFeedEnabled(const std::map<std::string, std::string>& configuration) {
  auto it = configuration.find("delta.enableChangeDataFeed");
  if (it == configuration.end()) return false;
  std::string value = it->second;
  std::transform(value.begin(), value.end(), value.begin(), ::tolower);
  return value == "true";
}

Result<std::string> ChangeFeedSql(FileSystem& fs, engine::Connection& connection,
                                  const std::string& table_path, Version from,
                                  std::optional<Version> to) {
  FRESHET_ASSIGN_OR_RETURN(Version latest, LatestVersion(fs, table_path));
  if (latest < 0) return Status::NotFound("{} is not a Delta table (no commits)", table_path);
  Version last = to.value_or(latest);
  if (from < 0 || from > last || last > latest) {
    return Status::InvalidArgument(
        "change feed of {}: versions {} to {} are out of range; the table has versions up to {} "
        "(ask for 0 <= from <= to <= {})",
        table_path, from, last, latest, latest);
  }
  // The columns are those of the range's last version; whether the feed was on comes from the
  // configuration at each version.
  FRESHET_ASSIGN_OR_RETURN(Snapshot end, Snapshot::Load(fs, connection, table_path, last));
  FRESHET_ASSIGN_OR_RETURN(Snapshot start, Snapshot::Load(fs, connection, table_path, from));
  FRESHET_ASSIGN_OR_RETURN(std::vector<CommitEntry> history, History(fs, table_path, from, last));
  std::map<Version, int64_t> timestamps;
  for (const CommitEntry& entry : history) timestamps[entry.version] = entry.timestamp_ms;

  std::map<std::string, std::string> configuration = start.metadata().configuration;
  std::vector<ScanFile> files;
  for (Version version = from; version <= last; ++version) {
    std::string commit_path = JoinPath(LogPath(table_path), CommitFileName(version));
    auto text = fs.Get(commit_path);
    if (!text.ok()) {
      if (text.status().Is(Code::kNotFound)) {
        return Status::InvalidArgument(
            "change feed of {}: the commit of version {} is no longer in the log (cleaned up "
            "after the log retention); start from a later version",
            table_path, version);
      }
      return text.status();
    }
    ActionSet actions;
    FRESHET_RETURN_IF_ERROR(ParseActions(*text, commit_path, actions));
    if (actions.metadata) configuration = actions.metadata->configuration;
    if (!ChangeFeedEnabled(configuration)) {
      return Status::InvalidArgument(
          "change feed of {}: version {} does not have the change data feed enabled (set the "
          "table property delta.enableChangeDataFeed=true; changes before that are not "
          "recorded)",
          table_path, version);
    }
    auto found = timestamps.find(version);
    int64_t timestamp_ms = found != timestamps.end() ? found->second : 0;
    if (!actions.cdcs.empty()) {
      for (const AddCdcFile& cdc : actions.cdcs) {
        ScanFile file;
        file.path = cdc.path;
        file.partition_values = cdc.partition_values;
        file.extra_columns =
            ExtraColumns(fmt::format("CAST({} AS VARCHAR)", QuoteIdentifier(kChangeTypeColumn)),
                         version, timestamp_ms, files.size());
        files.push_back(std::move(file));
      }
      continue;
    }
    auto removed_partition = [&](const std::string& path) -> Result<PartitionValues> {
      if (end.metadata().partition_columns.empty()) return PartitionValues{};
      FRESHET_ASSIGN_OR_RETURN(Snapshot before,
                               Snapshot::Load(fs, connection, table_path, version - 1));
      for (const AddFile& add : before.files()) {
        if (add.path == path) return add.partition_values;
      }
      return Status::Corruption("version {} of {} removes {}, which version {} does not hold",
                                version, table_path, path, version - 1);
    };
    FRESHET_RETURN_IF_ERROR(
        FallbackFiles(fs, table_path, actions, version, timestamp_ms, removed_partition, files));
  }

  std::string columns;
  for (const StructField& field : end.schema().fields) {
    columns += QuoteIdentifier(field.name) + ", ";
  }
  columns +=
      fmt::format("{}, {}, {}", QuoteIdentifier(kChangeTypeColumn),
                  QuoteIdentifier(kCommitVersionColumn), QuoteIdentifier(kCommitTimestampColumn));
  FRESHET_ASSIGN_OR_RETURN(std::string union_sql, ScanFilesSql(fs, connection, end, files));
  if (union_sql.empty()) {
    std::string empty;
    for (const StructField& field : end.schema().fields) {
      empty += fmt::format("CAST(NULL AS {}) AS {}, ", field.type.DuckDbType(),
                           QuoteIdentifier(field.name));
    }
    return fmt::format(
        "SELECT {}CAST(NULL AS VARCHAR) AS {}, CAST(NULL AS BIGINT) AS {}, CAST(NULL AS "
        "TIMESTAMPTZ) AS {} WHERE false",
        empty, QuoteIdentifier(kChangeTypeColumn), QuoteIdentifier(kCommitVersionColumn),
        QuoteIdentifier(kCommitTimestampColumn));
  }
  return fmt::format("SELECT {} FROM ({}) AS feed ORDER BY {}, {}, {}", columns, union_sql,
                     QuoteIdentifier(kCommitVersionColumn), kFileOrdinal, kRowOrdinal);
}

Result<std::vector<std::string>> ChangeFeedJsonl(FileSystem& fs, engine::Connection& connection,
                                                 const std::string& table_path, Version from,
                                                 std::optional<Version> to) {
  FRESHET_ASSIGN_OR_RETURN(std::string sql, ChangeFeedSql(fs, connection, table_path, from, to));
  FRESHET_ASSIGN_OR_RETURN(Snapshot end, Snapshot::Load(fs, connection, table_path, to));
  Schema schema = end.schema();
  schema.fields.push_back({kChangeTypeColumn, DataType::Primitive(DataType::Kind::kString)});
  schema.fields.push_back({kCommitVersionColumn, DataType::Primitive(DataType::Kind::kLong)});
  schema.fields.push_back(
      {kCommitTimestampColumn, DataType::Primitive(DataType::Kind::kTimestamp)});
  return ExportJsonlLines(connection, schema, sql, false);
}

}  // namespace freshet::lake
