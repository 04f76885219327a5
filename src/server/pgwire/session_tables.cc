#include "server/pgwire/session_tables.h"

#include <spdlog/spdlog.h>

#include "common/sql_quote.h"
#include "server/pgwire/users.h"

namespace freshet::server::pgwire {

Status SessionTables::Refresh(engine::Connection& connection, std::optional<Lsn> lsn) {
  FRESHET_ASSIGN_OR_RETURN(std::vector<TableEntry> heads, catalog_.ListHeads(lsn));
  std::vector<TableEntry> denied;
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& head : heads) {
    if (!IsGranted(grants_, head.schema, head.name)) {
      denied.push_back(std::move(head));
      continue;
    }
    auto key = std::make_pair(head.schema, head.name);
    if (!seen.insert(key).second) continue;
    auto it = views_.find(key);
    if (it != views_.end() && it->second == head.version) continue;
    std::string query = head.query;
    if (query.empty()) {
      auto entry = catalog_.Table(head.schema, head.name, AsOf{head.version, std::nullopt});
      if (!entry.ok()) {
        spdlog::warn("pgwire: {}.{} version {} cannot be read, the view keeps version {}: {}",
                     head.schema, head.name, head.version, it == views_.end() ? -1 : it->second,
                     entry.status().message());
        continue;
      }
      query = entry->query;
    }
    std::string sql;
    if (schemas_.insert(head.schema).second) {
      sql += fmt::format("CREATE SCHEMA IF NOT EXISTS {};\n", QuoteIdentifier(head.schema));
    }
    sql += fmt::format("CREATE OR REPLACE VIEW {}.{} AS {};\n", QuoteIdentifier(head.schema),
                       QuoteIdentifier(head.name), query);
    Status created = connection.Execute(sql);
    if (!created.ok()) {
      spdlog::warn("pgwire: cannot create the view of {}.{} version {}: {}", head.schema, head.name,
                   head.version, created.message());
      continue;
    }
    views_[key] = head.version;
  }
  for (auto it = views_.begin(); it != views_.end();) {
    if (seen.contains(it->first)) {
      ++it;
      continue;
    }
    Status dropped = connection.Execute(fmt::format("DROP VIEW IF EXISTS {}.{};",
                                                    QuoteIdentifier(it->first.first),
                                                    QuoteIdentifier(it->first.second)));
    if (!dropped.ok()) {
      spdlog::warn("pgwire: cannot drop the view of {}.{}: {}", it->first.first, it->first.second,
                   dropped.message());
    }
    it = views_.erase(it);
  }
  denied_ = std::move(denied);
  return Status::Ok();
}

Result<std::pair<std::string, std::string>> SessionTables::GrantedName(
    std::string_view qualified) const {
  auto name = SplitTableName(qualified);
  if (!name.ok()) return Status::InvalidArgument("Time Travel Error: {}", name.status().message());
  if (!IsGranted(grants_, name->first, name->second)) {
    return Status::PermissionDenied("Privilege Error: permission denied for table {}.{}",
                                    name->first, name->second);
  }
  return name;
}

namespace {

Status ForSql(const Status& status, std::string_view schema, std::string_view name) {
  switch (status.code()) {
    case Code::kNotFound:
      if (status.message().starts_with("relation")) {
        return Status::NotFound("Catalog Error: Table with name {}.{} does not exist", schema,
                                name);
      }
      return Status::NotFound("Time Travel Error: {}", status.message());
    case Code::kInvalidArgument:
      return Status::InvalidArgument("Time Travel Error: {}", status.message());
    case Code::kNotSupported:
      return Status::NotSupported("Not implemented Error: {}", status.message());
    default:
      return status;
  }
}

}  // namespace

Result<std::string> SessionTables::TableAtQuery(std::string_view qualified,
                                                const AsOf& as_of) const {
  FRESHET_ASSIGN_OR_RETURN(auto name, GrantedName(qualified));
  auto entry = catalog_.Table(name.first, name.second, as_of);
  if (!entry.ok()) return ForSql(entry.status(), name.first, name.second);
  return entry->query;
}

Result<std::string> SessionTables::ChangesQuery(std::string_view qualified, int64_t from,
                                                std::optional<int64_t> to) const {
  FRESHET_ASSIGN_OR_RETURN(auto name, GrantedName(qualified));
  auto entry = catalog_.Changes(name.first, name.second, from, to);
  if (!entry.ok()) return ForSql(entry.status(), name.first, name.second);
  return entry->query;
}

}  // namespace freshet::server::pgwire
