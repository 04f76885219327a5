#include "lake/table_writer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <random>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "common/sql_quote.h"
#include "lake/change_feed.h"
#include "lake/checkpoint.h"
#include "lake/deletion_vector.h"
#include "lake/export.h"
#include "lake/paths.h"
#include "lake/schema_change.h"

namespace freshet::lake {
namespace {

using Json = nlohmann::json;

// Spark's default: strings in min/max statistics are cut to this many characters.
constexpr size_t kStatsStringPrefix = 32;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Number of UTF-8 code points in `text` up to `limit`, returning the byte length of the prefix.
size_t Utf8PrefixBytes(const std::string& text, size_t limit) {
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size() && chars < limit) {
    auto c = static_cast<unsigned char>(text[i]);
    i += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    ++chars;
  }
  return std::min(i, text.size());
}

// DuckDB's text of a min/max value as the JSON value Delta's stats use, or nullopt when the
// value cannot be a tight, safe bound (then the statistic is left out, which the spec allows).
std::optional<Json> StatValue(const DataType& type, const std::string& text, bool is_max) {
  switch (type.kind) {
    case DataType::Kind::kByte:
    case DataType::Kind::kShort:
    case DataType::Kind::kInteger:
    case DataType::Kind::kLong: {
      Json parsed = Json::parse(text, nullptr, false);
      if (parsed.is_number_integer()) return parsed;
      return std::nullopt;
    }
    case DataType::Kind::kFloat:
    case DataType::Kind::kDouble: {
      Json parsed = Json::parse(text, nullptr, false);
      if (parsed.is_number()) return parsed;
      return std::nullopt;
    }
    case DataType::Kind::kString: {
      size_t prefix = Utf8PrefixBytes(text, kStatsStringPrefix);
      if (prefix == text.size()) return Json(text);
      // A cut prefix is a valid lower bound, but not an upper one.
      if (is_max) return std::nullopt;
      return Json(text.substr(0, prefix));
    }
    case DataType::Kind::kDate:
      if (text.size() == 10) return Json(text);
      return std::nullopt;
    case DataType::Kind::kTimestamp:
    case DataType::Kind::kTimestampNtz: {
      // "2021-01-01 10:00:00[.ffffff][+00]" -> "2021-01-01T10:00:00.000[Z]" (milliseconds, as
      // Spark writes them: the minimum rounds down; a maximum with sub-millisecond digits is
      // left out rather than rounded).
      if (text.size() < 19) return std::nullopt;
      std::string fraction;
      size_t pos = 19;
      if (pos < text.size() && text[pos] == '.') {
        size_t end = pos + 1;
        while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
        fraction = text.substr(pos + 1, end - pos - 1);
        pos = end;
      }
      std::string zone = text.substr(pos);
      if (type.kind == DataType::Kind::kTimestamp && !zone.empty() && zone != "+00") {
        return std::nullopt;
      }
      fraction.resize(6, '0');
      if (is_max && fraction.substr(3) != "000") return std::nullopt;
      return Json(text.substr(0, 10) + "T" + text.substr(11, 8) + "." + fraction.substr(0, 3) +
                  (type.kind == DataType::Kind::kTimestamp ? "Z" : ""));
    }
    default:
      return std::nullopt;  // decimal (DuckDB keeps no bounds), boolean, binary
  }
}

void AddFieldStats(const StructField& field, const std::string& prefix, const std::string& mode,
                   const engine::ParquetFileStats& stats, Json& min_values, Json& max_values,
                   Json& null_count) {
  // Under column mapping, files and statistics both use physical names (PROTOCOL.md "Writer
  // Requirements for Column Mapping").
  const std::string& name = field.PhysicalName(mode);
  std::string path = prefix.empty() ? name : prefix + "." + name;
  if (field.type.kind == DataType::Kind::kStruct) {
    Json min_child = Json::object();
    Json max_child = Json::object();
    Json null_child = Json::object();
    for (const auto& child : field.type.fields) {
      AddFieldStats(child, path, mode, stats, min_child, max_child, null_child);
    }
    if (!min_child.empty()) min_values[name] = min_child;
    if (!max_child.empty()) max_values[name] = max_child;
    if (!null_child.empty()) null_count[name] = null_child;
    return;
  }
  if (field.type.is_nested()) return;  // no statistics for lists and maps
  const engine::ParquetColumnStats* column = stats.Column(path);
  if (column == nullptr) return;
  if (column->null_count) null_count[name] = *column->null_count;
  if (column->min) {
    if (auto value = StatValue(field.type, *column->min, false)) min_values[name] = *value;
  }
  if (column->max) {
    if (auto value = StatValue(field.type, *column->max, true)) max_values[name] = *value;
  }
}

bool ContainsStruct(const DataType& type) {
  if (type.kind == DataType::Kind::kStruct) return true;
  return std::any_of(type.children.begin(), type.children.end(), ContainsStruct);
}

// SQL turning `source` (a value of `type`, struct fields under their logical names) into what a
// data file stores: the table type, struct fields renamed to their physical names.
std::string PhysicalValueSql(const DataType& type, const std::string& source,
                             const std::string& mode, int& variables) {
  if (mode == "none" || !ContainsStruct(type)) {
    return fmt::format("CAST({} AS {})", source, type.DuckDbType());
  }
  switch (type.kind) {
    case DataType::Kind::kStruct: {
      std::string fields;
      for (const auto& field : type.fields) {
        fields += fmt::format(
            "{}{} := {}", fields.empty() ? "" : ", ", QuoteIdentifier(field.PhysicalName(mode)),
            PhysicalValueSql(
                field.type, fmt::format("struct_extract({}, {})", source, QuoteLiteral(field.name)),
                mode, variables));
      }
      return fmt::format("CASE WHEN {} IS NULL THEN NULL ELSE struct_pack({}) END", source, fields);
    }
    case DataType::Kind::kArray: {
      std::string var = fmt::format("w{}", ++variables);
      return fmt::format("list_transform({}, lambda {}: {})", source, var,
                         PhysicalValueSql(type.children[0], var, mode, variables));
    }
    default: {  // kMap
      std::string var = fmt::format("w{}", ++variables);
      return fmt::format(
          "map_from_entries(list_transform(map_entries({}), lambda {}: struct_pack(key := {}, "
          "value := {})))",
          source, var, PhysicalValueSql(type.children[0], var + ".key", mode, variables),
          PhysicalValueSql(type.children[1], var + ".value", mode, variables));
    }
  }
}

// DuckDB's FIELD_IDS value giving each column (and struct field below columns) its
// column-mapping id, keyed by physical name. Fields inside lists and maps get none: Delta
// readers in name mode match them by physical name.
std::string FieldIdsSql(const std::vector<const StructField*>& fields, const std::string& mode) {
  std::string out;
  for (const StructField* field : fields) {
    if (!field->field_id) continue;
    std::string value = std::to_string(*field->field_id);
    if (field->type.kind == DataType::Kind::kStruct) {
      std::vector<const StructField*> children;
      for (const auto& child : field->type.fields) children.push_back(&child);
      std::string inner = FieldIdsSql(children, mode);
      value = fmt::format("{{__duckdb_field_id: {}{}{}}}", value, inner.size() > 2 ? ", " : "",
                          inner.substr(1, inner.size() - 2));
    }
    out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", QuoteLiteral(field->PhysicalName(mode)),
                       value);
  }
  return "{" + out + "}";
}

// A SQL literal of a partition value rendered per PROTOCOL.md "Partition Value Serialization".
Result<std::optional<std::string>> SerializePartitionValue(const DataType& type,
                                                           const engine::Value& value) {
  using Kind = engine::Value::Kind;
  if (value.is_null()) return std::optional<std::string>();
  switch (type.kind) {
    case DataType::Kind::kString:
      return std::optional<std::string>(value.string());
    case DataType::Kind::kBoolean:
      return std::optional<std::string>(value.integer() != 0 ? "true" : "false");
    case DataType::Kind::kByte:
    case DataType::Kind::kShort:
    case DataType::Kind::kInteger:
    case DataType::Kind::kLong:
      return std::optional<std::string>(std::to_string(value.integer()));
    case DataType::Kind::kDecimal:
      return std::optional<std::string>(value.ToString());
    case DataType::Kind::kDate:
    case DataType::Kind::kTimestamp:
    case DataType::Kind::kTimestampNtz: {
      FRESHET_ASSIGN_OR_RETURN(std::string rendered, RenderJsonValue(type, value));
      std::string text = rendered.substr(1, rendered.size() - 2);  // strip the JSON quotes
      if (type.kind == DataType::Kind::kTimestampNtz) text[10] = ' ';
      return std::optional<std::string>(text);
    }
    default:
      if (value.kind == Kind::kDouble) {
        return std::optional<std::string>(fmt::format("{}", value.real()));
      }
      return Status::NotSupported("partition columns of type {} are not supported",
                                  type.DeltaName());
  }
}

std::string UuidFileName(const std::string& prefix, const std::string& suffix) {
  return prefix + UuidText(RandomUuid()) + suffix;
}

std::string StagingPath() {
  return (std::filesystem::temp_directory_path() /
          UuidFileName(fmt::format("freshet-staging-{}-", ::getpid()), ".parquet"))
      .string();
}

}  // namespace

std::array<uint8_t, 16> RandomUuid() {
  // Fresh entropy for every UUID: a seeded generator would repeat its sequence in processes
  // forked after using it, and two writers would then pick the same file names.
  std::random_device device;
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < out.size(); i += 4) {
    uint32_t word = device();
    for (size_t j = 0; j < 4; ++j) out[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x40);  // version 4
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);  // IETF variant
  return out;
}

std::string StatsJson(const Schema& schema, const std::vector<std::string>& partition_columns,
                      int64_t row_count, const engine::ParquetFileStats& stats,
                      const std::string& column_mapping_mode) {
  Json min_values = Json::object();
  Json max_values = Json::object();
  Json null_count = Json::object();
  std::set<std::string> partitions(partition_columns.begin(), partition_columns.end());
  for (const auto& field : schema.fields) {
    if (partitions.count(field.name) > 0) continue;
    AddFieldStats(field, "", column_mapping_mode, stats, min_values, max_values, null_count);
  }
  Json out{{"numRecords", row_count},
           {"minValues", min_values},
           {"maxValues", max_values},
           {"nullCount", null_count},
           {"tightBounds", true}};
  return Dump(out);
}

Result<Version> CreateTable(FileSystem& fs, const std::string& table_path,
                            const CreateTableOptions& options, const WriterOptions& writer) {
  for (const auto& column : options.partition_columns) {
    const StructField* field = options.schema.Find(column);
    if (field == nullptr) {
      return Status::InvalidArgument("partition column '{}' is not in the schema", column);
    }
    if (field->type.is_nested()) {
      return Status::InvalidArgument("partition column '{}' has nested type {}", column,
                                     field->type.DeltaName());
    }
  }
  int64_t now = writer.now_ms ? writer.now_ms() : SystemNowMs();
  Protocol protocol{3, 7, std::vector<std::string>{"deletionVectors"},
                    std::vector<std::string>{"deletionVectors"}};
  Schema schema = options.schema;
  std::map<std::string, std::string> configuration = options.configuration;
  auto mode = configuration.find(std::string(kColumnMappingModeKey));
  if (mode != configuration.end() && mode->second != "none") {
    if (mode->second != "name") {
      return Status::NotSupported(
          "{}: column mapping mode '{}' is not supported for new tables; use 'name' or 'none'",
          table_path, mode->second);
    }
    int64_t max_id = AssignColumnMapping(schema.fields, 0, /*keep_names=*/false);
    configuration[std::string(kMaxColumnIdKey)] = std::to_string(max_id);
    protocol.reader_features->push_back("columnMapping");
    protocol.writer_features->push_back("columnMapping");
  }
  bool ntz = false;
  for (const auto& field : schema.fields) ntz = ntz || NeedsTimestampNtzFeature(field.type);
  if (ntz) {
    protocol.reader_features->push_back("timestampNtz");
    protocol.writer_features->push_back("timestampNtz");
  }
  if (ChangeFeedEnabled(configuration)) protocol.writer_features->push_back("changeDataFeed");
  Metadata metadata;
  metadata.id = UuidText(RandomUuid());
  metadata.name = options.name;
  metadata.description = options.description;
  metadata.schema_string = SchemaToJson(schema);
  metadata.partition_columns = options.partition_columns;
  metadata.configuration = std::move(configuration);
  metadata.configuration.emplace("delta.enableDeletionVectors", "true");
  metadata.created_time = now;
  Json commit_info{{"timestamp", now},
                   {"operation", "CREATE TABLE"},
                   {"operationParameters",
                    {{"partitionBy", Dump(Json(options.partition_columns))},
                     {"properties", Dump(Json(metadata.configuration))}}},
                   {"isBlindAppend", true},
                   {"engineInfo", writer.engine_info}};
  std::string text = Dump(Json{{"commitInfo", commit_info}}) + "\n" + ToJsonLine(protocol) + "\n" +
                     ToJsonLine(metadata) + "\n";
  Status s = fs.PutIfAbsent(JoinPath(LogPath(table_path), CommitFileName(0)), text);
  if (s.Is(Code::kAlreadyExists)) {
    return Status::AlreadyExists("{} is already a Delta table (it has version 0)", table_path);
  }
  FRESHET_RETURN_IF_ERROR(s);
  return Version{0};
}

Transaction::Transaction(FileSystem& fs, engine::Connection& connection, Snapshot snapshot,
                         WriterOptions options)
    : fs_(&fs),
      connection_(&connection),
      snapshot_(std::move(snapshot)),
      options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = SystemNowMs;
}

Result<Transaction> Transaction::Begin(FileSystem& fs, engine::Connection& connection,
                                       const std::string& table_path, WriterOptions options) {
  FRESHET_ASSIGN_OR_RETURN(Snapshot snapshot,
                           Snapshot::Load(fs, connection, table_path, std::nullopt,
                                          /*tombstones=*/false));
  return Begin(fs, connection, std::move(snapshot), std::move(options));
}

Result<Transaction> Transaction::Begin(FileSystem& fs, engine::Connection& connection,
                                       Snapshot snapshot, WriterOptions options) {
  const std::string& table_path = snapshot.table_path();
  const Protocol& protocol = snapshot.protocol();
  if (protocol.min_writer_version > 7) {
    return Status::NotSupported("{} needs writer version {}; freshet writes up to 7", table_path,
                                protocol.min_writer_version);
  }
  if (snapshot.column_mapping_mode() == "id") {
    // Id mode would need field ids on every nested field, lists and maps included; freshet
    // writes them only for columns and struct fields.
    return Status::NotSupported(
        "{} uses column mapping mode 'id'; freshet writes tables with mode 'name' or none",
        table_path);
  }
  if (protocol.writer_features) {
    // appendOnly is enforced at commit; invariants only while no column declares one (this
    // writer does not evaluate them). columnMapping: files get physical names and field ids;
    // typeWidening: files are written in the current (wide) type, delta.typeChanges is kept.
    // v2Checkpoint would require V2 checkpoints, which this writer does not write, so such
    // tables are refused.
    static const std::set<std::string> kWritable = {
        "deletionVectors", "timestampNtz",  "appendOnly",           "invariants",
        "changeDataFeed",  "columnMapping", "typeWidening-preview", "typeWidening"};
    for (const auto& feature : *protocol.writer_features) {
      bool declared = feature == "invariants" && snapshot.metadata().schema_string.find(
                                                     "delta.invariants") != std::string::npos;
      if (kWritable.count(feature) == 0 || declared) {
        return Status::NotSupported(
            "{} needs writer feature '{}', which freshet does not "
            "implement",
            table_path, feature);
      }
    }
  }
  return Transaction(fs, connection, std::move(snapshot), std::move(options));
}

Result<AddFile> Transaction::WriteDataFile(const std::string& select_sql,
                                           const PartitionValues& partition, FileKind kind) {
  const bool change_data = kind == FileKind::kChangeData;
  const Schema& schema = snapshot_.schema();
  const std::string& mode = snapshot_.column_mapping_mode();
  const auto& partition_columns = snapshot_.metadata().partition_columns;
  std::set<std::string> partitions(partition_columns.begin(), partition_columns.end());
  // The input has logical names; the file gets physical ones (the same without column mapping).
  std::string columns;
  std::vector<const StructField*> written;
  int variables = 0;
  for (const auto& field : schema.fields) {
    if (partitions.count(field.name) > 0) continue;
    columns += fmt::format(
        "{}{} AS {}", columns.empty() ? "" : ", ",
        PhysicalValueSql(field.type, "t." + QuoteIdentifier(field.name), mode, variables),
        QuoteIdentifier(field.PhysicalName(mode)));
    written.push_back(&field);
  }
  if (kind != FileKind::kData) {
    columns += fmt::format(", CAST(t.{0} AS VARCHAR) AS {0}", QuoteIdentifier(kChangeTypeColumn));
  }
  std::string where;
  for (const auto& column : partition_columns) {
    const StructField* field = schema.Find(column);
    const auto& value = partition.at(field->PhysicalName(mode));
    where += fmt::format("{}t.{} IS NOT DISTINCT FROM ", where.empty() ? " WHERE " : " AND ",
                         QuoteIdentifier(column));
    if (!value) {
      where += "NULL";
    } else if (field->type.kind == DataType::Kind::kTimestamp) {
      where += fmt::format("CAST({} AS TIMESTAMPTZ)", QuoteLiteral(*value));
    } else {
      where += fmt::format("CAST({} AS {})", QuoteLiteral(*value), field->type.DuckDbType());
    }
  }
  std::string query = fmt::format("SELECT {} FROM ({}) AS t{}", columns, select_sql, where);
  engine::ParquetWriteOptions write_options;
  if (mode != "none") write_options.field_ids = FieldIdsSql(written, mode);
  std::string staging = StagingPath();
  auto stats = engine::WriteParquet(*connection_, query, staging, write_options);
  if (!stats.ok()) {
    std::filesystem::remove(staging);
    return stats.status().WithContext("writing a data file of " + snapshot_.table_path());
  }
  // DuckDB writes to local disk; the bytes reach the table through the FileSystem seam.
  LocalFileSystem local;
  auto bytes = local.Get(staging);
  std::filesystem::remove(staging);
  if (!bytes.ok()) return bytes.status();
  std::string relative = change_data ? std::string(kChangeDataFolder) + "/" : "";
  for (const auto& column : partition_columns) {
    const std::string& physical = schema.Find(column)->PhysicalName(mode);
    relative += HivePartitionDirectory(physical, partition.at(physical)) + "/";
  }
  relative += UuidFileName(change_data ? "cdc-00000-" : "part-00000-", "-c000.snappy.parquet");
  std::string path = JoinPath(snapshot_.table_path(), relative);
  FRESHET_RETURN_IF_ERROR(fs_->PutIfAbsent(path, *bytes));
  AddFile add;
  add.path = PercentEncodePath(relative);
  add.partition_values = partition;
  add.size = static_cast<int64_t>(bytes->size());
  add.modification_time = options_.now_ms();
  add.data_change = true;
  if (change_data) {
    metrics_["numChangeDataFiles"] += 1;
    metrics_["numChangeDataRows"] += stats->row_count;
    return add;
  }
  add.stats = StatsJson(schema, partition_columns, stats->row_count, *stats, mode);
  metrics_["numFiles"] += 1;
  metrics_["numOutputRows"] += stats->row_count;
  metrics_["numOutputBytes"] += add.size;
  return add;
}

Result<std::vector<PartitionValues>> Transaction::Partitions(const std::string& select_sql) {
  const auto& partition_columns = snapshot_.metadata().partition_columns;
  std::vector<PartitionValues> partitions;
  if (partition_columns.empty()) {
    partitions.emplace_back();
    return partitions;
  }
  std::string columns;
  for (const auto& column : partition_columns) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(column);
  }
  // In order of each partition's first row, so change-data files follow the changes.
  FRESHET_ASSIGN_OR_RETURN(
      auto distinct,
      connection_->Query(fmt::format("SELECT {0} FROM (SELECT {0}, row_number() OVER () AS "
                                     "freshet_ordinal FROM ({1}) AS t) GROUP BY ALL ORDER BY "
                                     "min(freshet_ordinal)",
                                     columns, select_sql)));
  for (const auto& row : distinct.rows) {
    PartitionValues values;
    for (size_t i = 0; i < partition_columns.size(); ++i) {
      // Partition values are keyed by physical name (PROTOCOL.md "Column Mapping").
      const StructField* field = snapshot_.schema().Find(partition_columns[i]);
      FRESHET_ASSIGN_OR_RETURN(values[field->PhysicalName(snapshot_.column_mapping_mode())],
                               SerializePartitionValue(field->type, row[i]));
    }
    partitions.push_back(std::move(values));
  }
  return partitions;
}

Result<std::vector<AddFile>> Transaction::AppendFiles(const std::string& select_sql,
                                                      FileKind kind) {
  FRESHET_ASSIGN_OR_RETURN(auto partitions, Partitions(select_sql));
  std::vector<AddFile> added;
  for (const auto& partition : partitions) {
    FRESHET_ASSIGN_OR_RETURN(AddFile add, WriteDataFile(select_sql, partition, kind));
    if (kind == FileKind::kDataWithChangeType) {
      cdcs_.push_back(AddCdcFile{add.path, add.partition_values, add.size});
      metrics_["numChangeDataFiles"] += 1;
      metrics_["numChangeDataRows"] += add.NumRecords().value_or(0);
    }
    added.push_back(add);
    adds_.push_back(std::move(add));
  }
  return added;
}

Result<std::vector<AddFile>> Transaction::Append(const std::string& select_sql) {
  return AppendFiles(select_sql, FileKind::kData);
}

Result<std::vector<AddFile>> Transaction::AppendAsChangeData(const std::string& select_sql) {
  return AppendFiles(select_sql, FileKind::kDataWithChangeType);
}

Result<std::vector<AddCdcFile>> Transaction::AppendChangeData(const std::string& select_sql) {
  FRESHET_ASSIGN_OR_RETURN(auto partitions, Partitions(select_sql));
  std::vector<AddCdcFile> added;
  for (const auto& partition : partitions) {
    FRESHET_ASSIGN_OR_RETURN(AddFile file,
                             WriteDataFile(select_sql, partition, FileKind::kChangeData));
    AddCdcFile cdc;
    cdc.path = std::move(file.path);
    cdc.partition_values = std::move(file.partition_values);
    cdc.size = file.size;
    added.push_back(cdc);
    cdcs_.push_back(std::move(cdc));
  }
  return added;
}

const AddFile* Transaction::LiveFile(const std::string& path) const {
  for (const AddFile& add : snapshot_.files()) {
    if (add.path == path) return &add;
  }
  return nullptr;
}

Status Transaction::Remove(const std::string& path) {
  const AddFile* add = LiveFile(path);
  if (add == nullptr) {
    return Status::NotFound("{} has no live file {} at version {}", snapshot_.table_path(), path,
                            snapshot_.version());
  }
  RemoveFile remove;
  remove.path = add->path;
  remove.deletion_timestamp = options_.now_ms();
  remove.data_change = true;
  remove.extended_file_metadata = true;
  remove.partition_values = add->partition_values;
  remove.size = add->size;
  remove.stats = add->stats;
  remove.deletion_vector = add->deletion_vector;
  removes_.push_back(std::move(remove));
  metrics_["numRemovedFiles"] += 1;
  return Status::Ok();
}

Status Transaction::DeleteRows(const std::string& path, const std::vector<uint64_t>& rows) {
  return DeleteRowsKnown(path, rows, nullptr);
}

Status Transaction::DeleteRows(const std::string& path, const std::vector<uint64_t>& rows,
                               RowSet& current) {
  return DeleteRowsKnown(path, rows, &current);
}

Status Transaction::DeleteRowsKnown(const std::string& path, const std::vector<uint64_t>& rows,
                                    RowSet* current) {
  const AddFile* add = LiveFile(path);
  if (add == nullptr) {
    return Status::NotFound("{} has no live file {} at version {}", snapshot_.table_path(), path,
                            snapshot_.version());
  }
  auto records = add->NumRecords();
  if (!records) {
    return Status::NotSupported("{} has no numRecords statistic; deletion vectors need it", path);
  }
  std::vector<uint64_t> deleted(rows.begin(), rows.end());
  std::sort(deleted.begin(), deleted.end());
  if (!deleted.empty() && deleted.back() >= static_cast<uint64_t>(*records)) {
    return Status::InvalidArgument("row {} is beyond the {} rows of {}", deleted.back(), *records,
                                   path);
  }
  // The rows the file's vector holds now: the caller's, unless they cannot be its vector
  // (another writer changed it), else read from the DV file.
  auto cardinality =
      static_cast<uint64_t>(add->deletion_vector ? add->deletion_vector->cardinality : 0);
  PendingDeletionVector pending;
  if (current != nullptr) pending.kept = current;
  RowSet& set = pending.rows();
  if (current == nullptr || current->size() != cardinality) {
    std::vector<uint64_t> loaded;
    if (add->deletion_vector) {
      FRESHET_ASSIGN_OR_RETURN(
          loaded, LoadDeletionVector(*fs_, snapshot_.table_path(), *add->deletion_vector));
    }
    set = RowSet::Of(loaded);
  }
  uint64_t newly = set.Add(deleted);
  metrics_["numDeletedRows"] += static_cast<int64_t>(newly);
  FRESHET_RETURN_IF_ERROR(Remove(path));
  metrics_["numRemovedFiles"] -= 1;
  if (static_cast<int64_t>(set.size()) == *records) {
    metrics_["numRemovedFiles"] += 1;
    return Status::Ok();  // nothing left: the remove alone
  }
  pending.add = *add;
  pending.add.data_change = true;
  pending.add.modification_time = options_.now_ms();
  pending_deletion_vectors_.push_back(std::move(pending));
  metrics_["numDeletionVectorsAdded"] += 1;
  return Status::Ok();
}

Status Transaction::AddWrittenFile(AddFile add, std::vector<uint64_t> deleted) {
  if (deleted.empty()) {
    adds_.push_back(std::move(add));
    return Status::Ok();
  }
  auto records = add.NumRecords();
  if (!records || deleted.back() >= static_cast<uint64_t>(*records)) {
    return Status::InvalidArgument("row {} is beyond the rows of {}", deleted.back(), add.path);
  }
  if (static_cast<int64_t>(deleted.size()) == *records) return Status::Ok();  // nothing left
  add.deletion_vector.reset();
  metrics_["numDeletionVectorsAdded"] += 1;
  PendingDeletionVector pending;
  pending.add = std::move(add);
  pending.owned = RowSet::Of(deleted);
  pending_deletion_vectors_.push_back(std::move(pending));
  return Status::Ok();
}

Status Transaction::WritePendingDeletionVectors() {
  if (pending_deletion_vectors_.empty()) return Status::Ok();
  // One file for all of them: a commit touching many files writes (and syncs) one DV file.
  std::vector<RowSet*> bitmaps;
  bitmaps.reserve(pending_deletion_vectors_.size());
  for (auto& pending : pending_deletion_vectors_) bitmaps.push_back(&pending.rows());
  EncodedDeletionVectors encoded = EncodeDeletionVectorsFile(bitmaps);
  std::array<uint8_t, 16> uuid = RandomUuid();
  std::string z85_uuid =
      Z85Encode(std::string(reinterpret_cast<const char*>(uuid.data()), uuid.size()));
  std::string dv_path;
  for (size_t i = 0; i < pending_deletion_vectors_.size(); ++i) {
    AddFile& add = pending_deletion_vectors_[i].add;
    add.deletion_vector =
        DeletionVectorDescriptor{"u", z85_uuid, encoded.offsets[i], encoded.sizes_in_bytes[i],
                                 static_cast<int64_t>(bitmaps[i]->size())};
    if (dv_path.empty()) {
      FRESHET_ASSIGN_OR_RETURN(dv_path,
                               DeletionVectorPath(snapshot_.table_path(), *add.deletion_vector));
    }
  }
  FRESHET_RETURN_IF_ERROR(fs_->PutIfAbsent(dv_path, encoded.file_bytes));
  for (auto& pending : pending_deletion_vectors_) adds_.push_back(std::move(pending.add));
  pending_deletion_vectors_.clear();
  return Status::Ok();
}

void Transaction::SetMetadata(Metadata metadata, std::optional<Protocol> protocol) {
  new_metadata_ = std::move(metadata);
  new_protocol_ = std::move(protocol);
}

void Transaction::SetAppTransaction(const std::string& app_id, int64_t version) {
  app_transaction_ = Txn{app_id, version, options_.now_ms()};
}

Status Transaction::CheckConflicts(const ActionSet& winner, Version version) const {
  const std::string& table = snapshot_.table_path();
  if (new_metadata_ || new_protocol_) {
    return Status::Conflict(
        "{}: version {} was committed while this transaction changed the "
        "table metadata; retry the transaction",
        table, version);
  }
  if (winner.protocol) {
    return Status::Conflict("{}: version {} changed the protocol; retry the transaction", table,
                            version);
  }
  if (winner.metadata) {
    return Status::Conflict("{}: version {} changed the table metadata; retry the transaction",
                            table, version);
  }
  if (app_transaction_) {
    for (const Txn& txn : winner.txns) {
      if (txn.app_id == app_transaction_->app_id) {
        return Status::Conflict("{}: version {} committed app '{}' version {} concurrently", table,
                                version, txn.app_id, txn.version);
      }
    }
  }
  std::set<std::string> ours;
  for (const auto& remove : removes_) ours.insert(remove.path);
  for (const auto& remove : winner.removes) {
    if (ours.count(remove.path) > 0) {
      return Status::Conflict(
          "{}: version {} concurrently removed or changed {}, which this "
          "transaction also removes or changes",
          table, version, remove.path);
    }
  }
  return Status::Ok();
}

std::string Transaction::CommitText(const std::string& operation) const {
  Json metrics = Json::object();
  for (const auto& [name, value] : metrics_) metrics[name] = std::to_string(value);
  Json commit_info{{"timestamp", options_.now_ms()},        {"operation", operation},
                   {"operationParameters", Json::object()}, {"readVersion", snapshot_.version()},
                   {"isolationLevel", "WriteSerializable"}, {"isBlindAppend", removes_.empty()},
                   {"operationMetrics", metrics},           {"engineInfo", options_.engine_info},
                   {"txnId", UuidText(RandomUuid())}};
  std::string text = Dump(Json{{"commitInfo", commit_info}}) + "\n";
  if (new_protocol_) text += ToJsonLine(*new_protocol_) + "\n";
  if (new_metadata_) text += ToJsonLine(*new_metadata_) + "\n";
  if (app_transaction_) text += ToJsonLine(*app_transaction_) + "\n";
  for (const auto& remove : removes_) text += ToJsonLine(remove) + "\n";
  for (const auto& add : adds_) text += ToJsonLine(add) + "\n";
  for (const auto& cdc : cdcs_) text += ToJsonLine(cdc) + "\n";
  return text;
}

int Transaction::CheckpointInterval() const {
  int interval = options_.checkpoint_interval;
  if (auto configured = snapshot_.Configuration("delta.checkpointInterval")) {
    interval = std::atoi(configured->c_str());
  }
  return interval;
}

void Transaction::MaybeCheckpoint(Version version) {
  int interval = CheckpointInterval();
  if (interval <= 0 || version % interval != 0) return;
  // The commit is durable already; a failed checkpoint only means readers replay more JSON,
  // so it is reported in the log and kept in checkpoint_status(), not returned as an error.
  // The snapshot this commit made, when there is one, holds the tombstones since the last
  // checkpoint: no log to read back.
  if (committed_snapshot_ && committed_snapshot_->tombstones_kept()) {
    checkpoint_status_ =
        CheckpointSnapshot(*fs_, *connection_, *committed_snapshot_, options_.now_ms());
    if (checkpoint_status_.ok()) committed_snapshot_->MarkCheckpointed();
  } else {
    checkpoint_status_ =
        CheckpointVersion(*fs_, *connection_, snapshot_.table_path(), version, options_.now_ms())
            .status();
  }
  if (!checkpoint_status_.ok()) {
    spdlog::warn("checkpoint of {} at version {} failed: {}", snapshot_.table_path(), version,
                 checkpoint_status_.message());
  }
}

Result<Snapshot> Transaction::AdvanceSnapshot() const {
  // The commit's actions as the log holds them (CommitText: removes, then adds), taken from
  // what was staged rather than parsed back; only commitInfo is read from the text.
  ActionSet actions;
  std::string_view first = std::string_view(committed_text_).substr(0, committed_text_.find('\n'));
  FRESHET_RETURN_IF_ERROR(ParseActionLine(first, actions));
  actions.protocol = new_protocol_;
  actions.metadata = new_metadata_;
  if (app_transaction_) actions.txns.push_back(*app_transaction_);
  actions.removes = removes_;
  actions.adds = adds_;
  actions.cdcs = cdcs_;
  for (size_t i = 0; i < removes_.size(); ++i) actions.file_action_order.push_back({false, i});
  for (size_t i = 0; i < adds_.size(); ++i) actions.file_action_order.push_back({true, i});
  // Load takes a commit's time from its file (no in-commit timestamps here).
  std::string path = JoinPath(LogPath(snapshot_.table_path()), CommitFileName(committed_version_));
  FRESHET_ASSIGN_OR_RETURN(FileInfo info, fs_->Head(path));
  // Tombstones only for writers that checkpoint: the snapshot is checkpointed every interval,
  // which clears them; kept by others they would grow by a remove per file per commit.
  return snapshot_.Advance(actions, info.modification_time_ms, CheckpointInterval() > 0);
}

Result<std::optional<Snapshot>> Transaction::CommittedSnapshot() const {
  if (!committed_) return Status::InvalidArgument("the transaction has not committed");
  if (committed_version_ != snapshot_.version() + 1) return std::optional<Snapshot>();
  if (!committed_snapshot_) return committed_snapshot_status_;
  return std::optional<Snapshot>(*committed_snapshot_);
}

void Transaction::MarkNoDataChange() {
  for (AddFile& add : adds_) add.data_change = false;
  for (auto& pending : pending_deletion_vectors_) pending.add.data_change = false;
  for (RemoveFile& remove : removes_) remove.data_change = false;
}

Result<Version> Transaction::Commit(const std::string& operation) {
  if (committed_) return Status::InvalidArgument("the transaction was already committed");
  if (!removes_.empty() && snapshot_.Configuration("delta.appendOnly") == "true") {
    return Status::InvalidArgument(
        "{} is append-only (delta.appendOnly=true): rows and files "
        "cannot be removed",
        snapshot_.table_path());
  }
  FRESHET_RETURN_IF_ERROR(WritePendingDeletionVectors());
  std::string text = CommitText(operation);
  std::string log = LogPath(snapshot_.table_path());
  Version version = snapshot_.version() + 1;
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    Status put = fs_->PutIfAbsent(JoinPath(log, CommitFileName(version)), text);
    if (put.ok()) {
      committed_ = true;
      committed_version_ = version;
      committed_text_ = std::move(text);
      if (version == snapshot_.version() + 1) {
        auto advanced = AdvanceSnapshot();
        if (advanced.ok()) {
          committed_snapshot_ = std::move(advanced).value();
        } else {
          committed_snapshot_status_ = advanced.status();
        }
      }
      MaybeCheckpoint(version);
      return version;
    }
    if (!put.Is(Code::kAlreadyExists)) {
      return put.WithContext(
          fmt::format("committing version {} of {}", version, snapshot_.table_path()));
    }
    // Another writer took `version`: read what it did; retry above it unless it conflicts.
    std::string winner_path = JoinPath(log, CommitFileName(version));
    FRESHET_ASSIGN_OR_RETURN(std::string winner_text, fs_->Get(winner_path));
    ActionSet winner;
    FRESHET_RETURN_IF_ERROR(ParseActions(winner_text, winner_path, winner));
    FRESHET_RETURN_IF_ERROR(CheckConflicts(winner, version));
    ++version;
  }
  return Status::Conflict(
      "{}: gave up after {} attempts; other writers keep taking the next "
      "version",
      snapshot_.table_path(), options_.max_commit_attempts);
}

}  // namespace freshet::lake
