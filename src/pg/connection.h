#pragma once

// pg::Connection: an owned libpq connection for ordinary SQL (and, later, the replication
// protocol), with errors turned into Status values.
//
// Only pg/ includes libpq-fe.h; this header forward-declares libpq's handles. Not
// thread-safe: one thread uses a Connection at a time. Error codes:
//   PermissionDenied  authentication failed, pg_hba.conf rejected us, a privilege is missing
//   NotFound          the database or role does not exist; an unknown table or object
//   Unavailable       cannot reach the server, or it is starting up or shutting down
//   InvalidArgument   a malformed DSN; SQL the server rejected as wrong
// Messages never contain the password: libpq does not echo it, and DSNs shown to people go
// through RedactDsn.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/sql_quote.h"

struct pg_conn;
struct pg_result;

namespace freshet::pg {

struct ConnectOptions {
  // libpq connection string: a URI (postgres://user@host:5432/db) or key=value pairs.
  std::string dsn;
  // Overrides any password in the DSN (freshet reads it from FRESHET_PASSWORD or a file, so
  // DSNs in config files can stay free of secrets).
  std::optional<std::string> password;
  std::string application_name = "freshet";
  std::chrono::seconds connect_timeout{10};
  // Opens a logical-replication walsender connection (replication=database).
  bool replication = false;
};

// The DSN as a person may see it: user, host, port, database, options; never the password.
// "<unparseable DSN>" when libpq cannot parse it.
std::string RedactDsn(std::string_view dsn);

// Checks that libpq can parse `dsn`; InvalidArgument with libpq's reason otherwise.
Status ValidateDsn(std::string_view dsn);

// A query's result rows, as text (libpq's text format).
class Rows {
 public:
  int size() const;
  int column_count() const;
  std::string_view column_name(int column) const;
  bool IsNull(int row, int column) const;
  // The value as text; nullopt for NULL.
  std::optional<std::string_view> Get(int row, int column) const;
  // Convenience for integer columns; InvalidArgument if NULL or not an integer.
  Result<int64_t> GetInt(int row, int column) const;
  // Convenience for boolean columns ('t' / 'f').
  Result<bool> GetBool(int row, int column) const;

 private:
  friend class Connection;
  struct Deleter {
    void operator()(pg_result* result) const noexcept;
  };
  explicit Rows(pg_result* result) : result_(result) {}
  std::unique_ptr<pg_result, Deleter> result_;
};

class Connection {
 public:
  static Result<Connection> Open(const ConnectOptions& options);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection() = default;

  // Runs `sql` with $1..$n bound to `params` (nullopt binds NULL) and returns its rows.
  // Without params it uses the simple protocol, so `sql` may then hold several statements
  // (the last one's rows are returned) and replication commands work.
  Result<Rows> Query(std::string_view sql,
                     const std::vector<std::optional<std::string>>& params = {});
  // Runs one or more statements without parameters, discarding results.
  Status Execute(std::string_view sql);

  // Sends a command that answers with COPY OUT or COPY BOTH (COPY ... TO STDOUT,
  // START_REPLICATION) and returns once the server is in copy mode; errors as for Query.
  // The data then flows through libpq's copy calls on handle().
  Status StartCopy(std::string_view command);

  // PostgreSQL's version number, e.g. 150004 for 15.4.
  int server_version() const;
  std::string host() const;
  std::string port() const;
  std::string user() const;
  std::string database() const;

  // For the rest of pg/ (replication, COPY); never used outside this domain.
  pg_conn* handle() const { return handle_.get(); }

 private:
  struct Deleter {
    void operator()(pg_conn* connection) const noexcept;
  };
  explicit Connection(pg_conn* handle) : handle_(handle) {}

  std::unique_ptr<pg_conn, Deleter> handle_;
};

// libpq's own version, e.g. "15.18".
std::string LibpqVersion();

// "12.5", "15.4", "9.6.24" from a server_version number.
std::string FormatServerVersion(int version);

}  // namespace freshet::pg
