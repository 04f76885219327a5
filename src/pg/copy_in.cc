#include "pg/copy_in.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "pg/connection_internal.h"

namespace freshet::pg {
namespace {

struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using OwnedResult = std::unique_ptr<PGresult, ResultDeleter>;

Status LostConnection(PGconn* connection, std::string_view what) {
  return Status::Unavailable("COPY {} failed: {}", what, PQerrorMessage(connection));
}

// Reads every pending result; the first error, if any, becomes the Status.
Result<int64_t> DrainResults(PGconn* connection, std::string_view command) {
  Status status = Status::Ok();
  int64_t rows = 0;
  while (PGresult* raw = PQgetResult(connection)) {
    OwnedResult result(raw);
    ExecStatusType code = PQresultStatus(raw);
    if (code == PGRES_COMMAND_OK) {
      rows = std::strtoll(PQcmdTuples(raw), nullptr, 10);
    } else if (status.ok()) {
      status = StatusFromResult(raw, connection, command);
    }
  }
  if (!status.ok()) return status;
  return rows;
}

}  // namespace

Result<CopyIn> CopyIn::Start(Connection& connection, std::string_view command) {
  std::string text(command);
  OwnedResult result(PQexec(connection.handle(), text.c_str()));
  ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COPY_IN) return CopyIn(connection);
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
    return Status::Internal("'{}' did not start COPY FROM STDIN", command.substr(0, 200));
  }
  return StatusFromResult(result.get(), connection.handle(), command);
}

CopyIn::~CopyIn() {
  if (connection_ != nullptr) static_cast<void>(Abort("the sender stopped"));
}

Status CopyIn::Write(std::string_view data) {
  if (connection_ == nullptr) return Status::Internal("COPY data written after the copy ended");
  while (!data.empty()) {
    // PQputCopyData takes an int length; large pieces go in slices.
    size_t piece = std::min<size_t>(data.size(), size_t{1} << 30);
    if (PQputCopyData(connection_->handle(), data.data(), static_cast<int>(piece)) != 1) {
      Status status = LostConnection(connection_->handle(), "data");
      connection_ = nullptr;
      return status;
    }
    data.remove_prefix(piece);
  }
  return Status::Ok();
}

Result<int64_t> CopyIn::Finish() {
  if (connection_ == nullptr) return Status::Internal("COPY finished twice");
  PGconn* handle = connection_->handle();
  connection_ = nullptr;
  if (PQputCopyEnd(handle, nullptr) != 1) return LostConnection(handle, "end");
  return DrainResults(handle, "COPY FROM STDIN");
}

Status CopyIn::Abort(const char* reason) {
  PGconn* handle = connection_->handle();
  connection_ = nullptr;
  if (PQputCopyEnd(handle, reason) != 1) return LostConnection(handle, "abort");
  // The server answers the abort with an error: that is the expected outcome here.
  static_cast<void>(DrainResults(handle, "COPY FROM STDIN"));
  return Status::Ok();
}

}  // namespace freshet::pg
