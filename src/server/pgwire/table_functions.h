#pragma once

// The gateway's table functions, which DuckDB does not have:
//
//   table_at('public.orders', version => 12)
//   table_at('public.orders', timestamp => '2026-01-01 00:00:00+00')
//   table_changes('public.orders', 3, 9)     -- versions 3 to 9; one bound: 3 to the latest
//
// RewriteTableFunctions finds these calls in a statement's text (outside string literals,
// quoted identifiers and comments; not when qualified, as in x.table_at(...)) and replaces each
// with a parenthesised subquery the resolver returns, before DuckDB parses the statement.
// Arguments must be literals (or `:=` for `=>`), except that versions and the timestamp may
// be bind parameters ($1): such a call reaches the resolver with the parameter's number set
// and its value empty, and the session resolves it again at each Bind. An expression, a `?`
// or a parameter as the table name gets a clear error. Pure functions.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace freshet::server::pgwire {

struct TableFunctionCall {
  enum class Kind { kTableAt, kTableChanges };
  Kind kind = Kind::kTableAt;
  std::string table;  // the first argument's text, e.g. "public.orders"
  // table_at: at most one of these (neither: the latest version).
  std::optional<int64_t> version;
  std::optional<std::string> timestamp;
  // table_changes
  int64_t from = 0;
  std::optional<int64_t> to;
  // Arguments given as bind parameters: their numbers ($n).
  std::optional<int> version_parameter;
  std::optional<int> timestamp_parameter;
  std::optional<int> from_parameter;
  std::optional<int> to_parameter;

  bool HasParameters() const {
    return version_parameter || timestamp_parameter || from_parameter || to_parameter;
  }
};

// Returns the SELECT reading the call's rows.
using TableFunctionResolver = std::function<Result<std::string>(const TableFunctionCall&)>;

// `sql` with every call replaced by `(<resolver's query>)`; `sql` unchanged when it has none.
// InvalidArgument ("Parser Error: ...", 42601) for malformed calls; resolver errors as they are.
Result<std::string> RewriteTableFunctions(std::string_view sql,
                                          const TableFunctionResolver& resolve);

// The numbers n of the $n parameters in `sql` outside quotes and comments, ascending, once each.
std::vector<int> ParameterNumbers(std::string_view sql);
// `sql` with each $n outside quotes and comments that `mapping` names replaced by $mapping[n].
std::string RenumberParameters(std::string_view sql, const std::map<int, int>& mapping);

}  // namespace freshet::server::pgwire
