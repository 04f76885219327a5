#pragma once

// SessionTables: keeps one session's views in step with the catalog. Before a statement the
// session calls Refresh: the catalog names the version of each table a statement should read
// now (the latest, or the versions of the watermark for `SET freshet.snapshot = '<LSN>'`), and
// only views whose version changed are replaced (CREATE OR REPLACE VIEW over the cached scan
// query), views of tables gone are dropped, new tables get views. It also resolves table_at()
// and table_changes() calls, checking the user's grants, and knows the tables the user may not
// read (so "does not exist" becomes "permission denied").
//
// Not thread-safe: owned by the session's thread.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "engine/database.h"
#include "server/table_catalog.h"

namespace freshet::server::pgwire {

class SessionTables {
 public:
  // `catalog` must outlive this object.
  SessionTables(const TableCatalog& catalog, std::vector<std::string> grants)
      : catalog_(catalog), grants_(std::move(grants)) {}

  // Makes the views of `connection` read the versions the catalog names now; with `lsn`,
  // those of the watermark at or below it. A table whose version cannot be read keeps its
  // previous view (logged). Errors: the catalog's listing failed, or `lsn` is not covered.
  Status Refresh(engine::Connection& connection, std::optional<Lsn> lsn);
  // Forgets the versions the views hold (a rollback undid view changes made inside the
  // transaction), so that the next Refresh replaces every view.
  void Invalidate() { views_.clear(); }

  // The query reading `qualified` ('schema.table' or 'table') as `as_of` says. "Privilege
  // Error" (42501) when not granted, "Catalog Error: Table with name" (42P01) when unknown,
  // "Time Travel Error" (22023) for a version or time the table does not have.
  Result<std::string> TableAtQuery(std::string_view qualified, const AsOf& as_of) const;
  // The change feed of `qualified` from version `from` to `to` (nullopt: the latest).
  Result<std::string> ChangesQuery(std::string_view qualified, int64_t from,
                                   std::optional<int64_t> to) const;

  // Catalog tables this user may not read, as of the last Refresh.
  const std::vector<TableEntry>& denied() const { return denied_; }
  // The version each view reads, keyed by (schema, table).
  const std::map<std::pair<std::string, std::string>, int64_t>& views() const { return views_; }

 private:
  Result<std::pair<std::string, std::string>> GrantedName(std::string_view qualified) const;

  const TableCatalog& catalog_;
  std::vector<std::string> grants_;
  std::map<std::pair<std::string, std::string>, int64_t> views_;
  std::set<std::string> schemas_;
  std::vector<TableEntry> denied_;
};

}  // namespace freshet::server::pgwire
