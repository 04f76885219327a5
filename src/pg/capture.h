#pragma once

// ChangeCapture: a replication stream that survives its connection. It connects, streams from
// the slot, feeds a TransactionAssembler, reconnects with exponential backoff when the server
// restarts or the walsender is terminated, and emits heartbeats.
//
// After a reconnect PostgreSQL resends every transaction committed after the confirmed
// position. Those the sink already saw whole (commit LSN at or below the last one delivered)
// are skipped, and a transaction cut off mid-way is withdrawn with OnRestart before it is
// resent, so the sink sees each committed transaction exactly once per ChangeCapture.
//
// Heartbeats: when heartbeat_interval is set and nothing was delivered for that long, a
// non-transactional logical message (pg_logical_emit_message) with heartbeat_prefix is written
// on an ordinary connection. When it comes back through the stream and every delivered
// transaction has been confirmed, its position is confirmed too, so the slot advances (and
// PostgreSQL frees WAL) while only unpublished tables change. Heartbeat messages are not passed
// to the sink.
//
// Not thread-safe: one thread calls Poll and Confirm. Errors from Poll: the sink's; Corruption
// from the decoder; and, after max_attempts consecutive failed reconnects, the last connection
// error. Errors that retrying cannot fix (PermissionDenied, NotFound, InvalidArgument such as an
// invalidated slot) are returned at once.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/change_sink.h"
#include "pg/connection.h"
#include "pg/replication_stream.h"
#include "pg/transaction_assembler.h"

namespace freshet::pg {

struct BackoffOptions {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30'000};
  // Consecutive failed attempts before Poll gives up; 0 retries forever.
  int max_attempts = 0;
};

struct CaptureOptions {
  ConnectOptions connect;  // replication is set by ChangeCapture
  std::string slot;
  std::string publication;
  bool binary = true;
  AssemblerOptions assembler;
  BackoffOptions backoff;
  std::chrono::milliseconds status_interval{10'000};
  // Zero disables heartbeats.
  std::chrono::milliseconds heartbeat_interval{0};
  std::string heartbeat_prefix = "freshet_heartbeat";
};

struct CaptureStats {
  uint64_t reconnects = 0;
  uint64_t skipped_transactions = 0;  // resent after a reconnect, already delivered
  uint64_t heartbeats_sent = 0;
  uint64_t heartbeats_confirmed = 0;
};

class ChangeCapture {
 public:
  ChangeCapture(CaptureOptions options, ChangeSink& sink);
  ~ChangeCapture();
  ChangeCapture(const ChangeCapture&) = delete;
  ChangeCapture& operator=(const ChangeCapture&) = delete;

  // Connects if needed and delivers what arrives within `wait`.
  Status Poll(std::chrono::milliseconds wait);

  // Everything at or below `lsn` is durable downstream (use TransactionInfo::end_lsn).
  void Confirm(Lsn lsn);
  // Tells the server the confirmed position at once (it otherwise goes with the next status
  // update) and disconnects, so a restart resumes exactly there.
  Status Close();
  Lsn confirmed() const { return confirmed_; }
  bool connected() const { return stream_ != nullptr; }
  const CaptureStats& stats() const { return stats_; }
  const AssemblerStats& assembler_stats() const { return assembler_.stats(); }

 private:
  class Filter;

  Status Connect();
  Status Disconnect();
  Status Deliver(std::string_view payload);
  Status MaybeSendHeartbeat(std::chrono::steady_clock::time_point now);

  CaptureOptions options_;
  std::unique_ptr<Filter> filter_;
  TransactionAssembler assembler_;
  std::unique_ptr<ReplicationStream> stream_;
  std::unique_ptr<Connection> heartbeat_connection_;
  Lsn confirmed_;
  bool ever_connected_ = false;
  int failed_attempts_ = 0;
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point next_attempt_;
  std::chrono::steady_clock::time_point last_activity_;
  bool delivered_ = false;  // a message other than a heartbeat arrived since last_activity_
  CaptureStats stats_;
};

}  // namespace freshet::pg
