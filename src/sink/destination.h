#pragma once

// The destination side of a sink table: its columns as the destination's catalog has them,
// the DDL that makes it fit the lake table (create when missing, add new columns), the check
// that refuses changes it cannot follow, and the offsets table that records, in the same
// transaction as the rows, which lake version a destination table holds.
//
//   freshet_sink_offsets(lake_table text primary key, version bigint, applied_at timestamptz)
//
// Functions run on a caller-owned pg::Connection (one thread at a time); errors are those of
// pg::Connection, plus FailedPrecondition-like InvalidArgument "incompatible" results that the
// caller turns into a paused table.

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "lake/schema.h"
#include "pg/connection.h"
#include "sink/sink_config.h"

namespace freshet::sink {

inline constexpr const char* kOffsetsTable = "freshet_sink_offsets";
// Extra columns of an append-mode destination table.
inline constexpr const char* kAppendChangeType = "_change_type";
inline constexpr const char* kAppendCommitVersion = "_commit_version";

struct Column {
  std::string name;
  std::string type;  // format_type() text
};

// What a destination table must hold for a lake table: its columns (lake order, plus the
// append columns in append mode) and key.
struct TableShape {
  std::vector<Column> columns;
  std::vector<std::string> key;  // empty: no primary key
};

TableShape ShapeFor(const lake::Schema& schema, const std::vector<std::string>& key, SinkMode mode);

// The destination's columns in order; nullopt when the table does not exist.
Result<std::optional<std::vector<Column>>> ReadColumns(pg::Connection& connection,
                                                       const QualifiedName& table);

// What to do to make the destination fit `shape`: DDL statements to run (creating the schema
// and table, adding columns), or `incompatible` saying what differs and how to resume.
struct SchemaPlan {
  std::vector<std::string> ddl;
  std::optional<std::string> incompatible;
  bool creates_table = false;
};
SchemaPlan PlanSchema(const QualifiedName& table, const TableShape& shape,
                      const std::optional<std::vector<Column>>& existing);

// Creates the offsets table when missing.
Status EnsureOffsetsTable(pg::Connection& connection);
// The recorded version of `lake_table`, nullopt when none.
Result<std::optional<int64_t>> ReadOffset(pg::Connection& connection,
                                          const std::string& lake_table);
// Inside an open transaction: moves the offset of `lake_table` from `expected` (nullopt: no
// row yet) to `version`. Conflict when the recorded offset is not `expected`: another worker
// applied in between, and the caller must roll back.
Status AdvanceOffset(pg::Connection& connection, const std::string& lake_table,
                     std::optional<int64_t> expected, int64_t version);
// Forgets the offset of `lake_table` (its destination table was dropped: copy it again).
Status DeleteOffset(pg::Connection& connection, const std::string& lake_table);

}  // namespace freshet::sink
