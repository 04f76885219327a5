#pragma once

// CopyIn: data sent to a COPY ... FROM STDIN command on a Connection, in pieces of any size.
//
// Start sends the command and returns once the server waits for data; Write hands bytes to
// libpq (blocking while its buffer is full); Finish ends the data and returns the number of
// rows the server loaded. A CopyIn that is destroyed unfinished aborts the copy, so the server
// raises an error and the surrounding transaction, if any, is aborted. Errors are mapped like
// Connection::Query's (a rejected row is InvalidArgument with the server's message and
// context; a broken connection Unavailable). Not thread-safe; the Connection must outlive it
// and run nothing else until it is finished.

#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "pg/connection.h"

namespace freshet::pg {

class CopyIn {
 public:
  static Result<CopyIn> Start(Connection& connection, std::string_view command);

  CopyIn(CopyIn&& other) noexcept : connection_(other.connection_) { other.connection_ = nullptr; }
  CopyIn& operator=(CopyIn&&) = delete;
  ~CopyIn();

  Status Write(std::string_view data);
  // Ends the data; the rows the server loaded.
  Result<int64_t> Finish();

 private:
  explicit CopyIn(Connection& connection) : connection_(&connection) {}
  Status Abort(const char* reason);

  Connection* connection_;  // nullptr once finished or aborted
};

}  // namespace freshet::pg
