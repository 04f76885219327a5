#pragma once

// ThrowawayPostgres: a private PostgreSQL server for one test binary or one demo.
//
// Start() runs initdb into a fresh temporary folder and starts the server on a free port,
// listening on 127.0.0.1 only (and a Unix socket inside that folder), with wal_level=logical
// and room for 20 replication slots and WAL senders by default. Host connections need a
// password (SCRAM), so tests can exercise authentication; the superuser `postgres` gets a
// random password. As root, every server command runs as the `postgres` OS user through
// runuser, because PostgreSQL refuses to run as root.
//
// The server is stopped and its folder removed by Stop() or the destructor, and also when the
// owning process dies in any way (a failed assertion, abort, SIGKILL): a guardian process
// waits on a pipe that only the owner holds, and cleans up when that pipe closes.
// Not thread-safe.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace freshet::testing {

struct PostgresOptions {
  std::string wal_level = "logical";
  int max_replication_slots = 20;
  int max_wal_senders = 20;
  // Extra postgresql.conf settings, name and value as written in the file.
  std::vector<std::pair<std::string, std::string>> settings;
};

class ThrowawayPostgres {
 public:
  static Result<std::unique_ptr<ThrowawayPostgres>> Start(const PostgresOptions& options = {});

  ThrowawayPostgres(const ThrowawayPostgres&) = delete;
  ThrowawayPostgres& operator=(const ThrowawayPostgres&) = delete;
  ~ThrowawayPostgres();

  // Stops the server (fast shutdown) and removes its folder. Idempotent.
  Status Stop();
  // Stops the server and starts it again on the same port with the same data; returns once it
  // accepts connections. `mode` is pg_ctl's shutdown mode: "fast" waits for logical walsenders
  // until their client confirmed everything sent, "immediate" does not (crash and recovery).
  Status Restart(std::string_view mode = "fast");

  int port() const { return port_; }
  const std::string& superuser() const { return superuser_; }
  const std::string& superuser_password() const { return password_; }
  // Folder holding data/, the log and the socket.
  const std::string& root() const { return root_; }

  // postgres://postgres:<password>@127.0.0.1:<port>/<database>
  std::string Dsn(std::string_view database = "postgres") const;
  // A DSN for another role; an empty password leaves it out.
  std::string DsnFor(std::string_view user, std::string_view password,
                     std::string_view database) const;

  // Runs SQL as the superuser in `database`.
  Status Execute(std::string_view database, std::string_view sql) const;
  // Creates an empty database; drops it (first dropping its replication slots and ending its
  // sessions, which would otherwise block DROP DATABASE).
  Status CreateDatabase(std::string_view name) const;
  Status DropDatabase(std::string_view name) const;

  // The server log so far, for failure messages.
  std::string Log() const;

 private:
  ThrowawayPostgres() = default;
  Status InitDb();
  Status StartGuardian();
  Status StartServer(const PostgresOptions& options);
  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;

  std::string bindir_;
  std::string root_;
  std::string data_;
  std::string superuser_ = "postgres";
  std::string password_;
  int port_ = 0;
  bool running_ = false;
  int guardian_pipe_ = -1;
  int guardian_pid_ = -1;
};

// The folder holding initdb and pg_ctl: $FRESHET_PG_BINDIR, else PostgreSQL 15's on Debian,
// else the newest /usr/lib/postgresql/*/bin.
Result<std::string> FindPostgresBinDir();

}  // namespace freshet::testing
