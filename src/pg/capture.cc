#include "pg/capture.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace freshet::pg {

// Sits between the assembler and the caller's sink: drops transactions already delivered
// before a reconnect, withdraws a half-delivered one, and swallows heartbeats.
class ChangeCapture::Filter : public ChangeSink {
 public:
  Filter(ChangeSink& sink, std::string heartbeat_prefix)
      : sink_(sink), heartbeat_prefix_(std::move(heartbeat_prefix)) {}

  Status OnBegin(const TransactionInfo& info) override {
    skipping_ = last_commit_ && info.commit_lsn <= *last_commit_;
    if (skipping_) return Status::Ok();
    open_ = true;
    return sink_.OnBegin(info);
  }
  Status OnSchemaEvent(const SchemaEvent& event) override {
    return skipping_ ? Status::Ok() : sink_.OnSchemaEvent(event);
  }
  Status OnChange(Change&& change) override {
    return skipping_ ? Status::Ok() : sink_.OnChange(std::move(change));
  }
  Status OnMessage(LogicalMessage&& message) override {
    if (!message.transactional && message.prefix == heartbeat_prefix_) {
      heartbeat_lsn_ = message.lsn;
      return Status::Ok();
    }
    return skipping_ ? Status::Ok() : sink_.OnMessage(std::move(message));
  }
  Status OnCommit(const TransactionInfo& info) override {
    if (skipping_) {
      skipping_ = false;
      ++skipped_;
      return Status::Ok();
    }
    open_ = false;
    last_commit_ = info.commit_lsn;
    last_end_ = info.end_lsn;
    return sink_.OnCommit(info);
  }
  Status OnRestart() override {
    skipping_ = false;
    if (!open_) return Status::Ok();
    open_ = false;
    return sink_.OnRestart();
  }

  std::optional<Lsn> TakeHeartbeat() { return std::exchange(heartbeat_lsn_, std::nullopt); }
  Lsn last_end() const { return last_end_; }
  uint64_t skipped() const { return skipped_; }

 private:
  ChangeSink& sink_;
  std::string heartbeat_prefix_;
  bool open_ = false;
  bool skipping_ = false;
  std::optional<Lsn> last_commit_;
  Lsn last_end_;
  std::optional<Lsn> heartbeat_lsn_;
  uint64_t skipped_ = 0;
};

ChangeCapture::ChangeCapture(CaptureOptions options, ChangeSink& sink)
    : options_(std::move(options)),
      filter_(std::make_unique<Filter>(sink, options_.heartbeat_prefix)),
      assembler_(options_.assembler, *filter_),
      backoff_(options_.backoff.initial),
      last_activity_(std::chrono::steady_clock::now()) {
  options_.connect.replication = true;
}

ChangeCapture::~ChangeCapture() = default;

void ChangeCapture::Confirm(Lsn lsn) {
  if (lsn > confirmed_) confirmed_ = lsn;
  if (stream_) stream_->Confirm(confirmed_);
}

Status ChangeCapture::Close() {
  Status status = stream_ ? stream_->SendStatus() : Status::Ok();
  FRESHET_RETURN_IF_ERROR(Disconnect());
  return status;
}

Status ChangeCapture::Disconnect() {
  stream_.reset();
  heartbeat_connection_.reset();
  assembler_.Reset();
  // A transaction cut off mid-way is resent whole; the sink forgets the partial one.
  return filter_->OnRestart();
}

namespace {

// Adds the fix to errors whose PostgreSQL text alone does not say what to do.
Status Explain(Status status, std::string_view slot) {
  if (status.ok()) return status;
  const std::string& message = status.message();
  // PostgreSQL 15 says "cannot read from logical replication slot", later versions "can no
  // longer get changes from replication slot"; both mean the slot was invalidated.
  if (message.find("cannot read from logical replication slot") != std::string::npos ||
      message.find("can no longer get changes") != std::string::npos ||
      message.find("invalidated") != std::string::npos) {
    return Status(status.code(),
                  fmt::format("{}; the slot {} lost WAL it needed (max_slot_wal_keep_size): drop "
                              "it and start again with a new initial snapshot",
                              message, slot));
  }
  if (message.find("publication") != std::string::npos &&
      message.find("does not exist") != std::string::npos) {
    return Status(status.code(),
                  fmt::format("{}; create the publication (freshet creates it at setup) or fix "
                              "its name in the configuration",
                              message));
  }
  return status;
}

}  // namespace

Status ChangeCapture::Connect() {
  FRESHET_ASSIGN_OR_RETURN(Connection connection, Connection::Open(options_.connect));
  // Resume from what the caller confirmed; 0/0 lets the slot decide (its confirmed position).
  FRESHET_ASSIGN_OR_RETURN(ReplicationStream stream,
                           ReplicationStream::Start(std::move(connection),
                                                    {.slot = options_.slot,
                                                     .publication = options_.publication,
                                                     .start_lsn = confirmed_,
                                                     .binary = options_.binary,
                                                     .status_interval = options_.status_interval}));
  stream_ = std::make_unique<ReplicationStream>(std::move(stream));
  return Status::Ok();
}

Status ChangeCapture::Deliver(std::string_view payload) {
  FRESHET_RETURN_IF_ERROR(assembler_.Feed(payload));
  if (std::optional<Lsn> heartbeat = filter_->TakeHeartbeat()) {
    // Safe only when everything delivered before it is durable: then no change the caller
    // still needs lies at or below the heartbeat.
    if (!assembler_.in_transaction() && confirmed_ >= filter_->last_end()) {
      Confirm(*heartbeat);
      ++stats_.heartbeats_confirmed;
    }
  } else {
    delivered_ = true;
  }
  return Status::Ok();
}

Status ChangeCapture::MaybeSendHeartbeat(std::chrono::steady_clock::time_point now) {
  if (options_.heartbeat_interval.count() == 0) return Status::Ok();
  if (now - last_activity_ < options_.heartbeat_interval) return Status::Ok();
  if (heartbeat_connection_ == nullptr) {
    ConnectOptions plain = options_.connect;
    plain.replication = false;
    FRESHET_ASSIGN_OR_RETURN(Connection connection, Connection::Open(plain));
    heartbeat_connection_ = std::make_unique<Connection>(std::move(connection));
  }
  FRESHET_RETURN_IF_ERROR(heartbeat_connection_->Query(
      "SELECT pg_logical_emit_message(false, $1, now()::text)", {options_.heartbeat_prefix}));
  ++stats_.heartbeats_sent;
  last_activity_ = now;
  return Status::Ok();
}

namespace {

// Worth retrying: the server is away or restarting, or (Conflict) the slot is still held by a
// walsender that is shutting down.
bool Transient(const Status& status) { return status.IsRetryable() || status.Is(Code::kConflict); }

}  // namespace

Status ChangeCapture::Poll(std::chrono::milliseconds wait) {
  // Messages already received are delivered in bursts of up to kBurst with one clock read per
  // burst, not several per message.
  constexpr int kBurst = 256;
  auto now = std::chrono::steady_clock::now();
  auto deadline = now + wait;
  for (; now < deadline; now = std::chrono::steady_clock::now()) {
    Status status;
    if (stream_ == nullptr) {
      if (now < next_attempt_) {
        std::this_thread::sleep_for(std::min(next_attempt_, deadline) - now);
        continue;
      }
      status = Explain(Connect(), options_.slot);
      if (status.ok()) {
        if (ever_connected_) ++stats_.reconnects;
        ever_connected_ = true;
        failed_attempts_ = 0;
        backoff_ = options_.backoff.initial;
      }
    }
    if (status.ok()) status = MaybeSendHeartbeat(now);
    if (status.ok()) {
      auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto next = stream_->Next(std::max(remaining, std::chrono::milliseconds(0)));
      for (int burst = 1; next.ok() && next->has_value(); ++burst) {
        status = Deliver((*next)->payload);
        if (!status.ok() || burst == kBurst) break;
        next = stream_->Next(std::chrono::milliseconds(0));
      }
      if (status.ok() && !next.ok()) status = Explain(next.status(), options_.slot);
      if (delivered_) {
        last_activity_ = std::chrono::steady_clock::now();
        delivered_ = false;
      }
      if (status.ok()) stats_.skipped_transactions = filter_->skipped();
    }
    if (status.ok()) continue;
    if (!Transient(status)) return status;
    FRESHET_RETURN_IF_ERROR(Disconnect());
    ++failed_attempts_;
    if (options_.backoff.max_attempts > 0 && failed_attempts_ >= options_.backoff.max_attempts) {
      return status.WithContext(fmt::format("giving up after {} attempts", failed_attempts_));
    }
    spdlog::warn("replication stream of slot {}: {}; reconnecting in {} ms", options_.slot,
                 status.ToString(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count());
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    backoff_ = std::min(options_.backoff.max, backoff_ * 2);
  }
  return Status::Ok();
}

}  // namespace freshet::pg
