#pragma once

// Quoting for SQL text that freshet builds, for DuckDB and PostgreSQL alike (both follow the
// standard: doubled quotes, and PostgreSQL runs with standard_conforming_strings on).
// Identifiers and literals from users or sources (table and column names, file paths) always
// pass through these; nothing is spliced raw.

#include <string>
#include <string_view>

namespace freshet {

// "name" with embedded double quotes doubled.
std::string QuoteIdentifier(std::string_view name);
// name as is when it is a plain lower-case identifier (letters, digits, _), else quoted: the
// form people read in PostgreSQL's own messages. Does not know reserved words, so use it for
// display and hints, and QuoteIdentifier for SQL that runs.
std::string QuoteIdentifierIfNeeded(std::string_view name);
// 'text' with embedded single quotes doubled.
std::string QuoteLiteral(std::string_view text);

}  // namespace freshet
