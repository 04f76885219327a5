#include "server/pgwire/session_parameters.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/config.h"
#include "common/lsn.h"

namespace freshet::server::pgwire {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::array kReported = {
    std::string_view("application_name"),
    std::string_view("client_encoding"),
    std::string_view("DateStyle"),
    std::string_view("default_transaction_read_only"),
    std::string_view("in_hot_standby"),
    std::string_view("integer_datetimes"),
    std::string_view("IntervalStyle"),
    std::string_view("is_superuser"),
    std::string_view("server_encoding"),
    std::string_view("server_version"),
    std::string_view("session_authorization"),
    std::string_view("standard_conforming_strings"),
    std::string_view("TimeZone"),
};

// Parameter names are case-insensitive; values_ keys are lower case, display names kept here.
std::string DisplayName(std::string_view lower) {
  for (std::string_view name : kReported) {
    if (Lower(name) == lower) return std::string(name);
  }
  return std::string(lower);
}

bool IsUtc(std::string_view value) {
  std::string v = Lower(value);
  return v == "utc" || v == "etc/utc" || v == "gmt" || v == "z" || v == "zulu" || v == "+00" ||
         v == "0" || v == "+00:00" || v == "utc0";
}

}  // namespace

SessionParameters::SessionParameters(std::string user, std::string server_version,
                                     std::chrono::milliseconds statement_timeout)
    : statement_timeout_(statement_timeout), default_statement_timeout_(statement_timeout) {
  defaults_ = {
      {"application_name", ""},
      {"client_encoding", "UTF8"},
      {"datestyle", "ISO, MDY"},
      {"default_transaction_read_only", "on"},
      {"in_hot_standby", "off"},
      {"integer_datetimes", "on"},
      {"intervalstyle", "postgres"},
      {"is_superuser", "off"},
      {"server_encoding", "UTF8"},
      {"server_version", std::move(server_version)},
      {"session_authorization", user},
      {"standard_conforming_strings", "on"},
      {"timezone", "UTC"},
      {"extra_float_digits", "1"},
      {"search_path", "\"$user\", public"},
      {"statement_timeout", std::to_string(statement_timeout.count())},
      {"transaction_isolation", "repeatable read"},
      {"default_transaction_isolation", "repeatable read"},
      {"transaction_read_only", "on"},
      {"max_identifier_length", "63"},
      {"lc_messages", "C"},
      {"lc_monetary", "C"},
      {"lc_numeric", "C"},
      {"lc_time", "C"},
      {"bytea_output", "hex"},
      {"client_min_messages", "notice"},
      {"freshet.snapshot", "latest"},
  };
  values_ = defaults_;
}

bool SessionParameters::Knows(std::string_view name) const { return values_.contains(Lower(name)); }

bool SessionParameters::IsReported(std::string_view name) {
  std::string lower = Lower(name);
  return std::any_of(kReported.begin(), kReported.end(),
                     [&](std::string_view n) { return Lower(n) == lower; });
}

Status SessionParameters::ApplyStartup(std::string_view name, std::string_view value) {
  std::string lower = Lower(name);
  // Startup packets carry connection settings, not parameters; libpq and drivers send these.
  if (lower == "user" || lower == "database" || lower == "replication" || lower == "options") {
    return Status::Ok();
  }
  if (!Knows(lower))
    return Status::Ok();  // drivers send extras (e.g. JDBC's assumeMinServerVersion)
  return Set(lower, value);
}

Status SessionParameters::Set(std::string_view name, std::string_view value) {
  std::string lower = Lower(name);
  auto it = values_.find(lower);
  if (it == values_.end()) {
    return Status::NotFound("unrecognized configuration parameter \"{}\"", name);
  }
  std::string v(value);
  if (lower == "client_encoding") {
    std::string enc = Lower(v);
    if (enc != "utf8" && enc != "utf-8" && enc != "unicode") {
      return Status::InvalidArgument("freshet supports only client_encoding UTF8, not \"{}\"", v);
    }
    v = "UTF8";
  } else if (lower == "timezone") {
    if (!IsUtc(v)) {
      return Status::InvalidArgument(
          "freshet sessions run in UTC; TimeZone \"{}\" is not supported (timestamptz values "
          "are returned in UTC)",
          v);
    }
    v = "UTC";
  } else if (lower == "datestyle") {
    if (Lower(v).find("iso") == std::string::npos) {
      return Status::InvalidArgument("freshet supports only DateStyle ISO, not \"{}\"", v);
    }
    v = "ISO, MDY";
  } else if (lower == "intervalstyle" && Lower(v) != "postgres") {
    return Status::InvalidArgument("freshet supports only IntervalStyle postgres");
  } else if (lower == "standard_conforming_strings" && Lower(v) != "on") {
    return Status::InvalidArgument("freshet supports only standard_conforming_strings on");
  } else if (lower == "statement_timeout") {
    std::chrono::milliseconds timeout{0};
    bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
    if (digits) {
      timeout = std::chrono::milliseconds(std::stoll(v));
    } else {
      auto parsed = ParseDuration(v);
      if (!parsed.ok()) {
        return Status::InvalidArgument("invalid value for statement_timeout: \"{}\"", v);
      }
      timeout = *parsed;
    }
    statement_timeout_ = timeout;
    v = std::to_string(timeout.count());
  } else if (lower == "freshet.snapshot") {
    if (Lower(v) == "latest") {
      v = "latest";
    } else {
      auto lsn = Lsn::Parse(v);
      if (!lsn.ok()) {
        return Status::InvalidArgument(
            "invalid value for freshet.snapshot: \"{}\"; write 'latest' or a source LSN such as "
            "'0/16B3748'",
            v);
      }
      v = lsn->ToString();
    }
  } else if (lower == "server_version" || lower == "server_encoding" ||
             lower == "integer_datetimes" || lower == "is_superuser" ||
             lower == "session_authorization" || lower == "in_hot_standby" ||
             lower == "max_identifier_length") {
    return Status::InvalidArgument("parameter \"{}\" cannot be changed", name);
  }
  it->second = v;
  return Status::Ok();
}

Status SessionParameters::Reset(std::string_view name) {
  std::string lower = Lower(name);
  if (lower == "all") {
    values_ = defaults_;
    statement_timeout_ = default_statement_timeout_;
    return Status::Ok();
  }
  auto it = defaults_.find(lower);
  if (it == defaults_.end()) {
    return Status::NotFound("unrecognized configuration parameter \"{}\"", name);
  }
  values_[lower] = it->second;
  if (lower == "statement_timeout") statement_timeout_ = default_statement_timeout_;
  return Status::Ok();
}

Result<std::string> SessionParameters::Show(std::string_view name) const {
  auto it = values_.find(Lower(name));
  if (it == values_.end()) {
    return Status::NotFound("unrecognized configuration parameter \"{}\"", name);
  }
  if (it->first == "statement_timeout") {
    return statement_timeout_.count() == 0 ? std::string("0")
                                           : fmt::format("{}ms", statement_timeout_.count());
  }
  return it->second;
}

std::vector<std::pair<std::string, std::string>> SessionParameters::Reported() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view name : kReported) {
    out.emplace_back(std::string(name), values_.at(Lower(name)));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> SessionParameters::All() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : values_) out.emplace_back(DisplayName(name), value);
  return out;
}

}  // namespace freshet::server::pgwire
