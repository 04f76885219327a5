#pragma once

// Where a command's PostgreSQL password comes from when it is not in the DSN.

#include <optional>
#include <string>

#include "common/result.h"

namespace freshet::cli {

// The first line of `password_file` when given (NotFound when unreadable), else
// $FRESHET_PASSWORD, else nothing (libpq then uses the DSN, PGPASSWORD or ~/.pgpass).
Result<std::optional<std::string>> ReadPassword(const std::optional<std::string>& password_file);

}  // namespace freshet::cli
