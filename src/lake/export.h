#pragma once

// Export: a snapshot's rows as JSON lines, CSV or Parquet. JSON lines follow the rendering of
// the conformance corpus (conformance README "Value rendering"): one compact object per row,
// keys in schema order, exact longs and decimals, ECMAScript-style shortest floats, UTC
// timestamps with six fractional digits, maps as [key, value] pairs sorted by key text.

#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "engine/value.h"
#include "lake/schema.h"

namespace freshet::lake {

// ECMAScript Number.prototype.toString of the shortest round-trip decimal of `value` (read as
// a 32-bit float when `is_float`); NaN and infinities as the JSON strings "NaN", "Infinity",
// "-Infinity".
std::string RenderFloatingPoint(double value, bool is_float);
// A JSON string literal: only '"', '\' and control characters escaped.
std::string JsonString(std::string_view text);
// One value of Delta type `type`; maps arrive as lists of {k, v} structs (see JsonlSelect).
Result<std::string> RenderJsonValue(const DataType& type, const engine::Value& value);

// Wraps a scan SELECT so every column can be rendered: maps become lists of (k, v) structs,
// since result maps lose their key types.
std::string JsonlSelect(const Schema& schema, const std::string& scan_sql);
// Runs `scan_sql` and renders every row, sorted byte-wise (or in query order when `sort` is
// false).
Result<std::vector<std::string>> ExportJsonlLines(engine::Connection& connection,
                                                  const Schema& schema, const std::string& scan_sql,
                                                  bool sort = true);

}  // namespace freshet::lake
