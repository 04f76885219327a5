#include "server/pgwire/session_database.h"

#include "common/sql_quote.h"
#include "server/pgwire/catalog_emulation.h"
#include "server/pgwire/users.h"

namespace freshet::server::pgwire {

Result<SessionDatabase> OpenSessionDatabase(const TableCatalog& catalog,
                                            const std::vector<std::string>& grants,
                                            const std::string& user, const std::string& version,
                                            const SessionLimits& limits) {
  FRESHET_ASSIGN_OR_RETURN(
      engine::Database database,
      engine::Database::Open(
          "", {.threads = limits.threads, .memory_limit_bytes = limits.memory_limit_bytes}));
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database.Connect());

  // Fixed tables name their files; lake tables are reached through folders, since their
  // files change with every commit and the configuration is locked below.
  FRESHET_ASSIGN_OR_RETURN(std::vector<TableEntry> heads, catalog.ListHeads(std::nullopt));
  std::vector<std::string> files;
  for (const auto& table : heads) {
    if (!IsGranted(grants, table.schema, table.name)) continue;
    files.insert(files.end(), table.files.begin(), table.files.end());
  }
  std::string setup = "CREATE SCHEMA IF NOT EXISTS public;\n";
  setup += CatalogEmulationSql(user, version);
  setup += "SET TimeZone = 'UTC';\nSET search_path = 'public,main';\n";
  auto quoted_list = [](const std::vector<std::string>& items) {
    std::string list;
    for (const auto& item : items) list += (list.empty() ? "" : ", ") + QuoteLiteral(item);
    return list;
  };
  if (!files.empty()) setup += fmt::format("SET allowed_paths = [{}];\n", quoted_list(files));
  std::vector<std::string> folders = catalog.ReadableDirectories(grants);
  if (!folders.empty()) {
    setup += fmt::format("SET allowed_directories = [{}];\n", quoted_list(folders));
  }
  setup += "SET enable_external_access = false;\nSET lock_configuration = true;\n";
  FRESHET_RETURN_IF_ERROR(connection.Execute(setup).WithContext("preparing the session database"));
  auto tables = std::make_unique<SessionTables>(catalog, grants);
  FRESHET_RETURN_IF_ERROR(
      tables->Refresh(connection, std::nullopt).WithContext("creating the session's views"));
  return SessionDatabase{std::move(database), std::move(connection), std::move(tables)};
}

}  // namespace freshet::server::pgwire
