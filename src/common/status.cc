#include "common/status.h"

#include <cerrno>
#include <cstring>
#include <ostream>

namespace freshet {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kConflict:
      return "Conflict";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kTimeout:
      return "Timeout";
    case Code::kCancelled:
      return "Cancelled";
    case Code::kNotSupported:
      return "NotSupported";
    case Code::kPermissionDenied:
      return "PermissionDenied";
    case Code::kInternal:
      return "Internal";
  }
  return "Unknown";
}

Status::Status(Code code, std::string message) {
  // An OK status has no state; a "successful" status with a message would compare unequal
  // to Status() and confuse callers, so the message is dropped.
  if (code != Code::kOk) state_ = std::make_unique<State>(State{code, std::move(message)});
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  return *this;
}

Status Status::FromErrno(int error_number, std::string_view what) {
  std::string message = fmt::format("{}: {}", what, std::strerror(error_number));
  switch (error_number) {
    case ENOENT:
      return {Code::kNotFound, std::move(message)};
    case EEXIST:
      return {Code::kAlreadyExists, std::move(message)};
    case EACCES:
    case EPERM:
      return {Code::kPermissionDenied, std::move(message)};
    default:
      return {Code::kIOError, std::move(message)};
  }
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

Status Status::WithContext(std::string_view context) const& {
  Status copy = *this;
  return std::move(copy).WithContext(context);
}

Status Status::WithContext(std::string_view context) && {
  if (state_) state_->message = fmt::format("{}: {}", context, state_->message);
  return std::move(*this);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", CodeName(state_->code), state_->message);
}

std::ostream& operator<<(std::ostream& out, const Status& status) {
  return out << status.ToString();
}

}  // namespace freshet
