#pragma once

// PgwireServer: the PostgreSQL-wire SQL gateway. Accepts TCP connections (asio), gives each
// its own thread, TLS if configured, SCRAM-SHA-256 authentication against the configured
// users, and a Session over its own DuckDB database holding the catalog tables the user may
// read. CancelRequest packets stop the matching session's statement; the statement timeout
// is enforced by a Watchdog. Stop() (or the destructor) closes the listener, interrupts
// running statements, tells idle clients the server is shutting down (57P01) and joins every
// connection thread. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/pgwire/session_database.h"
#include "server/pgwire/users.h"
#include "server/table_catalog.h"

namespace freshet::server::pgwire {

struct TlsFiles {
  std::string cert;
  std::string key;
  // Ask TLS clients for a cleartext password (checked against the SCRAM verifier) instead of
  // SCRAM, for drivers without SCRAM support. Never offered on unencrypted connections.
  bool cleartext_password = false;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5433;  // 0: any free port (see PgwireServer::port())
  std::optional<TlsFiles> tls;
  std::vector<User> users;
  std::chrono::milliseconds statement_timeout{0};  // 0: none; sessions may SET their own
  SessionLimits session;
  int max_connections = 100;
  std::chrono::milliseconds authentication_timeout{std::chrono::seconds(60)};
};

class PgwireServer {
 public:
  // Binds and starts accepting. InvalidArgument for bad TLS files, IOError when the address
  // cannot be bound. `catalog` must outlive the server.
  static Result<std::unique_ptr<PgwireServer>> Start(ServerOptions options,
                                                     const TableCatalog& catalog);
  PgwireServer(const PgwireServer&) = delete;
  PgwireServer& operator=(const PgwireServer&) = delete;
  ~PgwireServer();

  uint16_t port() const;
  // Sessions currently connected (authenticated or not).
  int connection_count() const;
  void Stop();

  struct State;

 private:
  explicit PgwireServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The version string clients see in server_version and version().
std::string ServerVersion();

}  // namespace freshet::server::pgwire
