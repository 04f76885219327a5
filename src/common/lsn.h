#pragma once

// Lsn: a PostgreSQL write-ahead log position, a 64-bit byte offset into the WAL.
// PostgreSQL prints it as two hexadecimal 32-bit halves, "16/B374D848"; Parse and ToString
// use that form. 0/0 is PostgreSQL's InvalidXLogRecPtr. Plain value type, thread-compatible.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/result.h"

namespace freshet {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Accepts "X/Y" with 1-8 hex digits on each side, upper or lower case, as PostgreSQL's
  // pg_lsn input does. Anything else is InvalidArgument naming the text.
  static Result<Lsn> Parse(std::string_view text);

  static constexpr Lsn Invalid() { return Lsn(0); }

  constexpr uint64_t value() const { return value_; }
  constexpr bool IsValid() const { return value_ != 0; }
  std::string ToString() const;

  friend constexpr auto operator<=>(Lsn, Lsn) = default;  // NOLINT(modernize-use-nullptr)

  // Saturating: an LSN never wraps past the ends of the 64-bit space.
  Lsn operator+(uint64_t bytes) const;
  Lsn operator-(uint64_t bytes) const;
  // Signed distance in bytes, as pg_wal_lsn_diff(a, b).
  friend int64_t operator-(Lsn a, Lsn b) { return static_cast<int64_t>(a.value_ - b.value_); }

 private:
  uint64_t value_ = 0;
};

}  // namespace freshet

template <>
struct fmt::formatter<freshet::Lsn> : fmt::formatter<std::string_view> {
  auto format(freshet::Lsn lsn, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(lsn.ToString(), ctx);
  }
};
