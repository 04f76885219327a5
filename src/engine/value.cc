#include "engine/value.h"

#include <fmt/format.h>

namespace freshet::engine {
namespace {

std::string Int128ToString(Int128 value) {
  if (value == 0) return "0";
  bool negative = value < 0;
  // Work in unsigned space so the most negative value does not overflow on negation.
  UInt128 magnitude =
      negative ? static_cast<UInt128>(-(value + 1)) + 1 : static_cast<UInt128>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  return negative ? "-" + digits : digits;
}

std::string DecimalToString(const Decimal& d) {
  std::string digits = Int128ToString(d.unscaled);
  bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  if (d.scale == 0) return (negative ? "-" : "") + digits;
  if (digits.size() <= d.scale) digits.insert(0, d.scale - digits.size() + 1, '0');
  digits.insert(digits.size() - d.scale, ".");
  return (negative ? "-" : "") + digits;
}

}  // namespace

const Value* Value::Field(std::string_view name) const {
  if (kind != Kind::kStruct && kind != Kind::kMap) return nullptr;
  for (const auto& [key, value] : fields()) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string Value::ToString() const {
  switch (kind) {
    case Kind::kNull:
      return "NULL";
    case Kind::kBool:
      return integer() != 0 ? "true" : "false";
    case Kind::kInt:
    case Kind::kDate:
    case Kind::kTime:
    case Kind::kTimestamp:
    case Kind::kTimestampTz:
      return std::to_string(integer());
    case Kind::kUInt:
      return std::to_string(unsigned_integer());
    case Kind::kDouble:
      return fmt::format("{}", real());
    case Kind::kString:
      return "'" + string() + "'";
    case Kind::kBlob:
      return fmt::format("blob({} bytes)", string().size());
    case Kind::kDecimal:
      return DecimalToString(decimal());
    case Kind::kHugeInt:
      return Int128ToString(decimal().unscaled);
    case Kind::kList: {
      std::string out = "[";
      for (const auto& item : list()) out += (out.size() > 1 ? ", " : "") + item.ToString();
      return out + "]";
    }
    case Kind::kStruct:
    case Kind::kMap: {
      std::string out = "{";
      for (const auto& [key, value] : fields()) {
        out += fmt::format("{}{}: {}", out.size() > 1 ? ", " : "", key, value.ToString());
      }
      return out + "}";
    }
  }
  return "?";
}

}  // namespace freshet::engine
