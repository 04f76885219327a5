#pragma once

// Value: one cell of a DuckDB result, copied out of DuckDB's vectors into plain C++.
// Nested types nest: a LIST is a list of Values, a STRUCT a list of named Values, a MAP a
// list of key/value pairs. Dates are days since 1970-01-01, timestamps and times
// microseconds, so nothing is lost to formatting; decimals keep their unscaled integer and
// scale. Plain value type.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace freshet::engine {

struct Value;
using ValueList = std::vector<Value>;
using ValueFields = std::vector<std::pair<std::string, Value>>;  // STRUCT fields, MAP entries

// 128-bit integers for DECIMAL(38) and HUGEINT; __extension__ keeps -Wpedantic quiet about
// the GCC builtin, which DuckDB's own layout (duckdb_hugeint) matches.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

struct Decimal {
  Int128 unscaled = 0;
  uint8_t width = 0;
  uint8_t scale = 0;
  friend bool operator==(const Decimal&, const Decimal&) = default;
};

struct Value {
  enum class Kind {
    kNull,
    kBool,
    kInt,
    kUInt,
    kDouble,
    kString,
    kBlob,
    kDate,
    kTime,
    kTimestamp,
    kTimestampTz,
    kDecimal,
    kHugeInt,
    kList,
    kStruct,
    kMap,
  };

  Kind kind = Kind::kNull;
  // kBool, kInt, kDate, kTime, kTimestamp, kTimestampTz use `integer` (int64 semantics);
  // kUInt uses `unsigned_integer`; kHugeInt uses `decimal.unscaled`.
  std::variant<std::monostate, int64_t, uint64_t, double, std::string, Decimal, ValueList,
               ValueFields>
      data;

  static Value Null() { return {}; }
  static Value Bool(bool b) { return {Kind::kBool, int64_t{b}}; }
  static Value Int(int64_t i) { return {Kind::kInt, i}; }
  static Value String(std::string s) { return {Kind::kString, std::move(s)}; }

  bool is_null() const { return kind == Kind::kNull; }
  int64_t integer() const { return std::get<int64_t>(data); }
  uint64_t unsigned_integer() const { return std::get<uint64_t>(data); }
  double real() const { return std::get<double>(data); }
  const std::string& string() const { return std::get<std::string>(data); }  // also kBlob
  const Decimal& decimal() const { return std::get<Decimal>(data); }
  const ValueList& list() const { return std::get<ValueList>(data); }
  const ValueFields& fields() const { return std::get<ValueFields>(data); }  // kStruct, kMap

  // For kStruct and kMap (with string keys): the field's value, or nullptr.
  const Value* Field(std::string_view name) const;

  // A readable rendering for messages and tests: 12, 'text', [1, 2], {a: 1}, 12.50, NULL.
  std::string ToString() const;

  friend bool operator==(const Value&, const Value&) = default;
};

}  // namespace freshet::engine
