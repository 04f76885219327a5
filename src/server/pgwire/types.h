#pragma once

// PostgreSQL's view of DuckDB types: the type OID and size each result column is described
// with, and each value's text and binary encodings, written so that clients read back what
// they would read from PostgreSQL for the same data (booleans as t/f, bytea as \x..., arrays
// as {...}, timestamps in ISO style, timestamptz in UTC with "+00", floats with the shortest
// exact digits). Parameters sent in binary are decoded to text for DuckDB to cast.
// Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/statement.h"
#include "engine/value.h"

namespace freshet::server::pgwire {

namespace oid {
inline constexpr uint32_t kBool = 16;
inline constexpr uint32_t kBytea = 17;
inline constexpr uint32_t kInt8 = 20;
inline constexpr uint32_t kInt2 = 21;
inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kJson = 114;
inline constexpr uint32_t kFloat4 = 700;
inline constexpr uint32_t kFloat8 = 701;
inline constexpr uint32_t kUnknown = 705;
inline constexpr uint32_t kVarchar = 1043;
inline constexpr uint32_t kDate = 1082;
inline constexpr uint32_t kTime = 1083;
inline constexpr uint32_t kTimestamp = 1114;
inline constexpr uint32_t kTimestampTz = 1184;
inline constexpr uint32_t kInterval = 1186;
inline constexpr uint32_t kNumeric = 1700;
inline constexpr uint32_t kUuid = 2950;
}  // namespace oid

struct PgType {
  uint32_t oid = oid::kText;
  int16_t size = -1;
  int32_t modifier = -1;
};

// The PostgreSQL type a DuckDB column is presented as (UTINYINT as int2, UBIGINT and HUGEINT
// as numeric, STRUCT and MAP as text, LIST of a scalar as that type's array).
PgType PgTypeFor(const engine::ColumnType& type);

// Appends the text form of a non-NULL `value` of `type`.
void AppendText(const engine::Value& value, const engine::ColumnType& type, std::string* out);
// Appends the binary form: arrays as PostgreSQL's array_send (one dimension, lower bound 1),
// types presented as text (STRUCT, MAP) as their text. NotSupported for anything else without
// one, so the client should ask for text.
Status AppendBinary(const engine::Value& value, const engine::ColumnType& type, std::string* out);
// The binary form of a non-NULL LIST `value` whose elements have type `element`.
Status AppendBinaryArray(const engine::Value& value, const engine::ColumnType& element,
                         std::string* out);

// A binary parameter of type `type_oid` as text DuckDB can cast; NotSupported for unknown
// OIDs, InvalidArgument for bytes of the wrong size.
Result<std::string> BinaryParameterToText(uint32_t type_oid, std::string_view bytes);

// Formatting helpers, exposed for tests.
std::string FormatDate(int64_t days_since_epoch);
std::string FormatTime(int64_t micros);
std::string FormatTimestamp(int64_t micros_since_epoch);
std::string FormatFloat8(double value);
std::string FormatFloat4(float value);

}  // namespace freshet::server::pgwire
