#include "pg/types.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/wire.h"
#include "pg/connection.h"

namespace freshet::pg {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000LL;
constexpr int64_t kEpochShiftDays = 10'957;  // 1970-01-01 .. 2000-01-01

bool IsBuiltinScalar(uint32_t type) {
  switch (type) {
    case oid::kBool:
    case oid::kBytea:
    case oid::kChar:
    case oid::kName:
    case oid::kInt8:
    case oid::kInt2:
    case oid::kInt4:
    case oid::kText:
    case oid::kOid:
    case oid::kJson:
    case oid::kFloat4:
    case oid::kFloat8:
    case oid::kMoney:
    case oid::kMacaddr:
    case oid::kInet:
    case oid::kCidr:
    case oid::kBpchar:
    case oid::kVarchar:
    case oid::kDate:
    case oid::kTime:
    case oid::kTimestamp:
    case oid::kTimestamptz:
    case oid::kInterval:
    case oid::kTimetz:
    case oid::kNumeric:
    case oid::kUuid:
    case oid::kJsonb:
      return true;
    default:
      return false;
  }
}

// Array type OIDs of the built-ins, to their element type (pg_type.dat).
uint32_t BuiltinArrayElement(uint32_t type) {
  static const std::unordered_map<uint32_t, uint32_t> kArrays = {
      {1000, oid::kBool},        {1001, oid::kBytea},    {1002, oid::kChar},
      {1003, oid::kName},        {1016, oid::kInt8},     {1005, oid::kInt2},
      {1007, oid::kInt4},        {1009, oid::kText},     {1028, oid::kOid},
      {199, oid::kJson},         {1021, oid::kFloat4},   {1022, oid::kFloat8},
      {791, oid::kMoney},        {1040, oid::kMacaddr},  {1041, oid::kInet},
      {651, oid::kCidr},         {1014, oid::kBpchar},   {1015, oid::kVarchar},
      {1182, oid::kDate},        {1183, oid::kTime},     {1115, oid::kTimestamp},
      {1185, oid::kTimestamptz}, {1187, oid::kInterval}, {1270, oid::kTimetz},
      {1231, oid::kNumeric},     {2951, oid::kUuid},     {3807, oid::kJsonb}};
  auto it = kArrays.find(type);
  return it == kArrays.end() ? 0 : it->second;
}

Status Malformed(uint32_t type, std::string_view why) {
  return Status::Corruption("malformed binary value of type OID {}: {}", type, why);
}

Datum Make(DatumKind kind) {
  Datum datum;
  datum.kind = kind;
  return datum;
}

Result<Datum> DecodeNumeric(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(int16_t ndigits, reader.ReadI16());
  FRESHET_ASSIGN_OR_RETURN(int16_t weight, reader.ReadI16());
  FRESHET_ASSIGN_OR_RETURN(uint16_t sign, reader.ReadU16());
  FRESHET_ASSIGN_OR_RETURN(int16_t dscale, reader.ReadI16());
  Datum datum = Make(DatumKind::kNumeric);
  if (sign == 0xC000) datum.special = Special::kNaN;
  if (sign == 0xD000) datum.special = Special::kPositiveInfinity;
  if (sign == 0xF000) datum.special = Special::kNegativeInfinity;
  if (datum.special != Special::kFinite) return datum;
  if (ndigits < 0 || dscale < 0 || (sign != 0 && sign != 0x4000)) {
    return Malformed(oid::kNumeric, "bad header");
  }
  std::vector<int16_t> digits(static_cast<size_t>(ndigits));
  for (int16_t& digit : digits) {
    FRESHET_ASSIGN_OR_RETURN(digit, reader.ReadI16());
    if (digit < 0 || digit > 9999) return Malformed(oid::kNumeric, "digit out of range");
  }
  auto group = [&](int index) -> int {
    return index >= 0 && index < ndigits ? digits[static_cast<size_t>(index)] : 0;
  };
  std::string& out = datum.s;
  if (sign == 0x4000) out.push_back('-');
  if (weight < 0) {
    out.push_back('0');
  } else {
    out += std::to_string(group(0));
    for (int d = 1; d <= weight; ++d) out += fmt::format("{:04d}", group(d));
  }
  if (dscale > 0) {
    out.push_back('.');
    std::string fraction;
    for (int j = 1; static_cast<int>(fraction.size()) < dscale; ++j) {
      fraction += fmt::format("{:04d}", group(weight + j));
    }
    out.append(fraction, 0, static_cast<size_t>(dscale));
  }
  return datum;
}

Result<Datum> DecodeInet(WireReader& reader, bool cidr_type) {
  FRESHET_ASSIGN_OR_RETURN(uint8_t family, reader.ReadU8());
  FRESHET_ASSIGN_OR_RETURN(uint8_t bits, reader.ReadU8());
  FRESHET_ASSIGN_OR_RETURN(uint8_t is_cidr, reader.ReadU8());
  FRESHET_ASSIGN_OR_RETURN(uint8_t length, reader.ReadU8());
  // PGSQL_AF_INET is 2 and PGSQL_AF_INET6 3 on the wire, whatever the platform's AF_ values.
  size_t expected = family == 2 ? 4 : family == 3 ? 16 : 0;
  if (expected == 0 || length != expected || bits > expected * 8) {
    return Malformed(cidr_type ? oid::kCidr : oid::kInet, "bad address header");
  }
  FRESHET_ASSIGN_OR_RETURN(std::string_view address, reader.ReadBytes(length));
  Datum datum = Make(DatumKind::kInet);
  datum.s.assign(address);
  datum.prefix_bits = bits;
  datum.cidr = is_cidr != 0 || cidr_type;
  return datum;
}

Result<Datum> DecodeArray(WireReader& reader, uint32_t type, const TypeRegistry& registry);
Result<Datum> DecodeComposite(WireReader& reader, const TypeRegistry& registry);

Result<Datum> DecodeScalar(std::string_view bytes, uint32_t type, const TypeRegistry& registry) {
  WireReader reader(bytes, "binary value");
  Datum datum;
  switch (type) {
    case oid::kBool: {
      datum.kind = DatumKind::kBool;
      FRESHET_ASSIGN_OR_RETURN(uint8_t b, reader.ReadU8());
      datum.i = b != 0;
      break;
    }
    case oid::kInt2: {
      datum.kind = DatumKind::kInt;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadI16());
      break;
    }
    case oid::kInt4: {
      datum.kind = DatumKind::kInt;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadI32());
      break;
    }
    case oid::kOid: {
      datum.kind = DatumKind::kInt;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadU32());
      break;
    }
    case oid::kInt8:
    case oid::kMoney: {
      datum.kind = type == oid::kMoney ? DatumKind::kMoney : DatumKind::kInt;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadI64());
      break;
    }
    case oid::kFloat4: {
      datum.kind = DatumKind::kFloat4;
      FRESHET_ASSIGN_OR_RETURN(uint32_t raw, reader.ReadU32());
      float value;
      std::memcpy(&value, &raw, sizeof(value));
      datum.f = value;
      break;
    }
    case oid::kFloat8: {
      datum.kind = DatumKind::kFloat8;
      FRESHET_ASSIGN_OR_RETURN(uint64_t raw, reader.ReadU64());
      std::memcpy(&datum.f, &raw, sizeof(datum.f));
      break;
    }
    case oid::kNumeric: {
      FRESHET_ASSIGN_OR_RETURN(datum, DecodeNumeric(reader));
      break;
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kChar:
      datum.kind = DatumKind::kString;
      datum.s.assign(reader.ReadRest());
      break;
    case oid::kBytea:
      datum.kind = DatumKind::kBytes;
      datum.s.assign(reader.ReadRest());
      break;
    case oid::kJson:
      datum.kind = DatumKind::kJson;
      datum.s.assign(reader.ReadRest());
      break;
    case oid::kJsonb: {
      FRESHET_ASSIGN_OR_RETURN(uint8_t version, reader.ReadU8());
      if (version != 1) return Malformed(type, fmt::format("jsonb version {}", version));
      datum.kind = DatumKind::kJson;
      datum.s.assign(reader.ReadRest());
      break;
    }
    case oid::kDate: {
      datum.kind = DatumKind::kDate;
      FRESHET_ASSIGN_OR_RETURN(int32_t days, reader.ReadI32());
      if (days == INT32_MAX) datum.special = Special::kPositiveInfinity;
      if (days == INT32_MIN) datum.special = Special::kNegativeInfinity;
      datum.i = days;
      break;
    }
    case oid::kTime: {
      datum.kind = DatumKind::kTime;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadI64());
      break;
    }
    case oid::kTimetz: {
      datum.kind = DatumKind::kTimeTz;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadI64());
      FRESHET_ASSIGN_OR_RETURN(int32_t west, reader.ReadI32());
      datum.zone = -west;  // PostgreSQL stores seconds west of UTC
      break;
    }
    case oid::kTimestamp:
    case oid::kTimestamptz: {
      datum.kind = type == oid::kTimestamp ? DatumKind::kTimestamp : DatumKind::kTimestampTz;
      FRESHET_ASSIGN_OR_RETURN(int64_t micros, reader.ReadI64());
      if (micros == INT64_MAX) datum.special = Special::kPositiveInfinity;
      if (micros == INT64_MIN) datum.special = Special::kNegativeInfinity;
      datum.i = micros;
      break;
    }
    case oid::kInterval: {
      datum.kind = DatumKind::kInterval;
      FRESHET_ASSIGN_OR_RETURN(datum.i, reader.ReadI64());
      FRESHET_ASSIGN_OR_RETURN(datum.days, reader.ReadI32());
      FRESHET_ASSIGN_OR_RETURN(datum.months, reader.ReadI32());
      break;
    }
    case oid::kUuid: {
      datum.kind = DatumKind::kUuid;
      FRESHET_ASSIGN_OR_RETURN(std::string_view raw, reader.ReadBytes(16));
      datum.s.assign(raw);
      break;
    }
    case oid::kInet:
    case oid::kCidr: {
      FRESHET_ASSIGN_OR_RETURN(datum, DecodeInet(reader, type == oid::kCidr));
      break;
    }
    case oid::kMacaddr: {
      datum.kind = DatumKind::kMacaddr;
      FRESHET_ASSIGN_OR_RETURN(std::string_view raw, reader.ReadBytes(6));
      datum.s.assign(raw);
      break;
    }
    default: {
      const TypeEntry* entry = registry.Find(type);
      if (entry != nullptr && entry->typtype == 'e') {
        datum.kind = DatumKind::kString;  // an enum's binary form is its label
        datum.s.assign(reader.ReadRest());
        break;
      }
      if (entry != nullptr && entry->typtype == 'c') {
        FRESHET_ASSIGN_OR_RETURN(datum, DecodeComposite(reader, registry));
        break;
      }
      return Status::NotSupported(
          "no binary decoder for type OID {}{}: the stream should have asked for text", type,
          entry ? " (" + entry->name + ")" : "");
    }
  }
  if (!reader.empty()) {
    return Malformed(type, fmt::format("{} bytes left over", reader.remaining()));
  }
  return datum;
}

Result<Datum> DecodeArray(WireReader& reader, uint32_t type, const TypeRegistry& registry) {
  FRESHET_ASSIGN_OR_RETURN(int32_t ndim, reader.ReadI32());
  FRESHET_ASSIGN_OR_RETURN(int32_t flags, reader.ReadI32());
  (void)flags;  // has-nulls; each element says so itself
  FRESHET_ASSIGN_OR_RETURN(uint32_t element_type, reader.ReadU32());
  // PostgreSQL's MAXDIM is 6.
  if (ndim < 0 || ndim > 6) return Malformed(type, fmt::format("{} dimensions", ndim));
  Datum datum = Make(DatumKind::kArray);
  datum.element_type = element_type;
  int64_t count = ndim == 0 ? 0 : 1;
  for (int32_t d = 0; d < ndim; ++d) {
    FRESHET_ASSIGN_OR_RETURN(int32_t size, reader.ReadI32());
    FRESHET_ASSIGN_OR_RETURN(int32_t lower, reader.ReadI32());
    if (size < 0) return Malformed(type, "negative dimension");
    datum.dims.push_back(size);
    datum.lower_bounds.push_back(lower);
    count *= size;
    // Each element takes at least its 4-byte length: reject counts the bytes cannot hold.
    if (count > static_cast<int64_t>(reader.remaining() / 4)) {
      return Malformed(type, "more elements than bytes");
    }
  }
  datum.elements.reserve(static_cast<size_t>(count));
  for (int64_t e = 0; e < count; ++e) {
    bool is_null = false;
    FRESHET_ASSIGN_OR_RETURN(std::string_view bytes, reader.ReadCountedBytes(&is_null));
    if (is_null) {
      datum.elements.push_back(Datum{});
      continue;
    }
    FRESHET_ASSIGN_OR_RETURN(Datum element, DecodeBinary(bytes, element_type, registry));
    datum.elements.push_back(std::move(element));
  }
  return datum;
}

// record_send: Int32 field count, then per field its type OID and a counted value. Freshet
// keeps composites as their text form (docs/types.md).
Result<Datum> DecodeComposite(WireReader& reader, const TypeRegistry& registry) {
  FRESHET_ASSIGN_OR_RETURN(int32_t count, reader.ReadI32());
  if (count < 0 || count > 1664) return Status::Corruption("composite with {} fields", count);
  std::string text = "(";
  for (int32_t field = 0; field < count; ++field) {
    if (field > 0) text.push_back(',');
    FRESHET_ASSIGN_OR_RETURN(uint32_t field_type, reader.ReadU32());
    bool is_null = false;
    FRESHET_ASSIGN_OR_RETURN(std::string_view bytes, reader.ReadCountedBytes(&is_null));
    if (is_null) continue;
    FRESHET_ASSIGN_OR_RETURN(Datum value, DecodeBinary(bytes, field_type, registry));
    std::string item = FormatPostgresText(value);
    bool quote = item.empty();
    for (char c : item) {
      if (c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' ||
          std::isspace(static_cast<unsigned char>(c))) {
        quote = true;
      }
    }
    if (!quote) {
      text += item;
      continue;
    }
    text.push_back('"');
    for (char c : item) {
      if (c == '"' || c == '\\') text.push_back(c);
      text.push_back(c);
    }
    text.push_back('"');
  }
  text.push_back(')');
  Datum datum = Make(DatumKind::kString);
  datum.s = std::move(text);
  return datum;
}

// Proleptic Gregorian calendar from days since 1970-01-01 (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = y + (month <= 2);
}

// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of CivilFromDays).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string FormatDate(int64_t days_since_unix, bool& bc) {  // 1970-01-01 is day 0
  int64_t year;
  unsigned month, day;
  CivilFromDays(days_since_unix, year, month, day);
  bc = year <= 0;
  if (bc) year = 1 - year;  // there is no year 0: 1 BC precedes 1 AD
  return fmt::format("{:04d}-{:02d}-{:02d}", year, month, day);
}

// HH:MM:SS and, when there are any, the microseconds without trailing zeros.
std::string FormatClock(int64_t micros, bool allow_long_hours = false) {
  int64_t hours = micros / 3'600'000'000LL;
  int64_t rest = micros % 3'600'000'000LL;
  std::string out = fmt::format("{:02d}:{:02d}:{:02d}", allow_long_hours ? hours : hours % 24,
                                rest / 60'000'000, (rest / 1'000'000) % 60);
  int64_t fraction = rest % 1'000'000;
  if (fraction != 0) {
    std::string digits = fmt::format("{:06d}", fraction);
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

std::string FormatZone(int32_t seconds_east) {
  char sign = seconds_east < 0 ? '-' : '+';
  int32_t abs = std::abs(seconds_east);
  std::string out = fmt::format("{}{:02d}", sign, abs / 3600);
  if (abs % 3600 != 0) out += fmt::format(":{:02d}", (abs / 60) % 60);
  if (abs % 60 != 0) out += fmt::format(":{:02d}", abs % 60);
  return out;
}

std::string FormatTimestamp(const Datum& datum, bool with_zone) {
  if (datum.special == Special::kPositiveInfinity) return "infinity";
  if (datum.special == Special::kNegativeInfinity) return "-infinity";
  // Floor division without overflow, even for hostile values near the ends of int64.
  int64_t days = datum.i / kMicrosPerDay;
  int64_t micros = datum.i % kMicrosPerDay;
  if (micros < 0) {
    micros += kMicrosPerDay;
    --days;
  }
  bool bc = false;
  std::string out = FormatDate(days + kEpochShiftDays, bc) + " " + FormatClock(micros);
  if (with_zone) out += "+00";
  if (bc) out += " BC";
  return out;
}

// float4out/float8out with extra_float_digits = 1 (the default): the shortest digits that
// read back exactly, printed %g-style: exponent form below 1e-4 and from 1e6 (float4) or
// 1e15 (float8) up, with at least two exponent digits.
std::string FormatFloat(double value, bool single) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  char buffer[64];
  auto result =
      single ? std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(value),
                             std::chars_format::scientific)
             : std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string sci(buffer, result.ptr);
  size_t e = sci.find('e');
  int exponent = std::stoi(sci.substr(e + 1));
  std::string mantissa = sci.substr(0, e);
  bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  int limit = single ? 6 : 15;
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= limit) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    size_t point = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= point) {
      out += digits + std::string(point - digits.size(), '0');
    } else {
      out += digits.substr(0, point) + "." + digits.substr(point);
    }
  }
  return out;
}

std::string FormatInterval(const Datum& datum) {
  std::string out;
  bool is_zero = true;
  bool is_before = false;
  auto part = [&](int64_t value, std::string_view unit) {
    if (value == 0) return;
    out += fmt::format("{}{}{} {}{}", is_zero ? "" : " ", is_before && value > 0 ? "+" : "", value,
                       unit, value != 1 ? "s" : "");
    is_before = value < 0;
    is_zero = false;
  };
  part(datum.months / 12, "year");
  part(datum.months % 12, "mon");
  part(datum.days, "day");
  if (datum.i != 0 || is_zero) {
    bool minus = datum.i < 0;
    uint64_t magnitude =
        minus ? 0 - static_cast<uint64_t>(datum.i) : static_cast<uint64_t>(datum.i);
    out += fmt::format("{}{}", is_zero ? "" : " ", minus ? "-" : (is_before ? "+" : ""));
    out += FormatClock(static_cast<int64_t>(magnitude), /*allow_long_hours=*/true);
  }
  return out;
}

std::string FormatMoney(int64_t cents) {
  uint64_t magnitude = cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  std::string whole = std::to_string(magnitude / 100);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  return fmt::format("{}${}.{:02d}", cents < 0 ? "-" : "", grouped, magnitude % 100);
}

std::string FormatInet(const Datum& datum) {
  char buffer[INET6_ADDRSTRLEN] = {};
  int family = datum.s.size() == 4 ? AF_INET : AF_INET6;
  if (inet_ntop(family, datum.s.data(), buffer, sizeof(buffer)) == nullptr) return "?";
  std::string out = buffer;
  unsigned max_bits = datum.s.size() == 4 ? 32 : 128;
  if (datum.cidr || datum.prefix_bits != max_bits) out += fmt::format("/{}", datum.prefix_bits);
  return out;
}

bool ArrayElementNeedsQuotes(std::string_view text) {
  if (text.empty()) return true;
  if (text.size() == 4 && (text[0] == 'N' || text[0] == 'n') &&
      (text[1] == 'U' || text[1] == 'u') && (text[2] == 'L' || text[2] == 'l') &&
      (text[3] == 'L' || text[3] == 'l')) {
    return true;
  }
  for (char c : text) {
    if (c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' ||
        std::isspace(static_cast<unsigned char>(c))) {
      return true;
    }
  }
  return false;
}

void FormatArrayLevel(const Datum& datum, size_t level, size_t& next, std::string& out) {
  out.push_back('{');
  for (int32_t i = 0; i < datum.dims[level]; ++i) {
    if (i > 0) out.push_back(',');
    if (level + 1 < datum.dims.size()) {
      FormatArrayLevel(datum, level + 1, next, out);
      continue;
    }
    const Datum& element = datum.elements[next++];
    if (element.kind == DatumKind::kNull) {
      out += "NULL";
      continue;
    }
    std::string text = FormatPostgresText(element);
    if (!ArrayElementNeedsQuotes(text)) {
      out += text;
      continue;
    }
    out.push_back('"');
    for (char c : text) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
}

std::string FormatArray(const Datum& datum) {
  if (datum.dims.empty() || datum.elements.empty()) return "{}";
  std::string out;
  bool default_bounds = true;
  for (int32_t lower : datum.lower_bounds) default_bounds = default_bounds && lower == 1;
  if (!default_bounds) {
    for (size_t d = 0; d < datum.dims.size(); ++d) {
      out +=
          fmt::format("[{}:{}]", datum.lower_bounds[d], datum.lower_bounds[d] + datum.dims[d] - 1);
    }
    out.push_back('=');
  }
  size_t next = 0;
  FormatArrayLevel(datum, 0, next, out);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view LakeTypeName(LakeType type) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "boolean",     "int16",    "int32",  "int64", "float32", "float64",
      "decimal",     "string",   "binary", "date",  "time",    "timestamp",
      "timestamptz", "interval", "uuid",   "json",  "list"};
  return kNames[static_cast<size_t>(type)];
}

const TypeEntry* TypeRegistry::Find(uint32_t type_oid) const {
  auto it = entries_.find(type_oid);
  return it == entries_.end() ? nullptr : &it->second;
}

uint32_t TypeRegistry::Resolve(uint32_t type_oid) const {
  for (int depth = 0; depth < 16; ++depth) {
    const TypeEntry* entry = Find(type_oid);
    if (entry == nullptr || entry->typtype != 'd') return type_oid;
    type_oid = entry->base_type;
  }
  return type_oid;
}

bool TypeRegistry::DecodesBinary(uint32_t type_oid) const {
  type_oid = Resolve(type_oid);
  if (IsBuiltinScalar(type_oid)) return true;
  if (uint32_t element = BuiltinArrayElement(type_oid)) return DecodesBinary(element);
  const TypeEntry* entry = Find(type_oid);
  if (entry == nullptr) return false;
  if (entry->element_type != 0) return DecodesBinary(entry->element_type);
  // Composite fields can be of any type; their binary form names each field's type, so
  // decoding finds out field by field and fails loudly on one it cannot read.
  return entry->typtype == 'e' || entry->typtype == 'c';
}

Status TypeRegistry::Load(Connection& connection, const std::vector<uint32_t>& oids) {
  std::string list;
  for (uint32_t type : oids) {
    if (IsBuiltinScalar(type) || BuiltinArrayElement(type) != 0 || Find(type) != nullptr) continue;
    list += (list.empty() ? "" : ",") + std::to_string(type);
  }
  if (list.empty()) return Status::Ok();
  // Recursive: a domain's base and an array's element may themselves be user types.
  FRESHET_ASSIGN_OR_RETURN(
      Rows rows,
      connection.Query(
          "WITH RECURSIVE t(oid) AS (SELECT unnest(string_to_array($1, ',')::oid[]) UNION "
          "SELECT CASE WHEN p.typtype = 'd' THEN p.typbasetype ELSE p.typelem END FROM pg_type "
          "p JOIN t ON p.oid = t.oid WHERE p.typtype = 'd' OR p.typelem <> 0) "
          "SELECT p.oid, p.typtype, p.typbasetype, CASE WHEN p.typcategory = 'A' THEN p.typelem "
          "ELSE 0 END, format_type(p.oid, NULL) FROM pg_type p WHERE p.oid IN (SELECT oid FROM t)",
          {list}));
  for (int row = 0; row < rows.size(); ++row) {
    FRESHET_ASSIGN_OR_RETURN(int64_t type, rows.GetInt(row, 0));
    FRESHET_ASSIGN_OR_RETURN(int64_t base, rows.GetInt(row, 2));
    FRESHET_ASSIGN_OR_RETURN(int64_t element, rows.GetInt(row, 3));
    TypeEntry entry;
    entry.typtype = rows.Get(row, 1).value_or("b").empty() ? 'b' : rows.Get(row, 1)->front();
    entry.base_type = static_cast<uint32_t>(base);
    entry.element_type = static_cast<uint32_t>(element);
    entry.name = std::string(rows.Get(row, 4).value_or(""));
    if (!IsBuiltinScalar(static_cast<uint32_t>(type))) Add(static_cast<uint32_t>(type), entry);
  }
  return Status::Ok();
}

LakeType LakeTypeFor(uint32_t type_oid, int32_t type_modifier, const TypeRegistry& registry) {
  type_oid = registry.Resolve(type_oid);
  switch (type_oid) {
    case oid::kBool:
      return LakeType::kBoolean;
    case oid::kInt2:
      return LakeType::kInt16;
    case oid::kInt4:
      return LakeType::kInt32;
    case oid::kInt8:
    case oid::kOid:
      return LakeType::kInt64;
    case oid::kFloat4:
      return LakeType::kFloat32;
    case oid::kFloat8:
      return LakeType::kFloat64;
    // numeric(p,s) fits a decimal; unconstrained numeric has no fixed scale and stays exact
    // as a string.
    case oid::kNumeric:
      return type_modifier >= 4 ? LakeType::kDecimal : LakeType::kString;
    case oid::kMoney:
      return LakeType::kDecimal;
    case oid::kBytea:
      return LakeType::kBinary;
    case oid::kDate:
      return LakeType::kDate;
    case oid::kTime:
      return LakeType::kTime;
    case oid::kTimestamp:
      return LakeType::kTimestamp;
    case oid::kTimestamptz:
      return LakeType::kTimestampTz;
    case oid::kInterval:
      return LakeType::kInterval;
    case oid::kUuid:
      return LakeType::kUuid;
    case oid::kJson:
    case oid::kJsonb:
      return LakeType::kJson;
    default:
      break;
  }
  if (BuiltinArrayElement(type_oid) != 0) return LakeType::kList;
  const TypeEntry* entry = registry.Find(type_oid);
  if (entry != nullptr && entry->element_type != 0) return LakeType::kList;
  // text, varchar, char, name, timetz, inet, cidr, macaddr, enums, composites, the rest.
  return LakeType::kString;
}

Result<Datum> DecodeBinary(std::string_view bytes, uint32_t type_oid,
                           const TypeRegistry& registry) {
  type_oid = registry.Resolve(type_oid);
  uint32_t element = BuiltinArrayElement(type_oid);
  const TypeEntry* entry = element == 0 ? registry.Find(type_oid) : nullptr;
  if (element != 0 || (entry != nullptr && entry->element_type != 0)) {
    WireReader reader(bytes, "binary array");
    FRESHET_ASSIGN_OR_RETURN(Datum datum, DecodeArray(reader, type_oid, registry));
    if (!reader.empty()) return Malformed(type_oid, "bytes after the last array element");
    return datum;
  }
  return DecodeScalar(bytes, type_oid, registry);
}

Result<Datum> DecodeText(std::string_view text, uint32_t type_oid, const TypeRegistry& registry) {
  type_oid = registry.Resolve(type_oid);
  auto bad = [&] {
    return Status::Corruption("malformed text value of type OID {}: '{}'", type_oid,
                              text.substr(0, 80));
  };
  Datum datum;
  switch (type_oid) {
    case oid::kBool:
      if (text != "t" && text != "f") return bad();
      datum.kind = DatumKind::kBool;
      datum.i = text == "t";
      return datum;
    case oid::kInt2:
    case oid::kInt4:
    case oid::kInt8:
    case oid::kOid: {
      datum.kind = DatumKind::kInt;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), datum.i);
      if (error != std::errc() || end != text.data() + text.size()) return bad();
      return datum;
    }
    case oid::kFloat4:
    case oid::kFloat8: {
      datum.kind = type_oid == oid::kFloat4 ? DatumKind::kFloat4 : DatumKind::kFloat8;
      if (text == "NaN") {
        datum.f = std::nan("");
      } else if (text == "Infinity" || text == "-Infinity") {
        datum.f = text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
      } else {
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), datum.f);
        if (error != std::errc() || end != text.data() + text.size()) return bad();
      }
      return datum;
    }
    case oid::kNumeric:
      datum.kind = DatumKind::kNumeric;
      if (text == "NaN") datum.special = Special::kNaN;
      if (text == "Infinity") datum.special = Special::kPositiveInfinity;
      if (text == "-Infinity") datum.special = Special::kNegativeInfinity;
      if (datum.special == Special::kFinite) datum.s.assign(text);
      return datum;
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kChar:
      datum.kind = DatumKind::kString;
      datum.s.assign(text);
      return datum;
    case oid::kJson:
    case oid::kJsonb:
      datum.kind = DatumKind::kJson;
      datum.s.assign(text);
      return datum;
    case oid::kBytea: {
      if (text.size() < 2 || text.substr(0, 2) != "\\x" || text.size() % 2 != 0) return bad();
      datum.kind = DatumKind::kBytes;
      for (size_t i = 2; i < text.size(); i += 2) {
        int high = HexValue(text[i]);
        int low = HexValue(text[i + 1]);
        if (high < 0 || low < 0) return bad();
        datum.s.push_back(static_cast<char>(high * 16 + low));
      }
      return datum;
    }
    case oid::kUuid: {
      datum.kind = DatumKind::kUuid;
      std::string hex;
      for (char c : text) {
        if (c != '-') hex.push_back(c);
      }
      if (hex.size() != 32) return bad();
      for (size_t i = 0; i < 32; i += 2) {
        int high = HexValue(hex[i]);
        int low = HexValue(hex[i + 1]);
        if (high < 0 || low < 0) return bad();
        datum.s.push_back(static_cast<char>(high * 16 + low));
      }
      return datum;
    }
    default: {
      const TypeEntry* entry = registry.Find(type_oid);
      datum.kind =
          entry != nullptr && entry->typtype == 'e' ? DatumKind::kString : DatumKind::kPgText;
      datum.s.assign(text);
      return datum;
    }
  }
}

Result<Datum> DecodeValue(const Value& value, uint32_t type_oid, const TypeRegistry& registry) {
  switch (value.kind) {
    case ValueKind::kNull:
      return Datum{};
    case ValueKind::kUnchangedToast:
      return Make(DatumKind::kUnchangedToast);
    case ValueKind::kText:
      return DecodeText(value.bytes, type_oid, registry);
    case ValueKind::kBinary:
      return DecodeBinary(value.bytes, type_oid, registry);
  }
  return Status::Internal("unknown value kind");
}

std::string FormatPostgresText(const Datum& datum) {
  switch (datum.kind) {
    case DatumKind::kNull:
      return "NULL";
    case DatumKind::kUnchangedToast:
      return "<unchanged>";
    case DatumKind::kBool:
      return datum.i ? "t" : "f";
    case DatumKind::kInt:
      return std::to_string(datum.i);
    case DatumKind::kFloat4:
      return FormatFloat(datum.f, true);
    case DatumKind::kFloat8:
      return FormatFloat(datum.f, false);
    case DatumKind::kNumeric:
      if (datum.special == Special::kNaN) return "NaN";
      if (datum.special == Special::kPositiveInfinity) return "Infinity";
      if (datum.special == Special::kNegativeInfinity) return "-Infinity";
      return datum.s;
    case DatumKind::kMoney:
      return FormatMoney(datum.i);
    case DatumKind::kString:
    case DatumKind::kJson:
    case DatumKind::kPgText:
      return datum.s;
    case DatumKind::kBytes: {
      std::string out = "\\x";
      for (char c : datum.s) out += fmt::format("{:02x}", static_cast<uint8_t>(c));
      return out;
    }
    case DatumKind::kDate: {
      if (datum.special == Special::kPositiveInfinity) return "infinity";
      if (datum.special == Special::kNegativeInfinity) return "-infinity";
      bool bc = false;
      std::string out = FormatDate(datum.i + kEpochShiftDays, bc);
      return bc ? out + " BC" : out;
    }
    case DatumKind::kTime:
      return FormatClock(datum.i, /*allow_long_hours=*/true);
    case DatumKind::kTimeTz:
      return FormatClock(datum.i, true) + FormatZone(datum.zone);
    case DatumKind::kTimestamp:
      return FormatTimestamp(datum, false);
    case DatumKind::kTimestampTz:
      return FormatTimestamp(datum, true);
    case DatumKind::kInterval:
      return FormatInterval(datum);
    case DatumKind::kUuid: {
      std::string hex;
      for (size_t i = 0; i < datum.s.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) hex.push_back('-');
        hex += fmt::format("{:02x}", static_cast<uint8_t>(datum.s[i]));
      }
      return hex;
    }
    case DatumKind::kInet:
      return FormatInet(datum);
    case DatumKind::kMacaddr: {
      std::string out;
      for (size_t i = 0; i < datum.s.size(); ++i) {
        out += fmt::format("{}{:02x}", i ? ":" : "", static_cast<uint8_t>(datum.s[i]));
      }
      return out;
    }
    case DatumKind::kArray:
      return FormatArray(datum);
  }
  return "?";
}

Result<UnrepresentableRule> ParseUnrepresentableRule(std::string_view text) {
  if (text == "fail") return UnrepresentableRule::kFail;
  if (text == "null") return UnrepresentableRule::kNull;
  if (text == "clamp") return UnrepresentableRule::kClamp;
  return Status::InvalidArgument("unrepresentable_values '{}': use fail, null or clamp", text);
}

Result<Datum> ToLakeValue(Datum datum, UnrepresentableRule rule, std::string_view column,
                          UnrepresentableCounters& counters) {
  if (datum.special == Special::kFinite) return datum;
  bool is_time = datum.kind == DatumKind::kDate || datum.kind == DatumKind::kTimestamp ||
                 datum.kind == DatumKind::kTimestampTz;
  if (datum.kind != DatumKind::kNumeric && !is_time) return datum;
  if (is_time) {
    ++counters.infinite_timestamps;
  } else if (datum.special == Special::kNaN) {
    ++counters.nan_numerics;
  } else {
    ++counters.infinite_numerics;
  }
  switch (rule) {
    case UnrepresentableRule::kFail:
      return Status::InvalidArgument(
          "column {} holds {}, which the lake type cannot represent; set "
          "unrepresentable_values to null or clamp to store it (see docs/types.md)",
          column, FormatPostgresText(datum));
    case UnrepresentableRule::kNull:
      return Datum{};
    case UnrepresentableRule::kClamp:
      if (!is_time) return Datum{};
      {
        // The range lake engines agree on: 0001-01-01 to 9999-12-31 23:59:59.999999.
        bool high = datum.special == Special::kPositiveInfinity;
        int64_t days = high ? DaysFromCivil(9999, 12, 31) : DaysFromCivil(1, 1, 1);
        days -= kEpochShiftDays;
        datum.i = datum.kind == DatumKind::kDate
                      ? days
                      : days * kMicrosPerDay + (high ? kMicrosPerDay - 1 : 0);
      }
      datum.special = Special::kFinite;
      return datum;
  }
  return datum;
}

}  // namespace freshet::pg
