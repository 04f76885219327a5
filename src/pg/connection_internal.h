#pragma once

// For pg/ sources that drive libpq directly (replication, COPY): the error mapping Connection
// uses, so every path turns server errors into the same Codes. Not for use outside pg/.

#include <string_view>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace freshet::pg {

// The Status for a failed result: the SQLSTATE decides the Code (see connection.h); no SQLSTATE
// (the connection broke) is Unavailable. `sql` names what was running, shortened.
Status StatusFromResult(const pg_result* result, pg_conn* connection, std::string_view sql);

}  // namespace freshet::pg
