#pragma once

// Typed values from PostgreSQL's wire forms, and the lake type each PostgreSQL type maps to.
// docs/types.md is the user-facing table; this header is its implementation.
//
// DecodeValue turns one column value, as the stream or COPY delivered it (binary send format
// or text output), into a Datum. Binary decoding covers every type in docs/types.md; text
// decoding parses the scalar types and keeps the others as PostgreSQL's text. Enums and
// domains resolve through a TypeRegistry (enums are their label, domains their base type);
// composites and unknown types decode to their text form. Malformed bytes are Corruption,
// naming the type; nothing here trusts a length from the wire.
//
// ToLakeValue applies the documented rule for values a lake type cannot hold (±infinity dates
// and timestamps, NaN and ±Infinity numeric) and counts every one it touches.
// FormatPostgresText prints a Datum exactly as PostgreSQL's output function does (DateStyle
// ISO, TimeZone UTC, IntervalStyle postgres), which is how tests compare decoded changes with
// SELECT. Thread-compatible.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "pg/change.h"

namespace freshet::pg {

class Connection;

// Built-in type OIDs freshet decodes (pg_type.dat).
namespace oid {
inline constexpr uint32_t kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21,
                          kInt4 = 23, kText = 25, kOid = 26, kJson = 114, kFloat4 = 700,
                          kFloat8 = 701, kMoney = 790, kMacaddr = 829, kInet = 869, kCidr = 650,
                          kBpchar = 1042, kVarchar = 1043, kDate = 1082, kTime = 1083,
                          kTimestamp = 1114, kTimestamptz = 1184, kInterval = 1186, kTimetz = 1266,
                          kNumeric = 1700, kUuid = 2950, kJsonb = 3802;
}  // namespace oid

enum class LakeType : uint8_t {
  kBoolean,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kDecimal,  // precision and scale from the typmod; unconstrained numeric is a string
  kString,
  kBinary,
  kDate,
  kTime,         // microseconds since midnight
  kTimestamp,    // microseconds, no zone
  kTimestampTz,  // microseconds, UTC-adjusted
  kInterval,     // months, days, microseconds
  kUuid,
  kJson,
  kList,
};

std::string_view LakeTypeName(LakeType type);

enum class Special : uint8_t { kFinite, kPositiveInfinity, kNegativeInfinity, kNaN };

enum class DatumKind : uint8_t {
  kNull,
  kUnchangedToast,
  kBool,         // i
  kInt,          // i (int2/4/8, oid)
  kFloat4,       // f
  kFloat8,       // f
  kNumeric,      // s: decimal text, e.g. "-12.340"; special for NaN/±Infinity
  kMoney,        // i: cents (the server's lc_monetary decides the scale; C is 2 digits)
  kString,       // s: text, varchar, char, name, enum labels, composite and unknown as text
  kBytes,        // s
  kJson,         // s: JSON text (jsonb in its normalized output form)
  kDate,         // i: days since 2000-01-01 (PostgreSQL's epoch); special for ±infinity
  kTime,         // i: microseconds since midnight
  kTimeTz,       // i: microseconds since midnight; zone: seconds east of UTC
  kTimestamp,    // i: microseconds since 2000-01-01; special for ±infinity
  kTimestampTz,  // i: microseconds since 2000-01-01 UTC; special for ±infinity
  kInterval,     // months, days, i microseconds
  kUuid,         // s: 16 bytes
  kInet,         // s: address bytes; prefix_bits; cidr
  kMacaddr,      // s: 6 bytes
  kArray,        // elements in row-major order; dims and lower bounds
  kPgText,       // s: PostgreSQL's text output for a type text decoding keeps as is
};

// A decoded value. Dates and timestamps stay in PostgreSQL's epoch (2000-01-01), so every
// value PostgreSQL can hold (up to 294276 AD) fits without overflow; moving them to the Unix
// epoch is the lake writer's step.
struct Datum {
  DatumKind kind = DatumKind::kNull;
  Special special = Special::kFinite;
  int64_t i = 0;
  double f = 0;
  int32_t months = 0;
  int32_t days = 0;
  int32_t zone = 0;
  uint8_t prefix_bits = 0;
  bool cidr = false;
  uint32_t element_type = 0;  // arrays
  std::string s;
  std::vector<int32_t> dims;
  std::vector<int32_t> lower_bounds;
  std::vector<Datum> elements;
};

// What a type OID is, as far as decoding cares.
struct TypeEntry {
  char typtype = 'b';         // b base, e enum, d domain, c composite, r range, p pseudo
  uint32_t base_type = 0;     // domains
  uint32_t element_type = 0;  // arrays
  std::string name;
};

// Type OIDs that are not built in: enums, domains, composites, their arrays. Loaded from
// pg_type on demand. Not thread-safe.
class TypeRegistry {
 public:
  // Looks up any of `oids` not yet known (built-ins are known without asking).
  Status Load(Connection& connection, const std::vector<uint32_t>& oids);
  void Add(uint32_t type_oid, TypeEntry entry) { entries_[type_oid] = std::move(entry); }
  // The entry for a user-defined type, or null.
  const TypeEntry* Find(uint32_t type_oid) const;
  // Follows domains down to their base type.
  uint32_t Resolve(uint32_t type_oid) const;
  // Whether binary values of this type decode (every built-in in the list, enums, domains and
  // arrays of those, composites); when false the stream asks for text.
  bool DecodesBinary(uint32_t type_oid) const;

 private:
  std::unordered_map<uint32_t, TypeEntry> entries_;
};

// The lake type a column maps to (docs/types.md).
LakeType LakeTypeFor(uint32_t type_oid, int32_t type_modifier, const TypeRegistry& registry);

Result<Datum> DecodeValue(const Value& value, uint32_t type_oid, const TypeRegistry& registry);
// The binary send format of `type_oid`, as in binary COPY and binary pgoutput.
Result<Datum> DecodeBinary(std::string_view bytes, uint32_t type_oid, const TypeRegistry& registry);
Result<Datum> DecodeText(std::string_view text, uint32_t type_oid, const TypeRegistry& registry);

// PostgreSQL's text output of the value (TimeZone UTC, DateStyle ISO).
std::string FormatPostgresText(const Datum& datum);

// The rule for values a lake type cannot represent.
enum class UnrepresentableRule : uint8_t {
  kFail,   // stop with InvalidArgument naming the column and value (the default)
  kNull,   // store NULL
  kClamp,  // dates/timestamps: 0001-01-01 or 9999-12-31 23:59:59.999999; numeric: NULL
};

// "fail", "null" or "clamp", as written in configuration (`unrepresentable_values`).
Result<UnrepresentableRule> ParseUnrepresentableRule(std::string_view text);

struct UnrepresentableCounters {
  std::atomic<uint64_t> infinite_timestamps{0};
  std::atomic<uint64_t> nan_numerics{0};
  std::atomic<uint64_t> infinite_numerics{0};
};

// Applies `rule` to a datum that has no lake representation and counts it; other datums are
// returned unchanged. `column` names the value in errors.
Result<Datum> ToLakeValue(Datum datum, UnrepresentableRule rule, std::string_view column,
                          UnrepresentableCounters& counters);

}  // namespace freshet::pg
