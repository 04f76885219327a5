#include "engine/parquet.h"

#include <charconv>

#include "common/sql_quote.h"

namespace freshet::engine {
namespace {

std::optional<int64_t> ParseCount(const Value* value) {
  if (value == nullptr || value->kind != Value::Kind::kString) return std::nullopt;
  int64_t out = 0;
  const std::string& text = value->string();
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return out;
}

std::optional<std::string> TextField(const Value& stats, std::string_view name) {
  const Value* field = stats.Field(name);
  if (field == nullptr || field->kind != Value::Kind::kString) return std::nullopt;
  return field->string();
}

Result<int64_t> IntegerColumn(const QueryResult& result, std::string_view name) {
  auto index = result.ColumnIndex(name);
  if (index && result.rows[0][*index].kind == Value::Kind::kInt) {
    return result.rows[0][*index].integer();
  }
  if (index && result.rows[0][*index].kind == Value::Kind::kUInt) {
    return static_cast<int64_t>(result.rows[0][*index].unsigned_integer());
  }
  return Status::Internal("DuckDB's RETURN_STATS result has no integer column '{}'", name);
}

}  // namespace

std::string ParquetColumnStats::DottedPath() const {
  std::string out;
  for (const auto& part : path) out += (out.empty() ? "" : ".") + part;
  return out;
}

const ParquetColumnStats* ParquetFileStats::Column(std::string_view dotted_path) const {
  for (const auto& column : columns) {
    if (column.DottedPath() == dotted_path) return &column;
  }
  return nullptr;
}

Result<std::vector<std::string>> SplitQuotedColumnPath(std::string_view quoted) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < quoted.size()) {
    if (quoted[pos] != '"') {
      return Status::Internal("unexpected column path '{}' in DuckDB's statistics", quoted);
    }
    std::string part;
    ++pos;
    while (true) {
      if (pos >= quoted.size()) {
        return Status::Internal("unterminated column path '{}' in DuckDB's statistics", quoted);
      }
      if (quoted[pos] == '"') {
        if (pos + 1 < quoted.size() && quoted[pos + 1] == '"') {
          part.push_back('"');
          pos += 2;
          continue;
        }
        ++pos;
        break;
      }
      part.push_back(quoted[pos++]);
    }
    parts.push_back(std::move(part));
    if (pos < quoted.size()) {
      if (quoted[pos] != '.') {
        return Status::Internal("unexpected column path '{}' in DuckDB's statistics", quoted);
      }
      ++pos;
    }
  }
  return parts;
}

Result<ParquetFileStats> WriteParquet(Connection& connection, std::string_view query,
                                      const std::string& path, const ParquetWriteOptions& options) {
  std::string copy = fmt::format("COPY ({}) TO {} (FORMAT parquet, RETURN_STATS, COMPRESSION {}",
                                 query, QuoteLiteral(path), QuoteLiteral(options.compression));
  if (options.row_group_size) copy += fmt::format(", ROW_GROUP_SIZE {}", *options.row_group_size);
  if (!options.field_ids.empty()) copy += ", FIELD_IDS " + options.field_ids;
  copy += ")";
  FRESHET_ASSIGN_OR_RETURN(QueryResult result, connection.Query(copy));
  if (result.rows.size() != 1) {
    return Status::Internal("DuckDB's RETURN_STATS gave {} rows for one file", result.rows.size());
  }
  ParquetFileStats stats;
  stats.path = path;
  FRESHET_ASSIGN_OR_RETURN(stats.row_count, IntegerColumn(result, "count"));
  FRESHET_ASSIGN_OR_RETURN(stats.file_size_bytes, IntegerColumn(result, "file_size_bytes"));
  FRESHET_ASSIGN_OR_RETURN(stats.footer_size_bytes, IntegerColumn(result, "footer_size_bytes"));

  auto column_index = result.ColumnIndex("column_statistics");
  if (!column_index) return Status::Internal("DuckDB's RETURN_STATS has no column_statistics");
  const Value& all = result.rows[0][*column_index];
  if (all.kind != Value::Kind::kMap) {
    return Status::Internal("DuckDB's column_statistics is not a map: {}", all.ToString());
  }
  for (const auto& [quoted_path, column] : all.fields()) {
    ParquetColumnStats out;
    FRESHET_ASSIGN_OR_RETURN(out.path, SplitQuotedColumnPath(quoted_path));
    out.min = TextField(column, "min");
    out.max = TextField(column, "max");
    out.null_count = ParseCount(column.Field("null_count"));
    out.size_bytes = ParseCount(column.Field("column_size_bytes"));
    stats.columns.push_back(std::move(out));
  }
  return stats;
}

}  // namespace freshet::engine
