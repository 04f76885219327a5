#include "pg/connection.h"

#include <charconv>

#include <libpq-fe.h>

#include "pg/connection_internal.h"

namespace freshet::pg {
namespace {

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running...").
// People read them on one line.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Connection failures carry no SQLSTATE through libpq, so the class comes from the message.
// The server's messages are English unless lc_messages says otherwise; unknown text falls
// back to Unavailable, the safe (retryable) reading.
Code ClassifyConnectionFailure(std::string_view message) {
  if (Contains(message, "password authentication failed") ||
      Contains(message, "no password supplied") || Contains(message, "pg_hba.conf") ||
      Contains(message, "SCRAM") || Contains(message, "authentication failed") ||
      Contains(message, "permission denied") || Contains(message, "must have replication") ||
      Contains(message, "must be superuser")) {
    return Code::kPermissionDenied;
  }
  if (Contains(message, "does not exist")) return Code::kNotFound;
  if (Contains(message, "invalid connection option") || Contains(message, "invalid URI") ||
      Contains(message, "missing \"=\"") || Contains(message, "invalid port") ||
      Contains(message, "invalid integer value")) {
    return Code::kInvalidArgument;
  }
  return Code::kUnavailable;
}

Code CodeForSqlState(std::string_view state) {
  if (state.size() != 5) return Code::kInternal;
  std::string_view klass = state.substr(0, 2);
  if (state == "42501" || klass == "28") return Code::kPermissionDenied;
  if (state == "42P01" || state == "42704" || state == "42883" || state == "3D000" ||
      state == "42703") {
    return Code::kNotFound;
  }
  if (state == "42710" || state == "42P07" || state == "42P04" || state == "23505") {
    return Code::kAlreadyExists;
  }
  if (state == "40001" || state == "40P01" || state == "55006") return Code::kConflict;
  if (state == "57014") return Code::kCancelled;
  // object_not_in_prerequisite_state: e.g. "logical decoding requires wal_level >= logical".
  if (state == "55000") return Code::kInvalidArgument;
  if (klass == "08" || klass == "53" || klass == "57") return Code::kUnavailable;
  if (klass == "0A") return Code::kNotSupported;
  if (klass == "42" || klass == "22" || klass == "23" || klass == "2B" || klass == "25") {
    return Code::kInvalidArgument;
  }
  if (klass == "58") return Code::kIOError;
  return Code::kInternal;
}

struct ConninfoOptionsDeleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};
using ConninfoOptions = std::unique_ptr<PQconninfoOption, ConninfoOptionsDeleter>;

Result<ConninfoOptions> ParseConninfo(std::string_view dsn) {
  char* error = nullptr;
  std::string text(dsn);
  ConninfoOptions options(PQconninfoParse(text.c_str(), &error));
  if (options == nullptr) {
    std::string reason = error != nullptr ? OneLine(error) : "out of memory";
    PQfreemem(error);
    return Status::InvalidArgument(
        "the DSN is not a valid PostgreSQL connection string ({}); write it as "
        "postgres://user@host:5432/dbname or 'host=... port=... dbname=... user=...'",
        reason);
  }
  return options;
}

}  // namespace

Status StatusFromResult(const PGresult* result, pg_conn* connection, std::string_view sql) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary != nullptr ? primary : OneLine(PQerrorMessage(connection));
  if (state == nullptr) {
    // No server error: the connection itself broke.
    return Status::Unavailable("{} (while running: {})", OneLine(message), sql.substr(0, 200));
  }
  return {CodeForSqlState(state),
          fmt::format("{} (SQLSTATE {}, while running: {})", message, state, sql.substr(0, 200))};
}

std::string RedactDsn(std::string_view dsn) {
  auto options = ParseConninfo(dsn);
  if (!options.ok()) return "<unparseable DSN>";
  std::string host;
  std::string port;
  std::string user;
  std::string dbname;
  std::string extra;
  for (PQconninfoOption* option = options->get(); option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    std::string_view keyword = option->keyword;
    std::string value = option->val;
    if (keyword == "host" || keyword == "hostaddr") {
      if (host.empty()) host = value;
    } else if (keyword == "port") {
      port = value;
    } else if (keyword == "user") {
      user = value;
    } else if (keyword == "dbname") {
      dbname = value;
    } else if (keyword == "password" || keyword == "passfile" || keyword == "sslpassword") {
      continue;
    } else {
      extra += fmt::format("{}{}={}", extra.empty() ? "?" : "&", keyword, value);
    }
  }
  return fmt::format("postgres://{}{}{}{}/{}{}", user, user.empty() ? "" : "@", host,
                     port.empty() ? "" : ":" + port, dbname, extra);
}

Status ValidateDsn(std::string_view dsn) { return ParseConninfo(dsn).status(); }

void Rows::Deleter::operator()(pg_result* result) const noexcept { PQclear(result); }

int Rows::size() const { return PQntuples(result_.get()); }
int Rows::column_count() const { return PQnfields(result_.get()); }
std::string_view Rows::column_name(int column) const { return PQfname(result_.get(), column); }
bool Rows::IsNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::optional<std::string_view> Rows::Get(int row, int column) const {
  if (row < 0 || row >= size() || column < 0 || column >= column_count() || IsNull(row, column)) {
    return std::nullopt;
  }
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

Result<int64_t> Rows::GetInt(int row, int column) const {
  auto text = Get(row, column);
  int64_t value = 0;
  if (text) {
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec == std::errc() && ptr == text->data() + text->size()) return value;
  }
  return Status::InvalidArgument("column {} of row {} is {}, not an integer", column_name(column),
                                 row, text ? fmt::format("'{}'", *text) : "NULL");
}

Result<bool> Rows::GetBool(int row, int column) const {
  auto text = Get(row, column);
  if (text == "t") return true;
  if (text == "f") return false;
  return Status::InvalidArgument("column {} of row {} is {}, not a boolean", column_name(column),
                                 row, text ? fmt::format("'{}'", *text) : "NULL");
}

void Connection::Deleter::operator()(pg_conn* connection) const noexcept { PQfinish(connection); }

Result<Connection> Connection::Open(const ConnectOptions& options) {
  FRESHET_RETURN_IF_ERROR(ValidateDsn(options.dsn));
  std::vector<const char*> keywords = {"dbname", "application_name", "connect_timeout"};
  std::string timeout = std::to_string(options.connect_timeout.count());
  std::vector<const char*> values = {options.dsn.c_str(), options.application_name.c_str(),
                                     timeout.c_str()};
  if (options.password) {
    keywords.push_back("password");
    values.push_back(options.password->c_str());
  }
  if (options.replication) {
    keywords.push_back("replication");
    values.push_back("database");
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  // Later keywords override those inside the expanded DSN, so an explicit password wins.
  Connection connection(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (connection.handle_ == nullptr) return Status::Internal("libpq is out of memory");
  if (PQstatus(connection.handle()) != CONNECTION_OK) {
    std::string message = OneLine(PQerrorMessage(connection.handle()));
    return Status(ClassifyConnectionFailure(message), message);
  }
  return connection;
}

Result<Rows> Connection::Query(std::string_view sql,
                               const std::vector<std::optional<std::string>>& params) {
  std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  // Without parameters use the simple protocol: replication connections accept nothing else.
  Rows rows(params.empty()
                ? PQexec(handle(), text.c_str())
                : PQexecParams(handle(), text.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, /*resultFormat=*/0));
  ExecStatusType status = PQresultStatus(rows.result_.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return StatusFromResult(rows.result_.get(), handle(), sql);
  }
  return rows;
}

Status Connection::Execute(std::string_view sql) {
  std::string text(sql);
  // PQexec allows several statements in one string; PQexecParams does not.
  Rows rows(PQexec(handle(), text.c_str()));
  ExecStatusType status = PQresultStatus(rows.result_.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return StatusFromResult(rows.result_.get(), handle(), sql);
  }
  return Status::Ok();
}

Status Connection::StartCopy(std::string_view command) {
  std::string text(command);
  Rows rows(PQexec(handle(), text.c_str()));
  ExecStatusType status = PQresultStatus(rows.result_.get());
  if (status != PGRES_COPY_OUT && status != PGRES_COPY_BOTH) {
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      return Status::Internal("'{}' did not start a copy", command.substr(0, 200));
    }
    return StatusFromResult(rows.result_.get(), handle(), command);
  }
  return Status::Ok();
}

int Connection::server_version() const { return PQserverVersion(handle()); }
std::string Connection::host() const { return PQhost(handle()); }
std::string Connection::port() const { return PQport(handle()); }
std::string Connection::user() const { return PQuser(handle()); }
std::string Connection::database() const { return PQdb(handle()); }

std::string LibpqVersion() { return FormatServerVersion(PQlibVersion()); }

std::string FormatServerVersion(int version) {
  if (version >= 100000) return fmt::format("{}.{}", version / 10000, version % 10000);
  return fmt::format("{}.{}.{}", version / 10000, (version / 100) % 100, version % 100);
}

}  // namespace freshet::pg
