#include "server/pgwire/types.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "common/wire.h"

namespace freshet::server::pgwire {
namespace {

using engine::ColumnType;
using engine::TypeId;
using engine::Value;

constexpr int64_t kPgEpochDays = 10957;  // 2000-01-01 in days since 1970-01-01
constexpr int64_t kPgEpochMicros = kPgEpochDays * 86'400'000'000LL;
constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

// Howard Hinnant's civil-from-days.
void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (*month <= 2);
}

std::string FormatFraction(int64_t micros) {
  if (micros == 0) return "";
  std::string frac = fmt::format(".{:06d}", micros);
  while (frac.back() == '0') frac.pop_back();
  return frac;
}

uint32_t ArrayOidOf(uint32_t element) {
  switch (element) {
    case oid::kBool:
      return 1000;
    case oid::kBytea:
      return 1001;
    case oid::kInt2:
      return 1005;
    case oid::kInt4:
      return 1007;
    case oid::kText:
      return 1009;
    case oid::kVarchar:
      return 1015;
    case oid::kInt8:
      return 1016;
    case oid::kFloat4:
      return 1021;
    case oid::kFloat8:
      return 1022;
    case oid::kDate:
      return 1182;
    case oid::kTime:
      return 1183;
    case oid::kTimestamp:
      return 1115;
    case oid::kTimestampTz:
      return 1185;
    case oid::kInterval:
      return 1187;
    case oid::kNumeric:
      return 1231;
    case oid::kUuid:
      return 2951;
    case oid::kJson:
      return 199;
    default:
      return 0;
  }
}

std::string FormatInterval(const Value& value) {
  const Value* months_value = value.Field("months");
  const Value* days_value = value.Field("days");
  const Value* micros_value = value.Field("micros");
  int64_t months = months_value != nullptr ? months_value->integer() : 0;
  int64_t days = days_value != nullptr ? days_value->integer() : 0;
  int64_t micros = micros_value != nullptr ? micros_value->integer() : 0;
  std::string out;
  auto part = [&](int64_t n, std::string_view unit, std::string_view plural) {
    if (n == 0) return;
    if (!out.empty()) out += ' ';
    out += fmt::format("{} {}", n, n == 1 || n == -1 ? unit : plural);
  };
  part(months / 12, "year", "years");
  part(months % 12, "mon", "mons");
  part(days, "day", "days");
  if (micros != 0 || out.empty()) {
    if (!out.empty()) out += ' ';
    bool negative = micros < 0;
    uint64_t magnitude =
        negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
    uint64_t seconds = magnitude / 1'000'000;
    out += fmt::format("{}{:02d}:{:02d}:{:02d}{}", negative ? "-" : "", seconds / 3600,
                       (seconds / 60) % 60, seconds % 60,
                       FormatFraction(static_cast<int64_t>(magnitude % 1'000'000)));
  }
  return out;
}

// Array elements are quoted when empty, "NULL", or holding a character with meaning inside
// an array literal.
void AppendArrayElement(std::string_view text, std::string* out) {
  bool quote = text.empty() || text == "NULL" || text == "null" || text == "Null";
  for (char c : text) {
    if (c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' || c == ' ' || c == '\t' ||
        c == '\n' || c == '\r') {
      quote = true;
    }
  }
  if (!quote) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void PutBigEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// PostgreSQL's binary numeric: base-10000 digits with a weight, sign and display scale.
void AppendNumericBinary(std::string_view text, std::string* out) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  size_t dot = text.find('.');
  std::string integer(text.substr(0, dot));
  std::string fraction(dot == std::string_view::npos ? "" : text.substr(dot + 1));
  auto dscale = static_cast<int16_t>(fraction.size());
  while (integer.size() > 1 && integer[0] == '0') integer.erase(0, 1);
  if (integer == "0") integer.clear();
  integer.insert(0, (4 - integer.size() % 4) % 4, '0');
  fraction.append((4 - fraction.size() % 4) % 4, '0');
  std::vector<int16_t> digits;
  for (size_t i = 0; i < integer.size(); i += 4) {
    digits.push_back(static_cast<int16_t>(std::stoi(integer.substr(i, 4))));
  }
  auto weight = static_cast<int16_t>(static_cast<int>(digits.size()) - 1);
  for (size_t i = 0; i < fraction.size(); i += 4) {
    digits.push_back(static_cast<int16_t>(std::stoi(fraction.substr(i, 4))));
  }
  while (!digits.empty() && digits.front() == 0) {
    digits.erase(digits.begin());
    --weight;
  }
  while (!digits.empty() && digits.back() == 0) digits.pop_back();
  if (digits.empty()) weight = 0;
  PutBigEndian(out, digits.size(), 2);
  PutBigEndian(out, static_cast<uint16_t>(weight), 2);
  PutBigEndian(out, negative && !digits.empty() ? 0x4000 : 0x0000, 2);
  PutBigEndian(out, static_cast<uint16_t>(dscale), 2);
  for (int16_t digit : digits) PutBigEndian(out, static_cast<uint16_t>(digit), 2);
}

Result<std::string> NumericBinaryToText(std::string_view bytes) {
  WireReader reader(bytes, "numeric parameter");
  FRESHET_ASSIGN_OR_RETURN(int16_t ndigits, reader.ReadI16());
  FRESHET_ASSIGN_OR_RETURN(int16_t weight, reader.ReadI16());
  FRESHET_ASSIGN_OR_RETURN(uint16_t sign, reader.ReadU16());
  FRESHET_ASSIGN_OR_RETURN(int16_t dscale, reader.ReadI16());
  if (sign == 0xC000) return std::string("NaN");
  if (ndigits < 0 || dscale < 0 || reader.remaining() != static_cast<size_t>(ndigits) * 2) {
    return Status::InvalidArgument("invalid binary numeric");
  }
  std::string integer;
  std::string fraction;
  for (int i = 0; i < ndigits; ++i) {
    FRESHET_ASSIGN_OR_RETURN(int16_t digit, reader.ReadI16());
    if (digit < 0 || digit > 9999) return Status::InvalidArgument("invalid binary numeric digit");
    std::string group = fmt::format("{:04d}", digit);
    if (i <= weight) {
      integer += group;
    } else {
      fraction += group;
    }
  }
  for (int i = ndigits; i <= weight; ++i) integer += "0000";
  if (weight < -1) fraction.insert(0, static_cast<size_t>(-1 - weight) * 4, '0');
  while (integer.size() > 1 && integer[0] == '0') integer.erase(0, 1);
  if (integer.empty()) integer.push_back('0');
  fraction.resize(static_cast<size_t>(dscale), '0');
  std::string out;
  if (sign == 0x4000) out.push_back('-');
  out.append(integer);
  if (!fraction.empty()) {
    out.push_back('.');
    out.append(fraction);
  }
  return out;
}

}  // namespace

std::string FormatDate(int64_t days) {
  if (days >= std::numeric_limits<int32_t>::max()) return "infinity";
  if (days <= -std::numeric_limits<int32_t>::max()) return "-infinity";
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(days, &year, &month, &day);
  if (year <= 0) return fmt::format("{:04d}-{:02d}-{:02d} BC", 1 - year, month, day);
  return fmt::format("{:04d}-{:02d}-{:02d}", year, month, day);
}

std::string FormatTime(int64_t micros) {
  int64_t seconds = micros / 1'000'000;
  return fmt::format("{:02d}:{:02d}:{:02d}{}", seconds / 3600, (seconds / 60) % 60, seconds % 60,
                     FormatFraction(micros % 1'000'000));
}

std::string FormatTimestamp(int64_t micros) {
  if (micros == std::numeric_limits<int64_t>::max()) return "infinity";
  if (micros == -std::numeric_limits<int64_t>::max()) return "-infinity";
  int64_t days = micros / kMicrosPerDay;
  int64_t rest = micros % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  std::string date = FormatDate(days);
  bool bc = date.ends_with(" BC");
  if (bc) date.resize(date.size() - 3);
  return fmt::format("{} {}{}", date, FormatTime(rest), bc ? " BC" : "");
}

std::string FormatFloat8(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", value);
}

std::string FormatFloat4(float value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", value);
}

PgType PgTypeFor(const ColumnType& type) {
  switch (type.id) {
    case TypeId::kBool:
      return {oid::kBool, 1};
    case TypeId::kTinyInt:
    case TypeId::kSmallInt:
    case TypeId::kUTinyInt:
      return {oid::kInt2, 2};
    case TypeId::kInteger:
    case TypeId::kUSmallInt:
      return {oid::kInt4, 4};
    case TypeId::kBigInt:
    case TypeId::kUInteger:
      return {oid::kInt8, 8};
    case TypeId::kUBigInt:
    case TypeId::kHugeInt:
      return {oid::kNumeric, -1};
    case TypeId::kDecimal:
      return {oid::kNumeric, -1, ((type.width << 16) | type.scale) + 4};
    case TypeId::kFloat:
      return {oid::kFloat4, 4};
    case TypeId::kDouble:
      return {oid::kFloat8, 8};
    case TypeId::kJson:
      return {oid::kJson, -1};
    case TypeId::kVarchar:
    case TypeId::kEnum:
      return {oid::kVarchar, -1};
    case TypeId::kBlob:
      return {oid::kBytea, -1};
    case TypeId::kDate:
      return {oid::kDate, 4};
    case TypeId::kTime:
      return {oid::kTime, 8};
    case TypeId::kTimestamp:
      return {oid::kTimestamp, 8};
    case TypeId::kTimestampTz:
      return {oid::kTimestampTz, 8};
    case TypeId::kInterval:
      return {oid::kInterval, 16};
    case TypeId::kUuid:
      return {oid::kUuid, 16};
    case TypeId::kList: {
      if (type.children.empty()) return {oid::kText, -1};
      uint32_t array = ArrayOidOf(PgTypeFor(type.children[0]).oid);
      return {array != 0 ? array : oid::kText, -1};
    }
    default:
      return {oid::kText, -1};
  }
}

void AppendText(const Value& value, const ColumnType& type, std::string* out) {
  switch (type.id) {
    case TypeId::kBool:
      out->push_back(value.integer() != 0 ? 't' : 'f');
      return;
    case TypeId::kFloat:
      out->append(FormatFloat4(static_cast<float>(value.real())));
      return;
    case TypeId::kDouble:
      out->append(FormatFloat8(value.real()));
      return;
    case TypeId::kBlob: {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\x");
      for (unsigned char c : value.string()) {
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
      }
      return;
    }
    case TypeId::kDate:
      out->append(FormatDate(value.integer()));
      return;
    case TypeId::kTime:
      out->append(FormatTime(value.integer()));
      return;
    case TypeId::kTimestamp:
      out->append(FormatTimestamp(value.integer()));
      return;
    case TypeId::kTimestampTz: {
      std::string text = FormatTimestamp(value.integer());
      if (text.ends_with("infinity")) {
        out->append(text);
      } else if (text.ends_with(" BC")) {
        out->append(text, 0, text.size() - 3);
        out->append("+00 BC");
      } else {
        out->append(text);
        out->append("+00");
      }
      return;
    }
    case TypeId::kInterval:
      out->append(FormatInterval(value));
      return;
    case TypeId::kList: {
      if (PgTypeFor(type).oid == oid::kText || type.children.empty()) break;
      out->push_back('{');
      bool first = true;
      std::string element;
      for (const Value& item : value.list()) {
        if (!first) out->push_back(',');
        first = false;
        if (item.is_null()) {
          out->append("NULL");
          continue;
        }
        element.clear();
        AppendText(item, type.children[0], &element);
        AppendArrayElement(element, out);
      }
      out->push_back('}');
      return;
    }
    default:
      break;
  }
  switch (value.kind) {
    case Value::Kind::kString:
      out->append(value.string());
      return;
    case Value::Kind::kInt:
      out->append(std::to_string(value.integer()));
      return;
    default:
      out->append(value.ToString());
      return;
  }
}

Status AppendBinary(const Value& value, const ColumnType& type, std::string* out) {
  switch (type.id) {
    case TypeId::kBool:
      out->push_back(value.integer() != 0 ? 1 : 0);
      return Status::Ok();
    case TypeId::kTinyInt:
    case TypeId::kSmallInt:
    case TypeId::kUTinyInt:
    case TypeId::kInteger:
    case TypeId::kUSmallInt:
    case TypeId::kBigInt:
    case TypeId::kUInteger: {
      int64_t n = value.kind == Value::Kind::kUInt ? static_cast<int64_t>(value.unsigned_integer())
                                                   : value.integer();
      PutBigEndian(out, static_cast<uint64_t>(n), PgTypeFor(type).size);
      return Status::Ok();
    }
    case TypeId::kFloat:
      PutBigEndian(out, std::bit_cast<uint32_t>(static_cast<float>(value.real())), 4);
      return Status::Ok();
    case TypeId::kDouble:
      PutBigEndian(out, std::bit_cast<uint64_t>(value.real()), 8);
      return Status::Ok();
    case TypeId::kUBigInt:
    case TypeId::kHugeInt:
    case TypeId::kDecimal:
      AppendNumericBinary(value.ToString(), out);
      return Status::Ok();
    case TypeId::kVarchar:
    case TypeId::kJson:
    case TypeId::kEnum:
    case TypeId::kBlob:
      out->append(value.string());
      return Status::Ok();
    case TypeId::kUuid: {
      const std::string& text = value.string();
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '-') continue;
        if (i + 1 >= text.size()) break;
        out->push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
        ++i;
      }
      return Status::Ok();
    }
    case TypeId::kDate:
      PutBigEndian(out, static_cast<uint32_t>(value.integer() - kPgEpochDays), 4);
      return Status::Ok();
    case TypeId::kTime:
      PutBigEndian(out, static_cast<uint64_t>(value.integer()), 8);
      return Status::Ok();
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      PutBigEndian(out, static_cast<uint64_t>(value.integer() - kPgEpochMicros), 8);
      return Status::Ok();
    case TypeId::kInterval: {
      const Value* months = value.Field("months");
      const Value* days = value.Field("days");
      const Value* micros = value.Field("micros");
      PutBigEndian(out, static_cast<uint64_t>(micros ? micros->integer() : 0), 8);
      PutBigEndian(out, static_cast<uint32_t>(days ? days->integer() : 0), 4);
      PutBigEndian(out, static_cast<uint32_t>(months ? months->integer() : 0), 4);
      return Status::Ok();
    }
    case TypeId::kList:
      if (PgTypeFor(type).oid != oid::kText && !type.children.empty()) {
        return AppendBinaryArray(value, type.children[0], out);
      }
      break;
    default:
      break;
  }
  // Types sent as text, json or varchar (structs, maps, unions, lists of those): their
  // binary form is their text.
  uint32_t sent_as = PgTypeFor(type).oid;
  if (sent_as == oid::kText || sent_as == oid::kJson || sent_as == oid::kVarchar) {
    AppendText(value, type, out);
    return Status::Ok();
  }
  return Status::NotSupported("binary format is not supported for this column type; use text");
}

// PostgreSQL's array_send: dimensions (one, or none when empty), a has-null flag, the
// element OID, then per dimension its length and lower bound (1), then each element as a
// length (-1 for NULL) and its binary form.
Status AppendBinaryArray(const Value& value, const ColumnType& element, std::string* out) {
  const engine::ValueList& items = value.list();
  bool has_null = false;
  for (const Value& item : items) has_null = has_null || item.is_null();
  PutBigEndian(out, items.empty() ? 0 : 1, 4);
  PutBigEndian(out, has_null ? 1 : 0, 4);
  PutBigEndian(out, PgTypeFor(element).oid, 4);
  if (items.empty()) return Status::Ok();
  PutBigEndian(out, items.size(), 4);
  PutBigEndian(out, 1, 4);
  std::string cell;
  for (const Value& item : items) {
    if (item.is_null()) {
      PutBigEndian(out, 0xFFFFFFFFU, 4);
      continue;
    }
    cell.clear();
    FRESHET_RETURN_IF_ERROR(AppendBinary(item, element, &cell));
    PutBigEndian(out, cell.size(), 4);
    out->append(cell);
  }
  return Status::Ok();
}

Result<std::string> BinaryParameterToText(uint32_t type_oid, std::string_view bytes) {
  WireReader reader(bytes, "binary parameter");
  auto check_end = [&]() { return reader.ExpectEnd(); };
  switch (type_oid) {
    case oid::kBool: {
      FRESHET_ASSIGN_OR_RETURN(uint8_t b, reader.ReadU8());
      FRESHET_RETURN_IF_ERROR(check_end());
      return std::string(b != 0 ? "true" : "false");
    }
    case oid::kInt2: {
      FRESHET_ASSIGN_OR_RETURN(int16_t n, reader.ReadI16());
      FRESHET_RETURN_IF_ERROR(check_end());
      return std::to_string(n);
    }
    case oid::kInt4: {
      FRESHET_ASSIGN_OR_RETURN(int32_t n, reader.ReadI32());
      FRESHET_RETURN_IF_ERROR(check_end());
      return std::to_string(n);
    }
    case oid::kInt8: {
      FRESHET_ASSIGN_OR_RETURN(int64_t n, reader.ReadI64());
      FRESHET_RETURN_IF_ERROR(check_end());
      return std::to_string(n);
    }
    case oid::kFloat4: {
      FRESHET_ASSIGN_OR_RETURN(uint32_t bits, reader.ReadU32());
      FRESHET_RETURN_IF_ERROR(check_end());
      return FormatFloat4(std::bit_cast<float>(bits));
    }
    case oid::kFloat8: {
      FRESHET_ASSIGN_OR_RETURN(uint64_t bits, reader.ReadU64());
      FRESHET_RETURN_IF_ERROR(check_end());
      return FormatFloat8(std::bit_cast<double>(bits));
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kJson:
    case oid::kUnknown:
    case 0:
      return std::string(bytes);
    case oid::kDate: {
      FRESHET_ASSIGN_OR_RETURN(int32_t days, reader.ReadI32());
      FRESHET_RETURN_IF_ERROR(check_end());
      return FormatDate(int64_t{days} + kPgEpochDays);
    }
    case oid::kTimestamp:
    case oid::kTimestampTz: {
      FRESHET_ASSIGN_OR_RETURN(int64_t micros, reader.ReadI64());
      FRESHET_RETURN_IF_ERROR(check_end());
      std::string text = FormatTimestamp(micros + kPgEpochMicros);
      return type_oid == oid::kTimestampTz ? text + "+00" : text;
    }
    case oid::kUuid: {
      if (bytes.size() != 16) return Status::InvalidArgument("binary uuid must be 16 bytes");
      std::string hex;
      for (size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
        hex += fmt::format("{:02x}", static_cast<uint8_t>(bytes[i]));
      }
      return hex;
    }
    case oid::kNumeric:
      return NumericBinaryToText(bytes);
    default:
      return Status::NotSupported("binary parameters of type OID {} are not supported; send text",
                                  type_oid);
  }
}

}  // namespace freshet::server::pgwire
