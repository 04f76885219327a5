#pragma once

// The PostgreSQL run-time parameters of one session (application_name, DateStyle, TimeZone,
// statement_timeout, ...): what SHOW answers, what SET may change, and which changes the
// client must hear about through ParameterStatus. DuckDB never sees these: the gateway's
// DuckDB settings are fixed when the session starts. Thread-compatible.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace freshet::server::pgwire {

class SessionParameters {
 public:
  SessionParameters(std::string user, std::string server_version,
                    std::chrono::milliseconds statement_timeout);

  // Applies a startup-packet option (application_name, client_encoding, DateStyle, options
  // are ignored when unknown, as PostgreSQL ignores unknown GUCs sent by drivers... except
  // it does not: unknown names there are errors, which we return too).
  Status ApplyStartup(std::string_view name, std::string_view value);

  // SET name = value. InvalidArgument (22023) for a value freshet cannot honour, NotFound
  // (42704) for an unknown parameter.
  Status Set(std::string_view name, std::string_view value);
  Status Reset(std::string_view name);
  // SHOW name; NotFound when unknown.
  Result<std::string> Show(std::string_view name) const;
  bool Knows(std::string_view name) const;

  // Parameters sent as ParameterStatus after authentication, in order.
  std::vector<std::pair<std::string, std::string>> Reported() const;
  // Whether changing `name` is reported to the client with ParameterStatus.
  static bool IsReported(std::string_view name);

  std::chrono::milliseconds statement_timeout() const { return statement_timeout_; }
  // Every parameter with its value, for SHOW ALL.
  std::vector<std::pair<std::string, std::string>> All() const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> defaults_;
  std::chrono::milliseconds statement_timeout_;
  std::chrono::milliseconds default_statement_timeout_;
};

}  // namespace freshet::server::pgwire
