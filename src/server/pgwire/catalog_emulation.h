#pragma once

// PostgreSQL catalog emulation on top of DuckDB's own pg_catalog and information_schema, so
// that psql's \dt, \d and \dn and JDBC's DatabaseMetaData work. DuckDB forbids objects in its
// pg_catalog schema, so the gateway defines what is missing or different (lake tables are
// views in DuckDB but tables to clients; functions psql calls that DuckDB lacks) as macros
// and views in the session's `main` schema, and RewriteCatalogQuery drops explicit
// `pg_catalog.` qualifiers so that names resolve to those first and to DuckDB's otherwise.

#include <string>
#include <string_view>

namespace freshet::server::pgwire {

// Statements that create the emulation in a fresh session database.
std::string CatalogEmulationSql(const std::string& user, const std::string& version);

// `sql` with `pg_catalog.` qualifiers outside quotes and comments removed; unchanged when it
// has none.
std::string RewriteCatalogQuery(std::string_view sql);

}  // namespace freshet::server::pgwire
