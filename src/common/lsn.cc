#include "common/lsn.h"

#include <limits>

namespace freshet {
namespace {

// Parses 1-8 hex digits; returns false on anything else.
bool ParseHalf(std::string_view digits, uint32_t* out) {
  if (digits.empty() || digits.size() > 8) return false;
  uint32_t value = 0;
  for (char c : digits) {
    uint32_t nibble = 0;
    if (c >= '0' && c <= '9') {
      nibble = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      nibble = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      nibble = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    value = (value << 4) | nibble;
  }
  *out = value;
  return true;
}

}  // namespace

Result<Lsn> Lsn::Parse(std::string_view text) {
  size_t slash = text.find('/');
  uint32_t high = 0;
  uint32_t low = 0;
  if (slash == std::string_view::npos || !ParseHalf(text.substr(0, slash), &high) ||
      !ParseHalf(text.substr(slash + 1), &low)) {
    return Status::InvalidArgument(
        "'{}' is not an LSN; expected two hexadecimal numbers separated by '/', like 16/B374D848",
        text);
  }
  return Lsn((static_cast<uint64_t>(high) << 32) | low);
}

std::string Lsn::ToString() const {
  return fmt::format("{:X}/{:X}", value_ >> 32, value_ & 0xFFFFFFFFu);
}

Lsn Lsn::operator+(uint64_t bytes) const {
  uint64_t max = std::numeric_limits<uint64_t>::max();
  return Lsn(bytes > max - value_ ? max : value_ + bytes);
}

Lsn Lsn::operator-(uint64_t bytes) const { return Lsn(bytes > value_ ? 0 : value_ - bytes); }

}  // namespace freshet
