#pragma once

// Test support: a lake table and its PostgreSQL source, each as canonical text rows, so a test
// can assert that they hold the same rows. PostgreSQL's side is computed in SQL (epoch
// microseconds for timestamps, days for dates, hex for bytea, the value text otherwise); the
// lake's side from the engine::Values a scan returns. Rows are sorted, so order does not matter.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "lake/scan.h"
#include "lake/snapshot.h"
#include "lake/upsert_writer.h"
#include "pg/connection.h"

namespace freshet::pipeline::compare {

inline std::string CanonicalLakeText(const engine::Value& value) {
  using Kind = engine::Value::Kind;
  switch (value.kind) {
    case Kind::kNull:
      return "NULL";
    case Kind::kBool:
      return value.integer() != 0 ? "true" : "false";
    case Kind::kDouble:
      if (std::isnan(value.real())) return "NaN";
      if (std::isinf(value.real())) return value.real() > 0 ? "Infinity" : "-Infinity";
      return fmt::format("{}", value.real());
    case Kind::kBlob: {
      std::string hex;
      for (unsigned char byte : value.string()) hex += fmt::format("{:02x}", byte);
      return hex;
    }
    case Kind::kString:
      return value.string();
    case Kind::kInt:
    case Kind::kDate:
    case Kind::kTimestamp:
    case Kind::kTimestampTz:
      return std::to_string(value.integer());
    default:
      return value.ToString();
  }
}

// The SQL expression giving `column` (of PostgreSQL type `type`, format_type text) in the
// canonical form.
inline std::string CanonicalPostgresExpression(const std::string& column, const std::string& type) {
  std::string quoted = "\"" + column + "\"";
  // format('%s') prints through the type's output function, as SELECT does (char(n) keeps
  // its padding, inet its host form). A composite of NULLs IS NULL, but its text is not.
  std::string printed =
      fmt::format("CASE WHEN {0}::text IS NULL THEN NULL ELSE format('%s', {0}) END", quoted);
  if (type == "boolean") return quoted + "::text";
  if (type.ends_with("[]")) return printed;
  if (type.starts_with("timestamp")) {
    return fmt::format("((extract(epoch from {}) * 1000000)::bigint)::text", quoted);
  }
  if (type == "date") return fmt::format("({} - DATE '1970-01-01')::text", quoted);
  if (type == "bytea") return fmt::format("encode({}, 'hex')", quoted);
  if (type == "money") return fmt::format("{}::numeric::text", quoted);
  if (type == "real") return fmt::format("{}::float8::text", quoted);
  return printed;
}

// Every row of the source table `qualified` ("public.orders") as canonical text, sorted.
inline Result<std::vector<std::string>> PostgresRows(pg::Connection& sql,
                                                     const std::string& qualified) {
  FRESHET_RETURN_IF_ERROR(sql.Execute(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
      "SET extra_float_digits = 1"));
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows columns,
      sql.Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY a.attnum",
                {qualified}));
  std::string select;
  for (int row = 0; row < columns.size(); ++row) {
    select += fmt::format("{}coalesce({}, 'NULL')", select.empty() ? "" : " || '|' || ",
                          CanonicalPostgresExpression(std::string(*columns.Get(row, 0)),
                                                      std::string(*columns.Get(row, 1))));
  }
  FRESHET_ASSIGN_OR_RETURN(pg::Rows rows,
                           sql.Query(fmt::format("SELECT {} FROM {}", select, qualified)));
  std::vector<std::string> out;
  for (int row = 0; row < rows.size(); ++row) out.emplace_back(*rows.Get(row, 0));
  std::sort(out.begin(), out.end());
  return out;
}

// Every live row of the lake table at `path` (the columns the source has, by name), sorted.
inline Result<std::vector<std::string>> LakeRows(lake::FileSystem& fs,
                                                 engine::Connection& connection,
                                                 const std::string& path,
                                                 const std::vector<std::string>& columns) {
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot, lake::Snapshot::Load(fs, connection, path));
  FRESHET_ASSIGN_OR_RETURN(std::string scan, lake::ScanSql(fs, connection, snapshot));
  std::string select;
  for (const std::string& column : columns) {
    select += fmt::format("{}\"{}\"", select.empty() ? "" : ", ", column);
  }
  FRESHET_ASSIGN_OR_RETURN(engine::QueryResult result,
                           connection.Query(fmt::format("SELECT {} FROM ({})", select, scan)));
  std::vector<std::string> out;
  for (const engine::Row& row : result.rows) {
    std::string text;
    for (size_t index = 0; index < row.size(); ++index) {
      text += (index == 0 ? "" : "|") + CanonicalLakeText(row[index]);
    }
    out.push_back(std::move(text));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The column names of source table `qualified`, in order.
inline Result<std::vector<std::string>> SourceColumns(pg::Connection& sql,
                                                      const std::string& qualified) {
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows rows, sql.Query("SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                               "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                               {qualified}));
  std::vector<std::string> out;
  for (int row = 0; row < rows.size(); ++row) out.emplace_back(*rows.Get(row, 0));
  return out;
}

// The data column names of the lake table at `path`, in order (without the operation and LSN
// columns of append-only tables).
inline Result<std::vector<std::string>> LakeColumns(lake::FileSystem& fs,
                                                    engine::Connection& connection,
                                                    const std::string& path) {
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot, lake::Snapshot::Load(fs, connection, path));
  std::vector<std::string> out;
  for (const lake::StructField& field : snapshot.schema().fields) {
    if (field.name != lake::kChangeOpColumn && field.name != lake::kChangeLsnColumn) {
      out.push_back(field.name);
    }
  }
  return out;
}

}  // namespace freshet::pipeline::compare
