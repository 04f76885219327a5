#pragma once

// Status and Result<T>: how errors travel between freshet functions.
//
// A Status is OK or carries a Code and a message. OK costs one null pointer, so returning
// success is free. The Code, never the message text, decides what a caller does next (retry,
// skip, stop); the message says what went wrong and, for user-facing errors, how to fix it.
// Both types are [[nodiscard]]: dropping an error is a compile error under -Werror.
// Thread-compatible: distinct objects may be used from distinct threads.

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace freshet {

enum class Code {
  kOk = 0,
  kInvalidArgument,   // bad input from a user or a caller: config, flags, SQL, arguments
  kNotFound,          // a file, table, slot or key that does not exist
  kAlreadyExists,     // create of something that exists (put-if-absent lost)
  kConflict,          // a concurrent writer took the version we wanted (Delta commit race)
  kCorruption,        // data that violates its format: a bad log line, a checksum mismatch
  kIOError,           // the operating system failed a read or write
  kUnavailable,       // a peer is down or restarting: retry with backoff
  kTimeout,           // a deadline passed: retry may help
  kCancelled,         // shutdown or an explicit cancel
  kNotSupported,      // a valid request freshet does not implement (a table feature, a type)
  kPermissionDenied,  // authentication failed or a privilege is missing: retrying will not help
  kInternal,          // a peer or library reported something that should not happen
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status Ok() { return {}; }

#define FRESHET_STATUS_FACTORY(Name)                                          \
  template <typename... Args>                                                 \
  static Status Name(fmt::format_string<Args...> format, Args&&... args) {    \
    return {Code::k##Name, fmt::format(format, std::forward<Args>(args)...)}; \
  }
  FRESHET_STATUS_FACTORY(InvalidArgument)
  FRESHET_STATUS_FACTORY(NotFound)
  FRESHET_STATUS_FACTORY(AlreadyExists)
  FRESHET_STATUS_FACTORY(Conflict)
  FRESHET_STATUS_FACTORY(Corruption)
  FRESHET_STATUS_FACTORY(IOError)
  FRESHET_STATUS_FACTORY(Unavailable)
  FRESHET_STATUS_FACTORY(Timeout)
  FRESHET_STATUS_FACTORY(Cancelled)
  FRESHET_STATUS_FACTORY(NotSupported)
  FRESHET_STATUS_FACTORY(PermissionDenied)
  FRESHET_STATUS_FACTORY(Internal)
#undef FRESHET_STATUS_FACTORY

  // An IOError from errno, naming what was being done: "open /x/y: No such file or directory".
  // ENOENT becomes NotFound and EEXIST AlreadyExists, since callers branch on those.
  static Status FromErrno(int error_number, std::string_view what);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  bool Is(Code code) const { return this->code() == code; }
  // Unavailable and Timeout: the same call may succeed later.
  bool IsRetryable() const { return Is(Code::kUnavailable) || Is(Code::kTimeout); }
  const std::string& message() const;

  // Prefixes the message with what the caller was doing: "reading _delta_log/00.json: ...".
  // No-op on OK.
  Status WithContext(std::string_view context) const&;
  Status WithContext(std::string_view context) &&;

  // "InvalidArgument: message", or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    Code code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

std::ostream& operator<<(std::ostream& out, const Status& status);

}  // namespace freshet

template <>
struct fmt::formatter<freshet::Status> : fmt::formatter<std::string_view> {
  auto format(const freshet::Status& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.ToString(), ctx);
  }
};
