#include "pg/replication_stream.h"

#include <poll.h>

#include <libpq-fe.h>

#include "common/wire.h"
#include "pg/connection_internal.h"
#include "pg/pgoutput.h"

namespace freshet::pg {

void ReplicationStream::CopyBuffer::operator()(char* buffer) const noexcept { PQfreemem(buffer); }

int64_t PostgresNowMicros() {
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  return ToPostgresEpochMicros(now);
}

ReplicationStream::ReplicationStream(Connection connection, int protocol_version, bool binary,
                                     std::chrono::milliseconds status_interval)
    : connection_(std::move(connection)),
      protocol_version_(protocol_version),
      binary_(binary),
      status_interval_(status_interval),
      next_status_(std::chrono::steady_clock::now() + status_interval) {}

ReplicationStream::ReplicationStream(ReplicationStream&&) noexcept = default;
ReplicationStream& ReplicationStream::operator=(ReplicationStream&&) noexcept = default;
ReplicationStream::~ReplicationStream() = default;

Result<ReplicationStream> ReplicationStream::Start(Connection connection,
                                                   const StreamOptions& options) {
  int server = connection.server_version();
  int version =
      options.protocol_version != 0 ? options.protocol_version : (server >= 140000 ? 2 : 1);
  if (version == 2 && server < 140000) {
    return Status::NotSupported(
        "pgoutput protocol version 2 needs PostgreSQL 14 or newer, "
        "the server runs {}",
        FormatServerVersion(server));
  }
  bool binary = options.binary && server >= 140000;
  std::string pgoutput_options = fmt::format("proto_version '{}', publication_names {}", version,
                                             QuoteLiteral(QuoteIdentifier(options.publication)));
  if (binary) pgoutput_options += ", binary 'true'";
  if (version >= 2 && options.streaming) pgoutput_options += ", streaming 'on'";
  if (options.messages) pgoutput_options += ", messages 'true'";
  std::string command =
      fmt::format("START_REPLICATION SLOT {} LOGICAL {} ({})", QuoteIdentifier(options.slot),
                  options.start_lsn.ToString(), pgoutput_options);
  Status started = connection.StartCopy(command);
  if (!started.ok()) {
    return started.WithContext(fmt::format("starting replication from slot {}", options.slot));
  }
  ReplicationStream stream(std::move(connection), version, binary, options.status_interval);
  stream.received_ = options.start_lsn;
  stream.confirmed_ = options.start_lsn;
  return stream;
}

void ReplicationStream::Confirm(Lsn lsn) {
  if (lsn > confirmed_) confirmed_ = lsn;
}

// Standby status update ('r'): written, flushed and applied positions, the client's clock, and
// whether the server should reply at once.
Status ReplicationStream::SendStatus(bool request_reply) {
  WireWriter writer;
  writer.PutU8('r');
  writer.PutU64(std::max(received_, confirmed_).value());
  writer.PutU64(confirmed_.value());
  writer.PutU64(confirmed_.value());
  writer.PutI64(PostgresNowMicros());
  writer.PutU8(request_reply ? 1 : 0);
  const std::string& data = writer.data();
  if (PQputCopyData(connection_.handle(), data.data(), static_cast<int>(data.size())) != 1 ||
      PQflush(connection_.handle()) != 0) {
    return Status::Unavailable("sending a standby status update failed: {}",
                               PQerrorMessage(connection_.handle()));
  }
  next_status_ = std::chrono::steady_clock::now() + status_interval_;
  return Status::Ok();
}

Status ReplicationStream::WaitForInput(std::chrono::steady_clock::time_point until) {
  auto now = std::chrono::steady_clock::now();
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
  pollfd fd{.fd = PQsocket(connection_.handle()), .events = POLLIN, .revents = 0};
  if (fd.fd < 0) return Status::Unavailable("the replication connection is closed");
  int ready = ::poll(&fd, 1, static_cast<int>(std::max<int64_t>(0, timeout)));
  if (ready < 0 && errno != EINTR) return Status::FromErrno(errno, "poll replication socket");
  if (ready > 0 && PQconsumeInput(connection_.handle()) == 0) {
    return Status::Unavailable("replication connection lost: {}",
                               PQerrorMessage(connection_.handle()));
  }
  return Status::Ok();
}

Result<std::optional<XLogData>> ReplicationStream::Next(std::chrono::milliseconds wait) {
  // The clock is read when nothing is buffered, and every kClockEvery messages while a burst
  // is: at a few hundred thousand messages a second, reading it for each one is a visible
  // share of the reader's time.
  constexpr uint32_t kClockEvery = 256;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  for (;;) {
    if (++since_clock_ >= kClockEvery) {
      since_clock_ = 0;
      if (std::chrono::steady_clock::now() >= next_status_) FRESHET_RETURN_IF_ERROR(SendStatus());
    }
    char* raw = nullptr;
    int length = PQgetCopyData(connection_.handle(), &raw, /*async=*/1);
    buffer_.reset(raw);
    if (length == 0) {
      auto now = std::chrono::steady_clock::now();
      since_clock_ = 0;
      if (now >= next_status_) FRESHET_RETURN_IF_ERROR(SendStatus());
      if (!deadline) deadline = now + wait;
      if (now >= *deadline) return std::optional<XLogData>();
      FRESHET_RETURN_IF_ERROR(WaitForInput(std::min(*deadline, next_status_)));
      continue;
    }
    if (length == -1) {
      // The server ended the copy. An error result (publication dropped, slot invalidated)
      // keeps its SQLSTATE's Code, so callers do not retry what cannot succeed.
      PGresult* result = PQgetResult(connection_.handle());
      ExecStatusType state = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
      Status status = state == PGRES_COMMAND_OK || state == PGRES_COPY_OUT
                          ? Status::Unavailable("the server ended the replication stream")
                          : StatusFromResult(result, connection_.handle(), "replication stream");
      PQclear(result);
      return status;
    }
    if (length < 0) {
      return Status::Unavailable("replication connection lost: {}",
                                 PQerrorMessage(connection_.handle()));
    }
    WireReader reader(std::string_view(raw, static_cast<size_t>(length)), "replication message");
    FRESHET_ASSIGN_OR_RETURN(uint8_t type, reader.ReadU8());
    if (type == 'w') {
      // XLogData: start of this WAL data, current end of WAL, send time, then the message.
      XLogData data;
      FRESHET_ASSIGN_OR_RETURN(uint64_t start, reader.ReadU64());
      FRESHET_ASSIGN_OR_RETURN(uint64_t end, reader.ReadU64());
      FRESHET_RETURN_IF_ERROR(reader.Skip(8));
      data.start = Lsn(start);
      data.server_end = Lsn(end);
      data.payload = reader.ReadRest();
      server_end_ = std::max(server_end_, data.server_end);
      received_ = std::max(received_, data.start);
      return std::optional<XLogData>(data);
    }
    if (type == 'k') {
      // Primary keepalive: current end of WAL, send time, reply-requested flag.
      FRESHET_ASSIGN_OR_RETURN(uint64_t end, reader.ReadU64());
      FRESHET_RETURN_IF_ERROR(reader.Skip(8));
      FRESHET_ASSIGN_OR_RETURN(uint8_t reply, reader.ReadU8());
      server_end_ = std::max(server_end_, Lsn(end));
      if (reply != 0) FRESHET_RETURN_IF_ERROR(SendStatus());
      continue;
    }
    return Status::Corruption("unknown replication message type 0x{:02x}", type);
  }
}

}  // namespace freshet::pg
