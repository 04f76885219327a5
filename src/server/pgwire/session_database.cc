#include "server/pgwire/session_database.h"

#include <set>

#include "common/sql_quote.h"
#include "server/pgwire/catalog_emulation.h"
#include "server/pgwire/users.h"

namespace freshet::server::pgwire {

Result<SessionDatabase> OpenSessionDatabase(const std::vector<TableEntry>& tables,
                                            const std::vector<std::string>& grants,
                                            const std::string& user, const std::string& version,
                                            const SessionLimits& limits) {
  FRESHET_ASSIGN_OR_RETURN(
      engine::Database database,
      engine::Database::Open(
          "", {.threads = limits.threads, .memory_limit_bytes = limits.memory_limit_bytes}));
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database.Connect());

  std::vector<TableEntry> denied;
  std::set<std::string> schemas = {"public"};
  std::vector<std::string> files;
  std::string setup;
  for (const auto& table : tables) {
    if (!IsGranted(grants, table.schema, table.name)) {
      denied.push_back(table);
      continue;
    }
    if (schemas.insert(table.schema).second || table.schema == "public") {
      setup += fmt::format("CREATE SCHEMA IF NOT EXISTS {};\n", QuoteIdentifier(table.schema));
    }
    setup += fmt::format("CREATE VIEW {}.{} AS {};\n", QuoteIdentifier(table.schema),
                         QuoteIdentifier(table.name), table.query);
    files.insert(files.end(), table.files.begin(), table.files.end());
  }
  setup = "CREATE SCHEMA IF NOT EXISTS public;\n" + setup;
  setup += CatalogEmulationSql(user, version);
  setup += "SET TimeZone = 'UTC';\nSET search_path = 'public,main';\n";
  if (!files.empty()) {
    std::string list;
    for (const auto& file : files) list += (list.empty() ? "" : ", ") + QuoteLiteral(file);
    setup += fmt::format("SET allowed_paths = [{}];\n", list);
  }
  setup += "SET enable_external_access = false;\nSET lock_configuration = true;\n";
  FRESHET_RETURN_IF_ERROR(connection.Execute(setup).WithContext("preparing the session database"));
  return SessionDatabase{std::move(database), std::move(connection), std::move(denied)};
}

}  // namespace freshet::server::pgwire
