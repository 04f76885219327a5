#pragma once

// The DuckDB database behind one gateway session. Every session gets its own in-memory
// database, so sessions never see each other's state (temporary objects, variables,
// prepared statements) and each has its own memory limit and thread count. It holds:
//   - one view per catalog table the user may read, under the table's schema;
//   - small macros PostgreSQL clients call (version(), current_user, pg_get_userbyid...);
// and is then locked: external access is off except for the catalog's files, and the
// configuration cannot be changed by SQL (SET memory_limit, SET enable_external_access).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "server/table_catalog.h"

namespace freshet::server::pgwire {

struct SessionLimits {
  uint64_t memory_limit_bytes = 1ULL << 30;
  int threads = 2;
};

struct SessionDatabase {
  engine::Database database;
  engine::Connection connection;
  // Catalog tables this user may not read; a query naming one gets "permission denied".
  std::vector<TableEntry> denied;
};

Result<SessionDatabase> OpenSessionDatabase(const std::vector<TableEntry>& tables,
                                            const std::vector<std::string>& grants,
                                            const std::string& user, const std::string& version,
                                            const SessionLimits& limits);

}  // namespace freshet::server::pgwire
