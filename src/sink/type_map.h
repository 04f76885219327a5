#pragma once

// How lake columns become destination PostgreSQL columns: the column type (the source's own
// type when the pipeline recorded it in the field metadata `freshet.sourceType`, else one mapped
// from the Delta type), the primary key recorded in `freshet.primaryKey`, and the DuckDB
// expression that renders a column's values as PostgreSQL COPY (FORMAT csv) input.
//
// Types are spelled as PostgreSQL's format_type() spells them ("integer", "numeric(10,2)",
// "timestamp with time zone", "bigint[]"), so they compare equal to what the destination's
// catalog reports.

#include <string>
#include <vector>

#include "common/result.h"
#include "lake/schema.h"
#include "lake/snapshot.h"

namespace freshet::sink {

// The destination type of `field`.
std::string PostgresTypeFor(const lake::StructField& field);

// The PostgreSQL type a Delta type maps to when the source type is unknown.
std::string PostgresTypeForDelta(const lake::DataType& type);

// `freshet.sourceType` of the field when present and plainly a type name (letters, digits,
// spaces, parentheses, commas, brackets, quotes, dots); nullopt otherwise.
std::optional<std::string> SourceType(const lake::StructField& field);

// The key columns of the table (`freshet.primaryKey`, a JSON array of names); empty when the
// table has whole-row identity or does not record a key. Corruption for a malformed value or
// a key column the schema does not have.
Result<std::vector<std::string>> PrimaryKeyOf(const lake::Snapshot& snapshot);

// A DuckDB expression over `column_sql` (an already-quoted column reference) giving its value
// as text that PostgreSQL reads back into `PostgresTypeFor(field)`, NULL for NULL. The session
// must run with TimeZone 'UTC'.
std::string CsvExpression(const lake::StructField& field, const std::string& column_sql);

}  // namespace freshet::sink
