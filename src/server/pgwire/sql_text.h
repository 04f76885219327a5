#pragma once

// Just enough lexing of SQL text for the gateway: splitting a simple Query into statements,
// the first keyword of a statement, and recognising the SET/SHOW/RESET forms that address
// PostgreSQL session parameters (handled by the gateway, never by DuckDB). Quotes ('...',
// "...", E'...', $tag$...$tag$) and comments (--, /* */) are honoured. Pure functions.

#include <optional>

#include <string>
#include <string_view>
#include <vector>
#include "common/result.h"

namespace freshet::server::pgwire {

// The statements of `sql`, trimmed, without their semicolons; empty statements dropped.
std::vector<std::string> SplitStatements(std::string_view sql);

// Index just past the quoted string, quoted identifier, dollar-quoted string or comment
// starting at `i`, or `i` when none starts there.
size_t SkipQuotedOrComment(std::string_view sql, size_t i);

// The first word of `sql` in upper case, skipping whitespace and comments ("" if none).
std::string FirstKeyword(std::string_view sql);

struct ParameterCommand {
  enum class Kind { kSet, kShow, kReset };
  Kind kind = Kind::kShow;
  std::string name;         // lower case; "all" for SHOW ALL / RESET ALL
  std::string value;        // SET only; quotes removed, list items joined with ", "
  bool is_default = false;  // SET x TO DEFAULT
};

// SET [SESSION|LOCAL] name {TO|=} value, SET TIME ZONE value, SHOW name, RESET name,
// SHOW TRANSACTION ISOLATION LEVEL. nullopt for anything else.
std::optional<ParameterCommand> ParseParameterCommand(std::string_view sql);

// COPY ... TO STDOUT, the one COPY a read-only gateway runs (psql's \copy sends it).
struct CopyCommand {
  std::string query;  // the SELECT whose rows are copied out
  bool csv = false;
  bool header = false;  // CSV only: a first line of column names
  char delimiter = '\t';
  std::string null_text = "\\N";
};

// `COPY (query) TO STDOUT` or `COPY table [(columns)] TO STDOUT`, with options in either
// syntax: `WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'x')` or `CSV HEADER DELIMITER ';'`.
// Errors in the gateway's "<Class> Error: " form: COPY FROM and COPY TO a file or PROGRAM are
// refused as writes (25006), FORMAT binary is not supported (0A000), anything else is a syntax
// error.
Result<CopyCommand> ParseCopyToStdout(std::string_view sql);

}  // namespace freshet::server::pgwire
