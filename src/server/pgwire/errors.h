#pragma once

// SQLSTATE codes and the mapping from freshet Status values (most carrying a DuckDB message)
// to PostgreSQL ErrorResponse fields, so that clients branch on the codes they know:
// 42601 syntax error, 42P01 undefined table, 42703 undefined column, 42883 undefined
// function, 42501 insufficient privilege, 25006 read-only transaction, 57014 query canceled,
// 22P02 invalid text representation, 53200 out of memory, 08P01 protocol violation.

#include <string_view>

#include "common/status.h"
#include "server/pgwire/protocol.h"

namespace freshet::server::pgwire {

namespace sqlstate {
inline constexpr std::string_view kSyntaxError = "42601";
inline constexpr std::string_view kUndefinedTable = "42P01";
inline constexpr std::string_view kUndefinedColumn = "42703";
inline constexpr std::string_view kUndefinedFunction = "42883";
inline constexpr std::string_view kUndefinedObject = "42704";
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kReadOnlyTransaction = "25006";
inline constexpr std::string_view kInFailedTransaction = "25P02";
inline constexpr std::string_view kQueryCanceled = "57014";
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kInvalidTextRepresentation = "22P02";
inline constexpr std::string_view kInvalidBinaryRepresentation = "22P03";
inline constexpr std::string_view kInvalidParameterValue = "22023";
inline constexpr std::string_view kDivisionByZero = "22012";
inline constexpr std::string_view kNumericOutOfRange = "22003";
inline constexpr std::string_view kDataException = "22000";
inline constexpr std::string_view kOutOfMemory = "53200";
inline constexpr std::string_view kTooManyConnections = "53300";
inline constexpr std::string_view kProtocolViolation = "08P01";
inline constexpr std::string_view kInvalidPassword = "28P01";
inline constexpr std::string_view kInvalidAuthorization = "28000";
inline constexpr std::string_view kFeatureNotSupported = "0A000";
inline constexpr std::string_view kInvalidSqlStatementName = "26000";
inline constexpr std::string_view kInvalidCursorName = "34000";
inline constexpr std::string_view kInternalError = "XX000";
}  // namespace sqlstate

// An ERROR for `status`: the SQLSTATE from DuckDB's error class and message ("Parser Error"
// → 42601, "Catalog Error: Table with name" → 42P01, ...) or from the Code, and the message
// without DuckDB's class prefix and the SQL echo engine/ appends. The gateway's own errors
// use the same form: "Read-only Error: ..." → 25006, "Privilege Error: ..." → 42501,
// "Parameter Error" → 42704, "Setting Error" → 22023, "Canceled Error" → 57014,
// "Shutdown Error" → 57P01, "Statement Error" → 26000, "Portal Error" → 34000,
// "Protocol Error" → 08P01, "Format Error" → 0A000, "Binary Error" → 22P03,
// "Time Travel Error" → 22023 (a version or time a table does not have).
ErrorFields ErrorFromStatus(const Status& status);

ErrorFields MakeError(std::string_view sqlstate, std::string message);

}  // namespace freshet::server::pgwire
