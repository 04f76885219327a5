#pragma once

// Quoting for SQL text built by freshet. Identifiers and literals from users or from sources
// (table and column names, file paths) always pass through these; nothing is spliced raw.

#include <string>
#include <string_view>

namespace freshet::engine {

// "name" with embedded double quotes doubled.
std::string QuoteIdentifier(std::string_view name);
// 'text' with embedded single quotes doubled.
std::string QuoteLiteral(std::string_view text);

}  // namespace freshet::engine
