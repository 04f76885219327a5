#include "server/table_catalog.h"

#include "common/sql_quote.h"

namespace freshet::server {

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

}  // namespace freshet::server
