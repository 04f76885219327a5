#pragma once

// ReplicationStream: one logical replication session over libpq (the walsender's COPY BOTH
// sub-protocol), as the "Streaming Replication Protocol" section of PostgreSQL's documentation
// describes it.
//
// Start() sends START_REPLICATION for a pgoutput slot with the publication, protocol version
// (2 with streaming on PostgreSQL 14+, which added binary; 1 before), and binary values when
// asked. Next() returns each XLogData payload (one pgoutput message) and answers primary
// keepalives itself. Standby status updates report the last received position as written and
// only what the caller passed to Confirm() as flushed and applied: PostgreSQL may recycle WAL
// up to the flushed position, so it must never pass what is durable downstream.
//
// Not thread-safe. Errors: Unavailable when the connection drops or the server ends the
// stream (reconnect and resume from the confirmed position); the Connection's codes for
// START_REPLICATION failures (NotFound: slot or publication missing, Conflict: slot active in
// another process, InvalidArgument: slot invalidated or wal_level).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/connection.h"

namespace freshet::pg {

struct StreamOptions {
  std::string slot;
  std::string publication;
  // 0/0 starts at the slot's confirmed position.
  Lsn start_lsn;
  // 0 picks the newest freshet speaks for the server: 2 on 14+, else 1.
  int protocol_version = 0;
  // Ask for streaming of large in-progress transactions (protocol 2 only).
  bool streaming = true;
  // Binary values (PostgreSQL 14+); callers turn it off when a published column has a type
  // without a binary decoder (TypeRegistry::DecodesBinary).
  bool binary = true;
  // Deliver pg_logical_emit_message messages (heartbeats use them).
  bool messages = true;
  // How often to send a status update even when nothing asks for one.
  std::chrono::milliseconds status_interval{10'000};
};

struct XLogData {
  Lsn start;                 // WAL position of this message
  Lsn server_end;            // the server's current end of WAL
  std::string_view payload;  // valid until the next Next() call
};

class ReplicationStream {
 public:
  // REQUIRES: `connection` was opened with ConnectOptions::replication.
  static Result<ReplicationStream> Start(Connection connection, const StreamOptions& options);

  ReplicationStream(ReplicationStream&&) noexcept;
  ReplicationStream& operator=(ReplicationStream&&) noexcept;
  ~ReplicationStream();

  // The next message, waiting at most `wait` once nothing is buffered; nullopt when none
  // arrived in time. Next(0ms) returns what is already buffered without waiting.
  Result<std::optional<XLogData>> Next(std::chrono::milliseconds wait);

  // Everything at or below `lsn` is durable downstream. Never moves backwards.
  void Confirm(Lsn lsn);
  // Sends a standby status update now.
  Status SendStatus(bool request_reply = false);

  Lsn received_lsn() const { return received_; }
  Lsn confirmed_lsn() const { return confirmed_; }
  // The server's end of WAL from the latest XLogData or keepalive.
  Lsn server_wal_end() const { return server_end_; }
  int protocol_version() const { return protocol_version_; }
  bool binary() const { return binary_; }
  Connection& connection() { return connection_; }

 private:
  struct CopyBuffer {
    void operator()(char* buffer) const noexcept;
  };
  ReplicationStream(Connection connection, int protocol_version, bool binary,
                    std::chrono::milliseconds status_interval);
  Status WaitForInput(std::chrono::steady_clock::time_point until);

  Connection connection_;
  int protocol_version_ = 1;
  bool binary_ = false;
  std::chrono::milliseconds status_interval_;
  std::chrono::steady_clock::time_point next_status_;
  uint32_t since_clock_ = 0;  // messages returned since the clock was last read
  std::unique_ptr<char, CopyBuffer> buffer_;
  Lsn received_;
  Lsn confirmed_;
  Lsn server_end_;
};

// "NNN" microseconds since 2000-01-01, as status updates carry the client's clock.
int64_t PostgresNowMicros();

}  // namespace freshet::pg
