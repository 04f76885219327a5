#include "pg/preflight.h"

#include <cstdlib>

namespace freshet::pg {
namespace {

CheckResult Ok(std::string name, std::string message) {
  return {std::move(name), CheckState::kOk, std::move(message), ""};
}

CheckResult Problem(std::string name, std::string message, std::string fix) {
  return {std::move(name), CheckState::kProblem, std::move(message), std::move(fix)};
}

CheckResult Warning(std::string name, std::string message, std::string fix) {
  return {std::move(name), CheckState::kWarning, std::move(message), std::move(fix)};
}

// A check whose own query failed is reported as a problem with the server's reason: doctor
// must say what it could not verify rather than pretend all is well.
CheckResult QueryFailed(std::string name, const Status& status) {
  return Problem(std::move(name), fmt::format("could not check: {}", status.message()),
                 "run doctor as a role that can read pg_settings, pg_roles and "
                 "pg_replication_slots");
}

CheckResult ConnectionFailed(const PreflightOptions& options, const Status& status) {
  std::string where = RedactDsn(options.connection.dsn);
  switch (status.code()) {
    case Code::kInvalidArgument:
      return Problem("connection", status.message(), "fix the DSN");
    case Code::kPermissionDenied:
      if (status.message().find("pg_hba.conf") != std::string::npos) {
        return Problem("connection",
                       fmt::format("{} refused the login: {}", where, status.message()),
                       "add a pg_hba.conf line allowing this user from this host, then reload "
                       "PostgreSQL (SELECT pg_reload_conf())");
      }
      return Problem("connection",
                     fmt::format("authentication failed at {}: {}", where, status.message()),
                     "check the user and password (FRESHET_PASSWORD, password_file, or the DSN)");
    case Code::kNotFound:
      return Problem("connection", fmt::format("{}: {}", where, status.message()),
                     "fix the user or database name in the DSN, or create them");
    default:
      return Problem("connection", fmt::format("cannot reach {}: {}", where, status.message()),
                     "check host and port, that PostgreSQL is running and listens there "
                     "(listen_addresses), and that no firewall is in the way");
  }
}

CheckResult CheckServer(Connection& connection) {
  int version = connection.server_version();
  std::string text = FormatServerVersion(version);
  if (version < 120000) {
    return Problem("server_version", fmt::format("PostgreSQL {} is too old", text),
                   "upgrade to PostgreSQL 12 or newer (14+ for binary values and streaming of "
                   "large transactions)");
  }
  auto standby = connection.Query("SELECT pg_is_in_recovery()");
  if (!standby.ok()) return QueryFailed("server_version", standby.status());
  if (standby->GetBool(0, 0).value_or(false) && version < 160000) {
    return Problem("server_version",
                   fmt::format("PostgreSQL {} is a standby; logical decoding on a standby needs "
                               "PostgreSQL 16",
                               text),
                   "point freshet at the primary, or upgrade the standby to PostgreSQL 16+");
  }
  std::string note = version >= 140000 ? "binary values and streamed transactions available"
                                       : "text values only; large transactions are decoded only "
                                         "after they commit (upgrade to 14+ for both)";
  return Ok("server_version", fmt::format("PostgreSQL {} ({})", text, note));
}

CheckResult CheckWalLevel(Connection& connection) {
  auto rows = connection.Query("SELECT current_setting('wal_level')");
  if (!rows.ok()) return QueryFailed("wal_level", rows.status());
  std::string level(rows->Get(0, 0).value_or(""));
  if (level == "logical") return Ok("wal_level", "wal_level is logical");
  return Problem("wal_level",
                 fmt::format("wal_level is '{}'; change capture needs 'logical'", level),
                 "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (Amazon RDS: "
                 "rds.logical_replication = 1; Cloud SQL: cloudsql.logical_decoding = on; "
                 "Azure: wal_level = logical in server parameters)");
}

CheckResult CheckCapacity(Connection& connection, std::string_view name, std::string_view setting,
                          std::string_view used_sql, std::string_view what,
                          std::string_view fix_hint) {
  auto rows =
      connection.Query(fmt::format("SELECT current_setting('{}')::int, ({})", setting, used_sql));
  if (!rows.ok()) return QueryFailed(std::string(name), rows.status());
  int64_t max = rows->GetInt(0, 0).value_or(0);
  int64_t used = rows->GetInt(0, 1).value_or(0);
  int64_t free = max - used;
  std::string message = fmt::format("{} of {} {} in use, {} free ({} = {})", used, max, what,
                                    free < 0 ? 0 : free, setting, max);
  if (free >= 1) return Ok(std::string(name), message);
  return Problem(std::string(name), message,
                 fmt::format("raise {} (ALTER SYSTEM SET {} = {}; then restart PostgreSQL){}",
                             setting, setting, max + 10, fix_hint));
}

CheckResult CheckReplicationPrivilege(Connection& connection) {
  auto rows = connection.Query(
      "SELECT r.rolsuper, r.rolreplication, "
      "  EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication' "
      "          AND pg_has_role(current_user, g.oid, 'member')) "
      "FROM pg_roles r WHERE r.rolname = current_user");
  if (!rows.ok()) return QueryFailed("replication_privilege", rows.status());
  std::string user = connection.user();
  if (rows->GetBool(0, 0).value_or(false)) {
    return Ok("replication_privilege", fmt::format("{} is a superuser", user));
  }
  if (rows->GetBool(0, 1).value_or(false)) {
    return Ok("replication_privilege", fmt::format("{} has the REPLICATION attribute", user));
  }
  if (rows->GetBool(0, 2).value_or(false)) {
    return Ok("replication_privilege", fmt::format("{} is a member of rds_replication", user));
  }
  return Problem("replication_privilege",
                 fmt::format("{} may not open a replication connection", user),
                 fmt::format("ALTER ROLE {} WITH REPLICATION; (Amazon RDS/Aurora: GRANT "
                             "rds_replication TO {};)",
                             QuoteIdentifierIfNeeded(user), QuoteIdentifierIfNeeded(user)));
}

std::vector<CheckResult> CheckSlots(Connection& connection, const PreflightOptions& options) {
  std::string wal_status = connection.server_version() >= 130000 ? "wal_status" : "NULL";
  auto rows =
      connection.Query(fmt::format("WITH here AS (SELECT CASE WHEN pg_is_in_recovery() THEN "
                                   "pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) "
                                   "SELECT slot_name, plugin, active, "
                                   "  pg_wal_lsn_diff(here.lsn, restart_lsn)::bigint, "
                                   "  pg_wal_lsn_diff(here.lsn, confirmed_flush_lsn)::bigint, {} "
                                   "FROM pg_replication_slots, here "
                                   "WHERE left(slot_name, length($1)) = $1 ORDER BY slot_name",
                                   wal_status),
                       {options.slot_prefix});
  if (!rows.ok()) return {QueryFailed("slots", rows.status())};
  if (rows->size() == 0) {
    return {Ok("slots", fmt::format("no slots named {}* yet; freshet creates its own",
                                    options.slot_prefix))};
  }
  std::vector<CheckResult> results;
  for (int row = 0; row < rows->size(); ++row) {
    std::string slot(rows->Get(row, 0).value_or("?"));
    std::string name = "slot " + slot;
    std::string plugin(rows->Get(row, 1).value_or(""));
    bool active = rows->GetBool(row, 2).value_or(false);
    int64_t retained = rows->GetInt(row, 3).value_or(0);
    int64_t behind = rows->GetInt(row, 4).value_or(0);
    std::string status(rows->Get(row, 5).value_or(""));
    std::string summary = fmt::format(
        "{}, plugin {}, {} of WAL retained, {} not yet confirmed", active ? "active" : "inactive",
        plugin.empty() ? "none" : plugin, FormatBytes(retained), FormatBytes(behind));
    std::string drop = fmt::format("SELECT pg_drop_replication_slot({});", QuoteLiteral(slot));
    if (status == "lost") {
      results.push_back(Problem(name, summary + "; the slot lost WAL it needed",
                                "drop it (" + drop +
                                    ") and restart the pipeline with "
                                    "snapshot: initial to copy the tables again"));
    } else if (!plugin.empty() && plugin != "pgoutput") {
      results.push_back(Warning(name, summary + "; freshet uses pgoutput",
                                "if freshet should own this slot, drop it: " + drop));
    } else if (!active && static_cast<uint64_t>(retained) > options.retained_wal_warning_bytes) {
      results.push_back(Warning(name, summary,
                                "start its pipeline so it catches up, or, if that pipeline is "
                                "gone, drop the slot so PostgreSQL can recycle WAL: " +
                                    drop));
    } else {
      results.push_back(Ok(name, summary));
    }
  }
  return results;
}

std::vector<CheckResult> CheckPublication(Connection& connection, const std::string& publication) {
  std::string name = "publication " + publication;
  auto exists = connection.Query(
      "SELECT pubupdate OR pubdelete FROM pg_publication WHERE pubname = $1", {publication});
  if (!exists.ok()) return {QueryFailed(name, exists.status())};
  if (exists->size() == 0) {
    return {Warning(name, "does not exist yet",
                    "freshet creates it on first run; or create it yourself: CREATE PUBLICATION " +
                        QuoteIdentifier(publication) + " FOR TABLE ...")};
  }
  auto rows = connection.Query(
      "SELECT format('%I.%I', n.nspname, c.relname), c.relreplident, "
      "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
      "FROM pg_publication_tables pt "
      "JOIN pg_namespace n ON n.nspname = pt.schemaname "
      "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
      "WHERE pt.pubname = $1 ORDER BY 1",
      {publication});
  if (!rows.ok()) return {QueryFailed(name, rows.status())};
  std::vector<std::string> unkeyed;
  for (int row = 0; row < rows->size(); ++row) {
    std::string_view identity = rows->Get(row, 1).value_or("d");
    bool has_primary_key = rows->GetBool(row, 2).value_or(false);
    if (identity == "n" || (identity == "d" && !has_primary_key)) {
      unkeyed.emplace_back(rows->Get(row, 0).value_or("?"));
    }
  }
  if (unkeyed.empty()) {
    return {Ok(name, fmt::format("{} table(s), each with a primary key or replica identity",
                                 rows->size()))};
  }
  std::string listed;
  constexpr size_t kMaxListed = 10;
  for (size_t i = 0; i < unkeyed.size() && i < kMaxListed; ++i) {
    listed += (i > 0 ? ", " : "") + unkeyed[i];
  }
  if (unkeyed.size() > kMaxListed)
    listed += fmt::format(" and {} more", unkeyed.size() - kMaxListed);
  const std::string& first = unkeyed.front();
  return {Problem(name,
                  fmt::format("{} table(s) with neither a primary key nor REPLICA IDENTITY FULL: "
                              "{}; their updates and deletes cannot be captured (and PostgreSQL "
                              "rejects them while the publication publishes updates or deletes)",
                              unkeyed.size(), listed),
                  fmt::format("add a primary key (ALTER TABLE {} ADD PRIMARY KEY (...)) or "
                              "ALTER TABLE {} REPLICA IDENTITY FULL",
                              first, first))};
}

}  // namespace

std::string_view CheckStateName(CheckState state) {
  switch (state) {
    case CheckState::kOk:
      return "ok";
    case CheckState::kWarning:
      return "warn";
    case CheckState::kProblem:
      return "FAIL";
  }
  return "?";
}

bool PreflightReport::HasProblems() const {
  for (const auto& check : checks) {
    if (check.state == CheckState::kProblem) return true;
  }
  return false;
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(std::llabs(bytes));
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  const char* sign = bytes < 0 ? "-" : "";
  if (unit == 0) return fmt::format("{}{} B", sign, std::llabs(bytes));
  return fmt::format("{}{:.{}f} {}", sign, value, value < 10 ? 1 : 0, kUnits[unit]);
}

PreflightReport RunPreflight(const PreflightOptions& options) {
  PreflightReport report;
  auto connection = Connection::Open(options.connection);
  if (!connection.ok()) {
    report.checks.push_back(ConnectionFailed(options, connection.status()));
    return report;
  }
  Connection& db = *connection;
  report.checks.push_back(
      Ok("connection", fmt::format("connected to {}:{}, database {}, as {}", db.host(), db.port(),
                                   db.database(), db.user())));
  report.checks.push_back(CheckServer(db));
  report.checks.push_back(CheckWalLevel(db));
  report.checks.push_back(CheckCapacity(
      db, "replication_slots", "max_replication_slots", "SELECT count(*) FROM pg_replication_slots",
      "replication slots", ", or drop unused slots with pg_drop_replication_slot('name')"));
  report.checks.push_back(CheckCapacity(
      db, "wal_senders", "max_wal_senders",
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'", "WAL senders", ""));
  report.checks.push_back(CheckReplicationPrivilege(db));
  for (auto& slot : CheckSlots(db, options)) report.checks.push_back(std::move(slot));
  if (options.publication) {
    for (auto& check : CheckPublication(db, *options.publication)) {
      report.checks.push_back(std::move(check));
    }
  }
  return report;
}

}  // namespace freshet::pg
