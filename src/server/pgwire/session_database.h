#pragma once

// The DuckDB database behind one gateway session. Every session gets its own in-memory
// database, so sessions never see each other's state (temporary objects, variables,
// prepared statements) and each has its own memory limit and thread count. It holds:
//   - one view per catalog table the user may read, under the table's schema, kept current
//     by `tables` (see session_tables.h);
//   - small macros PostgreSQL clients call (version(), current_user, pg_get_userbyid...);
// and is then locked: external access is off except for the fixed tables' files and the lake
// folders the user's grants cover, and the configuration cannot be changed by SQL (SET
// memory_limit, SET enable_external_access).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "server/pgwire/session_tables.h"
#include "server/table_catalog.h"

namespace freshet::server::pgwire {

struct SessionLimits {
  uint64_t memory_limit_bytes = 1ULL << 30;
  int threads = 2;
};

struct SessionDatabase {
  engine::Database database;
  engine::Connection connection;
  std::unique_ptr<SessionTables> tables;
};

// Opens the database and creates the views of the tables the catalog lists now. `catalog`
// must outlive the result.
Result<SessionDatabase> OpenSessionDatabase(const TableCatalog& catalog,
                                            const std::vector<std::string>& grants,
                                            const std::string& user, const std::string& version,
                                            const SessionLimits& limits);

}  // namespace freshet::server::pgwire
