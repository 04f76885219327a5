#include "pg/replication_setup.h"

namespace freshet::pg {
namespace {

// Splits "schema.table" (quoted identifiers are not supported here: names are matched as the
// catalog spells them). A name without a dot is in public.
std::pair<std::string, std::string> SplitName(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return {"public", std::string(name)};
  return {std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

// The tables (as quoted schema.table) that `patterns` name now; "schema.*" entries go to
// `schemas` instead, unquoted (as pg_namespace spells them).
Status ResolveTables(Connection& connection, const std::vector<std::string>& patterns,
                     std::vector<std::string>& tables, std::vector<std::string>& schemas) {
  for (const std::string& pattern : patterns) {
    auto [schema, table] = SplitName(pattern);
    if (table == "*") {
      schemas.push_back(schema);
      continue;
    }
    FRESHET_ASSIGN_OR_RETURN(
        Rows rows,
        connection.Query("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN "
                         "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
                         "AND n.nspname = $1 AND c.relname LIKE $2 AND NOT c.relispartition "
                         "ORDER BY 1",
                         {schema, table}));
    if (rows.size() == 0) {
      return Status::NotFound(
          "no table matches '{}': create it, or fix the name in the "
          "publication's table list",
          pattern);
    }
    for (int row = 0; row < rows.size(); ++row) tables.emplace_back(*rows.Get(row, 0));
  }
  return Status::Ok();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string JoinQuoted(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (const std::string& name : names) quoted.push_back(QuoteIdentifier(name));
  return Join(quoted);
}

}  // namespace

std::string ExactTablePattern(std::string_view schema, std::string_view table) {
  std::string out(schema);
  out += '.';
  for (char c : table) {
    if (c == '_' || c == '%' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Status EnsurePublication(Connection& connection, const PublicationOptions& options) {
  if (options.name.empty()) return Status::InvalidArgument("the publication needs a name");
  if (!options.all_tables && options.tables.empty()) {
    return Status::InvalidArgument("publication {} names no tables; list tables or set all_tables",
                                   options.name);
  }
  std::string name = QuoteIdentifier(options.name);
  std::string with = fmt::format("WITH (publish_via_partition_root = {})",
                                 options.publish_via_partition_root ? "true" : "false");
  FRESHET_ASSIGN_OR_RETURN(
      Rows existing, connection.Query("SELECT puballtables FROM pg_publication WHERE pubname = $1",
                                      {options.name}));
  if (options.all_tables) {
    if (existing.size() == 0) {
      return connection.Execute(fmt::format("CREATE PUBLICATION {} FOR ALL TABLES {}", name, with));
    }
    FRESHET_ASSIGN_OR_RETURN(bool all, existing.GetBool(0, 0));
    if (!all) {
      return Status::InvalidArgument(
          "publication {} exists but is not FOR ALL TABLES; drop it or list its tables",
          options.name);
    }
    return connection.Execute(
        fmt::format("ALTER PUBLICATION {} SET ({})", name, with.substr(6, with.size() - 7)));
  }
  std::vector<std::string> tables;
  std::vector<std::string> schemas;
  FRESHET_RETURN_IF_ERROR(ResolveTables(connection, options.tables, tables, schemas));
  std::vector<std::string> objects;
  if (!tables.empty()) objects.push_back("TABLE " + Join(tables));
  if (!schemas.empty()) objects.push_back("TABLES IN SCHEMA " + JoinQuoted(schemas));
  if (existing.size() == 0) {
    return connection.Execute(
        fmt::format("CREATE PUBLICATION {} FOR {} {}", name, Join(objects), with));
  }
  // Reuse: add what is missing, keep what is there (other pipelines may rely on it).
  FRESHET_ASSIGN_OR_RETURN(
      Rows published,
      connection.Query("SELECT format('%I.%I', schemaname, tablename) FROM pg_publication_tables "
                       "WHERE pubname = $1",
                       {options.name}));
  std::vector<std::string> missing;
  for (const std::string& table : tables) {
    bool found = false;
    for (int row = 0; row < published.size() && !found; ++row)
      found = *published.Get(row, 0) == table;
    if (!found) missing.push_back(table);
  }
  if (!missing.empty()) {
    FRESHET_RETURN_IF_ERROR(
        connection.Execute(fmt::format("ALTER PUBLICATION {} ADD TABLE {}", name, Join(missing))));
  }
  if (!schemas.empty()) {
    FRESHET_ASSIGN_OR_RETURN(
        Rows in_schema,
        connection.Query("SELECT n.nspname FROM pg_publication_namespace pn JOIN "
                         "pg_publication p ON p.oid = pn.pnpubid JOIN pg_namespace n ON n.oid = "
                         "pn.pnnspid WHERE p.pubname = $1",
                         {options.name}));
    std::vector<std::string> missing_schemas;
    for (const std::string& schema : schemas) {
      bool found = false;
      for (int row = 0; row < in_schema.size() && !found; ++row)
        found = *in_schema.Get(row, 0) == schema;
      if (!found) missing_schemas.push_back(schema);
    }
    if (!missing_schemas.empty()) {
      FRESHET_RETURN_IF_ERROR(connection.Execute(fmt::format(
          "ALTER PUBLICATION {} ADD TABLES IN SCHEMA {}", name, JoinQuoted(missing_schemas))));
    }
  }
  return connection.Execute(
      fmt::format("ALTER PUBLICATION {} SET ({})", name, with.substr(6, with.size() - 7)));
}

Result<SlotInfo> CreateSlot(Connection& replication, std::string_view name, bool export_snapshot,
                            bool temporary) {
  // The pre-15 spelling of the snapshot option, which PostgreSQL 15 and later still accept.
  std::string command = fmt::format("CREATE_REPLICATION_SLOT {} {}LOGICAL pgoutput {}",
                                    QuoteIdentifier(name), temporary ? "TEMPORARY " : "",
                                    export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
  auto rows = replication.Query(command);
  if (!rows.ok()) {
    return rows.status().WithContext(fmt::format("creating replication slot {}", name));
  }
  if (rows->size() != 1 || rows->column_count() < 3) {
    return Status::Internal("CREATE_REPLICATION_SLOT returned {} rows", rows->size());
  }
  SlotInfo info;
  info.name = std::string(name);
  FRESHET_ASSIGN_OR_RETURN(info.consistent_point, Lsn::Parse(rows->Get(0, 1).value_or("")));
  info.snapshot_name = std::string(rows->Get(0, 2).value_or(""));
  return info;
}

Result<SlotState> GetSlot(Connection& connection, std::string_view name) {
  FRESHET_ASSIGN_OR_RETURN(
      Rows rows,
      connection.Query("SELECT active, active_pid, restart_lsn, confirmed_flush_lsn, wal_status, "
                       "slot_type, plugin, database = current_database() FROM "
                       "pg_replication_slots WHERE slot_name = $1",
                       {std::string(name)}));
  if (rows.size() == 0) {
    return Status::NotFound("replication slot {} does not exist", name);
  }
  if (rows.Get(0, 5) != "logical" || rows.Get(0, 6) != "pgoutput" || rows.Get(0, 7) != "t") {
    return Status::InvalidArgument(
        "replication slot {} is not a logical pgoutput slot of this database ({} slot, plugin "
        "{}); choose another slot name",
        name, rows.Get(0, 5).value_or("?"), rows.Get(0, 6).value_or("none"));
  }
  SlotState state;
  FRESHET_ASSIGN_OR_RETURN(state.active, rows.GetBool(0, 0));
  if (!rows.IsNull(0, 1)) {
    FRESHET_ASSIGN_OR_RETURN(int64_t pid, rows.GetInt(0, 1));
    state.active_pid = static_cast<int>(pid);
  }
  if (!rows.IsNull(0, 2)) {
    FRESHET_ASSIGN_OR_RETURN(state.restart_lsn, Lsn::Parse(*rows.Get(0, 2)));
  }
  if (!rows.IsNull(0, 3)) {
    FRESHET_ASSIGN_OR_RETURN(state.confirmed_flush_lsn, Lsn::Parse(*rows.Get(0, 3)));
  }
  state.wal_status = std::string(rows.Get(0, 4).value_or(""));
  return state;
}

Status DropSlot(Connection& connection, std::string_view name) {
  return connection.Query("SELECT pg_drop_replication_slot($1)", {std::string(name)}).status();
}

}  // namespace freshet::pg
