#include "lake/scan.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "engine/appender.h"
#include "lake/deletion_vector.h"
#include "lake/paths.h"

namespace freshet::lake {
namespace {

using engine::Value;

// One node of a data file's Parquet schema, in the shape DuckDB reads it.
struct PhysicalNode {
  enum class Kind { kPrimitive, kStruct, kList, kMap };
  std::string name;
  std::optional<int64_t> field_id;
  Kind kind = Kind::kPrimitive;
  std::string
      physical_type;  // Parquet type and annotations: files differing here do not share a read
  // kStruct: fields; kList: [element]; kMap: [key, value].
  std::vector<PhysicalNode> children;

  std::string Signature() const {
    std::string out = fmt::format("{}#{}:{}:{}(", name, field_id.value_or(-1),
                                  static_cast<int>(kind), physical_type);
    for (const auto& child : children) out += child.Signature() + ",";
    return out + ")";
  }
};

struct RawSchemaRow {
  std::string name;
  int64_t num_children = 0;
  std::string converted_type;
  std::string logical_type;
  std::string repetition;
  std::optional<int64_t> field_id;
  std::string type;
  std::string scale_precision;
};

std::string TextOf(const Value& value) {
  return value.kind == Value::Kind::kString ? value.string() : "";
}

// Builds the node starting at rows[pos] (advancing pos past its subtree). `in_group` is true for
// the repeated child of a LIST or MAP group, which is that group's layout, not a list itself.
Result<PhysicalNode> BuildNode(const std::vector<RawSchemaRow>& rows, size_t& pos, int depth,
                               bool in_group = false) {
  if (pos >= rows.size() || depth > 64) return Status::Corruption("malformed Parquet schema");
  const RawSchemaRow& row = rows[pos++];
  PhysicalNode node;
  node.name = row.name;
  node.field_id = row.field_id;
  node.physical_type = fmt::format("{}/{}/{}/{}", row.type, row.converted_type, row.logical_type,
                                   row.scale_precision);
  bool is_list = row.converted_type == "LIST" || row.logical_type.find("List") == 0;
  bool is_map = row.converted_type == "MAP" || row.converted_type == "MAP_KEY_VALUE" ||
                row.logical_type.find("Map") == 0;
  std::vector<PhysicalNode> children;
  for (int64_t i = 0; i < row.num_children; ++i) {
    FRESHET_ASSIGN_OR_RETURN(PhysicalNode child,
                             BuildNode(rows, pos, depth + 1, is_list || is_map));
    children.push_back(std::move(child));
  }
  if (row.num_children == 0) {
    node.kind = PhysicalNode::Kind::kPrimitive;
  } else if (is_list && children.size() == 1) {
    node.kind = PhysicalNode::Kind::kList;
    PhysicalNode repeated = std::move(children[0]);
    // Three-level lists hold the element inside the repeated group; two-level (legacy) lists
    // make the repeated node itself the element.
    bool three_level = repeated.kind == PhysicalNode::Kind::kStruct &&
                       repeated.children.size() == 1 && repeated.name != "array" &&
                       repeated.name != node.name + "_tuple";
    if (three_level) {
      node.children.push_back(std::move(repeated.children[0]));
    } else {
      node.children.push_back(std::move(repeated));
    }
  } else if (is_map && children.size() == 1 && children[0].children.size() == 2) {
    node.kind = PhysicalNode::Kind::kMap;
    node.children = std::move(children[0].children);
  } else {
    node.kind = PhysicalNode::Kind::kStruct;
    node.children = std::move(children);
  }
  // A repeated field outside a LIST group reads as a list of itself.
  if (row.repetition == "REPEATED" && depth > 0 && !is_list && !in_group) {
    PhysicalNode list;
    list.name = node.name;
    list.field_id = node.field_id;
    list.kind = PhysicalNode::Kind::kList;
    list.children.push_back(std::move(node));
    return list;
  }
  return node;
}

// The root node (a struct of the file's top-level columns) of every file in `paths`.
Result<std::map<std::string, PhysicalNode>> ReadPhysicalSchemas(
    engine::Connection& connection, const std::vector<std::string>& paths) {
  std::map<std::string, PhysicalNode> out;
  if (paths.empty()) return out;
  // Each file once: parquet_schema lists a file given twice twice, interleaved.
  std::string list;
  for (const auto& path : std::set<std::string>(paths.begin(), paths.end())) {
    list += (list.empty() ? "" : ", ") + QuoteLiteral(path);
  }
  auto result = connection.Query(
      fmt::format("SELECT file_name, name, num_children, converted_type, logical_type::VARCHAR, "
                  "repetition_type, field_id, type, concat_ws(',', scale, precision) "
                  "FROM parquet_schema([{}])",
                  list));
  if (!result.ok()) return result.status().WithContext("reading Parquet schemas");
  std::map<std::string, std::vector<RawSchemaRow>> rows_by_file;
  std::string current;
  for (const auto& row : result->rows) {
    std::string file = TextOf(row[0]);
    if (file != current && rows_by_file.count(file) > 0) {
      return Status::Internal("parquet_schema interleaved the rows of {}", file);
    }
    current = file;
    RawSchemaRow raw;
    raw.name = TextOf(row[1]);
    raw.num_children = row[2].is_null() ? 0 : row[2].integer();
    raw.converted_type = TextOf(row[3]);
    raw.logical_type = TextOf(row[4]);
    raw.repetition = TextOf(row[5]);
    if (!row[6].is_null()) raw.field_id = row[6].integer();
    raw.type = TextOf(row[7]);
    raw.scale_precision = TextOf(row[8]);
    rows_by_file[file].push_back(std::move(raw));
  }
  for (auto& [file, rows] : rows_by_file) {
    size_t pos = 0;
    auto root = BuildNode(rows, pos, 0);
    if (!root.ok()) return root.status().WithContext(file);
    root->kind = PhysicalNode::Kind::kStruct;
    out[file] = std::move(root).value();
  }
  return out;
}

// Finds the physical node of a logical field among `children`.
const PhysicalNode* FindChild(const std::vector<PhysicalNode>& children, const StructField& field,
                              const std::string& mode) {
  if (mode == "id" && field.field_id) {
    for (const auto& child : children) {
      if (child.field_id == field.field_id) return &child;
    }
  }
  const std::string& name = field.PhysicalName(mode);
  for (const auto& child : children) {
    if (child.name == name) return &child;
  }
  return nullptr;
}

class ExpressionBuilder {
 public:
  explicit ExpressionBuilder(std::string mode) : mode_(std::move(mode)) {}

  // SQL reading `source` (a physical value described by `node`) as `type`.
  std::string Build(const DataType& type, const PhysicalNode* node, const std::string& source) {
    std::string target = type.DuckDbType();
    if (node == nullptr) return fmt::format("CAST(NULL AS {})", target);
    switch (type.kind) {
      case DataType::Kind::kStruct: {
        if (node->kind != PhysicalNode::Kind::kStruct) break;
        std::string fields;
        for (const auto& field : type.fields) {
          const PhysicalNode* child = FindChild(node->children, field, mode_);
          std::string child_source =
              child ? fmt::format("struct_extract({}, {})", source, QuoteLiteral(child->name)) : "";
          fields +=
              fmt::format("{}{} := {}", fields.empty() ? "" : ", ", QuoteIdentifier(field.name),
                          Build(field.type, child, child_source));
        }
        return fmt::format("CASE WHEN {} IS NULL THEN NULL ELSE struct_pack({}) END", source,
                           fields);
      }
      case DataType::Kind::kArray: {
        if (node->kind != PhysicalNode::Kind::kList) break;
        std::string var = NextVariable();
        return fmt::format("list_transform({}, lambda {}: {})", source, var,
                           Build(type.children[0], &node->children[0], var));
      }
      case DataType::Kind::kMap: {
        if (node->kind != PhysicalNode::Kind::kMap) break;
        std::string var = NextVariable();
        return fmt::format(
            "map_from_entries(list_transform(map_entries({}), lambda {}: struct_pack(key := {}, "
            "value := {})))",
            source, var, Build(type.children[0], &node->children[0], fmt::format("{}.key", var)),
            Build(type.children[1], &node->children[1], fmt::format("{}.value", var)));
      }
      case DataType::Kind::kTimestamp:
      case DataType::Kind::kTimestampNtz: {
        if (node->kind != PhysicalNode::Kind::kPrimitive) break;
        bool want_utc = type.kind == DataType::Kind::kTimestamp;
        const std::string& physical = node->physical_type;
        bool utc = physical.find("isAdjustedToUTC=1") != std::string::npos;
        bool local = physical.find("isAdjustedToUTC=0") != std::string::npos;
        if ((want_utc && utc) || (!want_utc && local)) {
          return fmt::format("CAST({} AS {})", source, target);
        }
        // INT96 (Spark's timestamps), legacy annotations, a date widened to timestamp_ntz or
        // the other zone flag: go through epoch microseconds, so the session time zone never
        // enters the conversion. A Delta timestamp stored without the UTC flag is UTC.
        std::string micros = fmt::format("make_timestamp(epoch_us({}))", source);
        return want_utc ? fmt::format("timezone('UTC', {})", micros) : micros;
      }
      default:
        if (node->kind != PhysicalNode::Kind::kPrimitive) break;
        return fmt::format("CAST({} AS {})", source, target);
    }
    // The file stores a different shape than the schema says: let DuckDB try the cast, so a
    // genuinely incompatible file fails with DuckDB's message instead of silently reading NULL.
    return fmt::format("CAST({} AS {})", source, target);
  }

 private:
  std::string NextVariable() { return fmt::format("x{}", ++variables_); }

  std::string mode_;
  int variables_ = 0;
};

std::string HexOf(std::string_view bytes) {
  std::string out;
  for (char c : bytes) out += fmt::format("{:02x}", static_cast<unsigned char>(c));
  return out;
}

// The SQL literal of a partition value (PROTOCOL.md "Partition Value Serialization").
Result<std::string> PartitionLiteral(const DataType& type, const std::optional<std::string>& value,
                                     const ScanOptions& options) {
  std::string target = type.DuckDbType();
  if (!value || value->empty()) return fmt::format("CAST(NULL AS {})", target);
  const std::string& text = *value;
  switch (type.kind) {
    case DataType::Kind::kBinary:
      return fmt::format("from_hex({})", QuoteLiteral(HexOf(text)));
    case DataType::Kind::kTimestamp:
      if (text.find('T') != std::string::npos || text.find('Z') != std::string::npos ||
          text.find('+') != std::string::npos) {
        return fmt::format("CAST({} AS TIMESTAMPTZ)", QuoteLiteral(text));
      }
      // Written without a zone, in the writer's session zone.
      return fmt::format("timezone({}, CAST({} AS TIMESTAMP))",
                         QuoteLiteral(options.partition_time_zone), QuoteLiteral(text));
    case DataType::Kind::kArray:
    case DataType::Kind::kMap:
    case DataType::Kind::kStruct:
      return Status::Corruption("partition column of nested type {}", type.DeltaName());
    default:
      return fmt::format("CAST({} AS {})", QuoteLiteral(text), target);
  }
}

// A condition on file_row_number that holds for the rows in `rows` (`in` true) or for the
// others. The rows travel as one bit mask (a BIT constant from a hex string, bit i for row
// i), tested with get_bit: a filter, so the rows keep their order and memory stays at the
// mask's size (max row / 8 bytes). A join against a list of the rows would let DuckDB build
// its hash table on the file's side when it estimates that side smaller, reordering the rows
// and holding the whole file in memory.
std::string RowsCondition(const std::vector<uint64_t>& rows, bool in) {
  uint64_t last = 0;
  for (uint64_t row : rows) last = std::max(last, row);
  std::string mask(last / 8 + 1, '\0');
  for (uint64_t row : rows) mask[row / 8] = static_cast<char>(mask[row / 8] | (0x80 >> (row % 8)));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(mask.size() * 2);
  for (unsigned char byte : mask) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return fmt::format(
      "CASE WHEN file_row_number < {} THEN get_bit(CAST(from_hex('{}') AS BIT), "
      "CAST(file_row_number AS INTEGER)) = {} ELSE {} END",
      mask.size() * 8, hex, in ? 1 : 0, in ? "false" : "true");
}

// The select list reading the table's columns (logical names, current types) from a file whose
// Parquet schema is `root`, with `partition_values` for the partition columns.
Result<std::string> ColumnsSql(const Snapshot& snapshot, const PhysicalNode& root,
                               const PartitionValues& partition_values,
                               const ScanOptions& options) {
  const std::string& mode = snapshot.column_mapping_mode();
  const auto& partition_list = snapshot.metadata().partition_columns;
  std::set<std::string> partition_columns(partition_list.begin(), partition_list.end());
  ExpressionBuilder builder(mode);
  std::string columns;
  for (const StructField& field : snapshot.schema().fields) {
    std::string expression;
    const std::string& physical_name = field.PhysicalName(mode);
    if (partition_columns.count(field.name) > 0) {
      auto it = partition_values.find(physical_name);
      std::optional<std::string> value;
      if (it != partition_values.end()) value = it->second;
      FRESHET_ASSIGN_OR_RETURN(expression, PartitionLiteral(field.type, value, options));
    } else {
      const PhysicalNode* node = FindChild(root.children, field, mode);
      expression = builder.Build(field.type, node, node ? QuoteIdentifier(node->name) : "");
    }
    columns += fmt::format("{}{} AS {}", columns.empty() ? "" : ", ", expression,
                           QuoteIdentifier(field.name));
  }
  return columns;
}

struct FileRead {
  std::string path;
  const AddFile* add = nullptr;
  std::vector<uint64_t> deleted_rows;
  bool has_dv = false;
};

}  // namespace

Result<std::string> ScanSql(FileSystem& fs, engine::Connection& connection,
                            const Snapshot& snapshot, const ScanOptions& options,
                            ScanStats* stats) {
  const Schema& schema = snapshot.schema();
  ScanStats local_stats;
  std::vector<FileRead> reads;
  std::vector<std::string> paths;
  for (const AddFile& add : snapshot.files()) {
    FileRead read;
    read.add = &add;
    auto path = ResolveDataPath(snapshot.table_path(), add.path);
    if (!path.ok()) return path.status().WithContext("add.path '" + add.path + "'");
    read.path = *path;
    auto head = fs.Head(read.path);
    if (!head.ok()) {
      return head.status().WithContext(
          fmt::format("data file of version {} of {}", snapshot.version(), snapshot.table_path()));
    }
    if (add.deletion_vector) {
      auto rows = LoadDeletionVector(fs, snapshot.table_path(), *add.deletion_vector);
      if (!rows.ok()) return rows.status().WithContext("deletion vector of " + read.path);
      read.deleted_rows = std::move(rows).value();
      read.has_dv = true;
      ++local_stats.files_with_deletion_vectors;
      local_stats.deleted_rows += static_cast<int64_t>(read.deleted_rows.size());
    }
    paths.push_back(read.path);
    reads.push_back(std::move(read));
  }
  local_stats.files = static_cast<int64_t>(reads.size());
  if (stats != nullptr) *stats = local_stats;

  FRESHET_ASSIGN_OR_RETURN(auto physical, ReadPhysicalSchemas(connection, paths));

  // Group files that read alike: same physical schema and partition values, no DV.
  std::map<std::string, std::vector<const FileRead*>> groups;
  std::vector<std::string> group_order;
  for (const FileRead& read : reads) {
    std::string key;
    auto found = physical.find(read.path);
    if (found == physical.end()) {
      return Status::Internal("DuckDB reported no Parquet schema for {}", read.path);
    }
    if (read.has_dv) {
      key = "dv:" + read.path;
    } else {
      key = found->second.Signature();
      for (const auto& [column, value] : read.add->partition_values) {
        key += "|" + column + "=" + (value ? "v" + *value : "null");
      }
    }
    if (groups.count(key) == 0) group_order.push_back(key);
    groups[key].push_back(&read);
  }

  std::vector<std::string> selects;
  for (const std::string& key : group_order) {
    const auto& group = groups[key];
    const FileRead& first = *group.front();
    FRESHET_ASSIGN_OR_RETURN(std::string columns, ColumnsSql(snapshot, physical.at(first.path),
                                                             first.add->partition_values, options));
    std::string files;
    for (const FileRead* read : group) {
      files += (files.empty() ? "" : ", ") + QuoteLiteral(read->path);
    }
    std::string select;
    if (first.has_dv) {
      select = fmt::format(
          "SELECT {} FROM read_parquet([{}], hive_partitioning = false, file_row_number = true)",
          columns, files);
      if (!first.deleted_rows.empty()) {
        select += " WHERE " + RowsCondition(first.deleted_rows, /*in=*/false);
      }
    } else {
      select = fmt::format("SELECT {} FROM read_parquet([{}], hive_partitioning = false)", columns,
                           files);
    }
    selects.push_back(std::move(select));
  }
  if (selects.empty()) {
    std::string columns;
    for (const StructField& field : schema.fields) {
      columns += fmt::format("{}CAST(NULL AS {}) AS {}", columns.empty() ? "" : ", ",
                             field.type.DuckDbType(), QuoteIdentifier(field.name));
    }
    return fmt::format("SELECT {} WHERE false", columns);
  }
  std::string sql;
  for (const auto& select : selects) {
    sql += (sql.empty() ? "" : " UNION ALL ") + ("(" + select + ")");
  }
  return sql;
}

Result<std::string> ScanFilesSql(FileSystem& fs, engine::Connection& connection,
                                 const Snapshot& snapshot, const std::vector<ScanFile>& files,
                                 const ScanOptions& options) {
  std::vector<std::string> paths;
  for (const ScanFile& file : files) {
    auto path = ResolveDataPath(snapshot.table_path(), file.path);
    if (!path.ok()) return path.status().WithContext("file path '" + file.path + "'");
    auto head = fs.Head(*path);
    if (!head.ok()) return head.status().WithContext("a file of " + snapshot.table_path());
    paths.push_back(*path);
  }
  FRESHET_ASSIGN_OR_RETURN(auto physical, ReadPhysicalSchemas(connection, paths));
  std::string sql;
  for (size_t file_idx = 0; file_idx < files.size(); ++file_idx) {
    const ScanFile& file = files[file_idx];
    auto found = physical.find(paths[file_idx]);
    if (found == physical.end()) {
      return Status::Internal("DuckDB reported no Parquet schema for {}", paths[file_idx]);
    }
    auto columns = ColumnsSql(snapshot, found->second, file.partition_values, options);
    if (!columns.ok()) return columns.status().WithContext(paths[file_idx]);
    std::string select = fmt::format(
        "SELECT {}{} FROM read_parquet({}, hive_partitioning = false, file_row_number = true)",
        *columns, file.extra_columns, QuoteLiteral(paths[file_idx]));
    if (file.rows_mode == ScanFile::Rows::kOnly) {
      if (file.rows.empty()) continue;
      select += " WHERE " + RowsCondition(file.rows, /*in=*/true);
    } else if (file.rows_mode == ScanFile::Rows::kExcept && !file.rows.empty()) {
      select += " WHERE " + RowsCondition(file.rows, /*in=*/false);
    }
    sql += (sql.empty() ? "(" : " UNION ALL (") + select + ")";
  }
  return sql;
}

struct ParquetSchemaCache::Entries {
  std::map<std::string, PhysicalNode> by_path;  // add.path → the file's Parquet schema
};

ParquetSchemaCache::ParquetSchemaCache() : entries_(std::make_unique<Entries>()) {}
ParquetSchemaCache::ParquetSchemaCache(ParquetSchemaCache&&) noexcept = default;
ParquetSchemaCache& ParquetSchemaCache::operator=(ParquetSchemaCache&&) noexcept = default;
ParquetSchemaCache::~ParquetSchemaCache() = default;
size_t ParquetSchemaCache::size() const { return entries_->by_path.size(); }

struct ParquetSchemaCacheAccess {
  static std::map<std::string, PhysicalNode>& Of(ParquetSchemaCache& cache) {
    return cache.entries_->by_path;
  }
};

Result<engine::QueryResult> ReadFileRows(engine::Connection& connection, const Snapshot& snapshot,
                                         const std::vector<FileRows>& files,
                                         ParquetSchemaCache* cache, const ScanOptions& options) {
  std::map<std::string, PhysicalNode> local;
  std::map<std::string, PhysicalNode>& schemas =
      cache != nullptr ? ParquetSchemaCacheAccess::Of(*cache) : local;
  std::vector<std::string> resolved;
  std::vector<std::string> unknown;  // resolved paths of files whose schema is not known yet
  resolved.reserve(files.size());
  for (const FileRows& file : files) {
    auto path = ResolveDataPath(snapshot.table_path(), file.path);
    if (!path.ok()) return path.status().WithContext("file path '" + file.path + "'");
    if (schemas.count(file.path) == 0) unknown.push_back(*path);
    resolved.push_back(*std::move(path));
  }
  if (!unknown.empty()) {
    auto read = ReadPhysicalSchemas(connection, unknown);
    if (!read.ok()) return read.status().WithContext("data files of " + snapshot.table_path());
    for (size_t file_idx = 0; file_idx < files.size(); ++file_idx) {
      auto found = read->find(resolved[file_idx]);
      if (found != read->end()) schemas[files[file_idx].path] = std::move(found->second);
    }
  }

  // The wanted positions, loaded without SQL literals (a VALUES list costs ~40 µs a row).
  constexpr const char* kWanted = "freshet_wanted_rows";
  FRESHET_RETURN_IF_ERROR(
      connection
          .Query(fmt::format("CREATE TEMP TABLE IF NOT EXISTS {} (freshet_wanted_path VARCHAR, "
                             "freshet_wanted_row BIGINT, freshet_wanted_tag BIGINT)",
                             kWanted))
          .status());
  FRESHET_RETURN_IF_ERROR(connection.Query(fmt::format("DELETE FROM {}", kWanted)).status());
  {
    FRESHET_ASSIGN_OR_RETURN(engine::Appender appender,
                             engine::Appender::Open(connection, kWanted, "main", "temp"));
    engine::Row row(3);
    for (size_t file_idx = 0; file_idx < files.size(); ++file_idx) {
      row[0] = Value::String(resolved[file_idx]);
      row[2] = Value::Int(files[file_idx].tag);
      for (uint64_t position : files[file_idx].rows) {
        row[1] = Value::Int(static_cast<int64_t>(position));
        FRESHET_RETURN_IF_ERROR(appender.AppendRow(row));
      }
    }
    FRESHET_RETURN_IF_ERROR(appender.Flush());
  }

  // One read_parquet per group of files that read alike, joined with the positions.
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t file_idx = 0; file_idx < files.size(); ++file_idx) {
    if (files[file_idx].rows.empty()) continue;
    auto found = schemas.find(files[file_idx].path);
    if (found == schemas.end()) {
      return Status::Internal("DuckDB reported no Parquet schema for {}", resolved[file_idx]);
    }
    std::string key = found->second.Signature();
    for (const auto& [column, value] : files[file_idx].partition_values) {
      key += "|" + column + "=" + (value ? "v" + *value : "null");
    }
    groups[key].push_back(file_idx);
  }
  std::string sql;
  for (const auto& [key, members] : groups) {
    const FileRows& first = files[members.front()];
    FRESHET_ASSIGN_OR_RETURN(std::string columns, ColumnsSql(snapshot, schemas.at(first.path),
                                                             first.partition_values, options));
    std::string list;
    for (size_t file_idx : members) {
      list += (list.empty() ? "" : ", ") + QuoteLiteral(resolved[file_idx]);
    }
    sql += fmt::format(
        "{}(SELECT {}, freshet_wanted_tag, freshet_wanted_row FROM read_parquet([{}], "
        "hive_partitioning = false, file_row_number = true, filename = 'freshet_file_path') "
        "JOIN {} ON freshet_wanted_path = freshet_file_path AND freshet_wanted_row = "
        "file_row_number)",
        sql.empty() ? "" : " UNION ALL ", columns, list, kWanted);
  }

  // Forget the schemas of files compacted or removed since.
  if (cache != nullptr && schemas.size() > 2 * snapshot.files().size() + 64) {
    std::erase_if(schemas, [&](const auto& entry) {
      auto live = std::lower_bound(
          snapshot.files().begin(), snapshot.files().end(), entry.first,
          [](const AddFile& add, const std::string& path) { return add.path < path; });
      return live == snapshot.files().end() || live->path != entry.first;
    });
  }
  if (sql.empty()) return engine::QueryResult{};
  auto result = connection.Query(sql);
  if (!result.ok()) return result.status().WithContext("rows of " + snapshot.table_path());
  return result;
}

}  // namespace freshet::lake
