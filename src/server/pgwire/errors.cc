#include "server/pgwire/errors.h"

#include <array>
#include <utility>

#include <fmt/format.h>

namespace freshet::server::pgwire {
namespace {

struct MessageRule {
  std::string_view prefix;
  std::string_view sqlstate;
};

// Checked in order; the first prefix the message starts with wins.
constexpr std::array kRules = {
    // The gateway's own errors use the same "<Class> Error: " form.
    MessageRule{"Read-only Error", sqlstate::kReadOnlyTransaction},
    MessageRule{"Privilege Error", sqlstate::kInsufficientPrivilege},
    MessageRule{"Parameter Error", sqlstate::kUndefinedObject},
    MessageRule{"Setting Error", sqlstate::kInvalidParameterValue},
    MessageRule{"Canceled Error", sqlstate::kQueryCanceled},
    MessageRule{"Shutdown Error", sqlstate::kAdminShutdown},
    MessageRule{"Statement Error", sqlstate::kInvalidSqlStatementName},
    MessageRule{"Portal Error", sqlstate::kInvalidCursorName},
    MessageRule{"Protocol Error", sqlstate::kProtocolViolation},
    MessageRule{"Format Error", sqlstate::kFeatureNotSupported},
    MessageRule{"Binary Error", sqlstate::kInvalidBinaryRepresentation},
    MessageRule{"Time Travel Error", sqlstate::kInvalidParameterValue},
    MessageRule{"Parser Error", sqlstate::kSyntaxError},
    MessageRule{"Catalog Error: Table with name", sqlstate::kUndefinedTable},
    MessageRule{"Catalog Error: Table Function with name", sqlstate::kUndefinedFunction},
    MessageRule{"Catalog Error: Scalar Function with name", sqlstate::kUndefinedFunction},
    MessageRule{"Catalog Error: Schema with name", "3F000"},
    MessageRule{"Catalog Error", sqlstate::kUndefinedObject},
    MessageRule{"Binder Error: Referenced column", sqlstate::kUndefinedColumn},
    MessageRule{"Binder Error: Values list", sqlstate::kUndefinedColumn},
    MessageRule{"Binder Error: No function matches", sqlstate::kUndefinedFunction},
    MessageRule{"Binder Error", "42P18"},
    MessageRule{"Conversion Error", sqlstate::kInvalidTextRepresentation},
    MessageRule{"Out of Range Error", sqlstate::kNumericOutOfRange},
    MessageRule{"Invalid Input Error: Current transaction is aborted",
                sqlstate::kInFailedTransaction},
    MessageRule{"Invalid Input Error", sqlstate::kDataException},
    MessageRule{"Permission Error", sqlstate::kInsufficientPrivilege},
    MessageRule{"Out of Memory Error", sqlstate::kOutOfMemory},
    MessageRule{"Interrupt Error", sqlstate::kQueryCanceled},
    MessageRule{"INTERRUPT Error", sqlstate::kQueryCanceled},
    MessageRule{"Not implemented Error", sqlstate::kFeatureNotSupported},
    MessageRule{"Transaction Error", "25000"},
};

std::string_view StateForCode(Code code) {
  switch (code) {
    case Code::kInvalidArgument:
      return sqlstate::kDataException;
    case Code::kNotFound:
      return sqlstate::kUndefinedObject;
    case Code::kCancelled:
      return sqlstate::kQueryCanceled;
    case Code::kTimeout:
      return sqlstate::kQueryCanceled;
    case Code::kNotSupported:
      return sqlstate::kFeatureNotSupported;
    case Code::kPermissionDenied:
      return sqlstate::kInsufficientPrivilege;
    case Code::kCorruption:
      return sqlstate::kProtocolViolation;
    default:
      return sqlstate::kInternalError;
  }
}

// "Parser Error: syntax error at or near "SELEC"\n\nLINE 1: ... (while running: SELEC 1)" →
// "syntax error at or near "SELEC"".
std::string CleanMessage(std::string_view message) {
  size_t echo = message.find(" (while running: ");
  if (echo != std::string_view::npos) message = message.substr(0, echo);
  size_t newline = message.find('\n');
  if (newline != std::string_view::npos) message = message.substr(0, newline);
  size_t colon = message.find(" Error: ");
  if (colon != std::string_view::npos && colon < 30) message.remove_prefix(colon + 8);
  return std::string(message);
}

}  // namespace

ErrorFields MakeError(std::string_view state, std::string message) {
  ErrorFields error;
  error.sqlstate = std::string(state);
  error.message = std::move(message);
  return error;
}

ErrorFields ErrorFromStatus(const Status& status) {
  const std::string& message = status.message();
  std::string_view state = StateForCode(status.code());
  for (const auto& rule : kRules) {
    if (std::string_view(message).starts_with(rule.prefix)) {
      state = rule.sqlstate;
      break;
    }
  }
  std::string text = CleanMessage(message);
  // PostgreSQL's wording, which tools match on: relation "x" does not exist.
  static constexpr std::string_view kTable = "Table with name ";
  if (state == sqlstate::kUndefinedTable && text.starts_with(kTable)) {
    size_t end = text.find(" does not exist");
    if (end != std::string::npos) {
      text = fmt::format("relation \"{}\" does not exist",
                         text.substr(kTable.size(), end - kTable.size()));
    }
  }
  return MakeError(state, std::move(text));
}

}  // namespace freshet::server::pgwire
