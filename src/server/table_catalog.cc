#include "server/table_catalog.h"

#include <algorithm>
#include <cctype>

#include "common/sql_quote.h"

namespace freshet::server {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<std::vector<TableEntry>> TableCatalog::ListHeads(std::optional<Lsn> lsn) const {
  if (lsn) {
    return Status::NotSupported(
        "no lake table is served, so there is no watermark log to read as of LSN {}", *lsn);
  }
  return ListTables();
}

Result<TableEntry> TableCatalog::Table(const std::string& schema, const std::string& name,
                                       const AsOf& as_of) const {
  FRESHET_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, ListTables());
  for (auto& table : tables) {
    if (!EqualsIgnoreCase(table.schema, schema) || !EqualsIgnoreCase(table.name, name)) continue;
    if (as_of.version || as_of.timestamp_ms) {
      return Status::NotSupported(
          "{}.{} is a fixed Parquet table from the configuration; it has no versions to travel "
          "to (only lake tables do)",
          table.schema, table.name);
    }
    return std::move(table);
  }
  return Status::NotFound("relation \"{}.{}\" does not exist", schema, name);
}

Result<TableEntry> TableCatalog::Changes(const std::string& schema, const std::string& name,
                                         int64_t /*from*/, std::optional<int64_t> /*to*/) const {
  FRESHET_RETURN_IF_ERROR(Table(schema, name, {}).status());
  return Status::NotSupported(
      "{}.{} is a fixed Parquet table from the configuration; it has no change feed (only lake "
      "tables do)",
      schema, name);
}

std::vector<std::string> TableCatalog::ReadableDirectories(
    const std::vector<std::string>& /*grants*/) const {
  return {};
}

void StaticTableCatalog::AddParquetTable(std::string schema, std::string name,
                                         std::vector<std::string> files) {
  std::string list;
  for (const auto& file : files) {
    if (!list.empty()) list += ", ";
    list += QuoteLiteral(file);
  }
  TableEntry entry{std::move(schema), std::move(name), "SELECT * FROM read_parquet([" + list + "])",
                   std::move(files)};
  tables_.push_back(std::move(entry));
}

Result<std::pair<std::string, std::string>> SplitTableName(std::string_view qualified) {
  auto unquote = [](std::string_view part) {
    if (part.size() >= 2 && part.front() == '"' && part.back() == '"') {
      part = part.substr(1, part.size() - 2);
    }
    return std::string(part);
  };
  size_t dot = qualified.find('.');
  std::string schema = "public";
  std::string name;
  if (dot == std::string_view::npos) {
    name = unquote(qualified);
  } else {
    if (qualified.find('.', dot + 1) != std::string_view::npos) {
      return Status::InvalidArgument("table name '{}' has more than one dot; write schema.table",
                                     qualified);
    }
    schema = unquote(qualified.substr(0, dot));
    name = unquote(qualified.substr(dot + 1));
  }
  if (schema.empty() || name.empty()) {
    return Status::InvalidArgument(
        "table name '{}' is empty or has an empty part; write "
        "schema.table, e.g. 'public.orders'",
        qualified);
  }
  return std::make_pair(schema, name);
}

}  // namespace freshet::server
