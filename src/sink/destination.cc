#include "sink/destination.h"

#include <set>

#include "common/sql_quote.h"
#include "sink/type_map.h"

namespace freshet::sink {

TableShape ShapeFor(const lake::Schema& schema, const std::vector<std::string>& key,
                    SinkMode mode) {
  TableShape shape;
  for (const auto& field : schema.fields) {
    shape.columns.push_back({field.name, PostgresTypeFor(field)});
  }
  if (mode == SinkMode::kAppend) {
    shape.columns.push_back({kAppendChangeType, "text"});
    shape.columns.push_back({kAppendCommitVersion, "bigint"});
  } else {
    shape.key = key;
  }
  return shape;
}

Result<std::optional<std::vector<Column>>> ReadColumns(pg::Connection& connection,
                                                       const QualifiedName& table) {
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows rows,
      connection.Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                       "FROM pg_catalog.pg_class c "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                       "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
                       "AND a.attnum > 0 AND NOT a.attisdropped "
                       "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') "
                       "ORDER BY a.attnum",
                       {table.schema, table.table}));
  if (rows.size() == 0) return std::optional<std::vector<Column>>();
  std::vector<Column> columns;
  for (int row = 0; row < rows.size(); ++row) {
    if (rows.IsNull(row, 0)) continue;  // a table without columns
    columns.push_back({std::string(*rows.Get(row, 0)), std::string(*rows.Get(row, 1))});
  }
  return std::optional<std::vector<Column>>(std::move(columns));
}

namespace {

std::string Qualified(const QualifiedName& table) {
  return QuoteIdentifier(table.schema) + "." + QuoteIdentifier(table.table);
}

std::string CreateTableSql(const QualifiedName& table, const TableShape& shape) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + Qualified(table) + " (";
  for (size_t i = 0; i < shape.columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += QuoteIdentifier(shape.columns[i].name) + " " + shape.columns[i].type;
  }
  if (!shape.key.empty()) {
    sql += ", PRIMARY KEY (";
    for (size_t i = 0; i < shape.key.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += QuoteIdentifier(shape.key[i]);
    }
    sql += ")";
  }
  return sql + ")";
}

}  // namespace

SchemaPlan PlanSchema(const QualifiedName& table, const TableShape& shape,
                      const std::optional<std::vector<Column>>& existing) {
  SchemaPlan plan;
  if (!existing) {
    plan.ddl.push_back("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(table.schema));
    plan.ddl.push_back(CreateTableSql(table, shape));
    plan.creates_table = true;
    return plan;
  }
  std::set<std::string> wanted;
  for (const auto& column : shape.columns) {
    wanted.insert(column.name);
    const Column* found = nullptr;
    for (const auto& have : *existing) {
      if (have.name == column.name) found = &have;
    }
    if (found == nullptr) {
      plan.ddl.push_back("ALTER TABLE " + Qualified(table) + " ADD COLUMN " +
                         QuoteIdentifier(column.name) + " " + column.type);
    } else if (found->type != column.type) {
      plan.incompatible = fmt::format(
          "column {} is {} in the destination table {} but {} in the lake; change the "
          "destination column's type (ALTER TABLE ... ALTER COLUMN ... TYPE {}) or drop the "
          "destination table to copy it again",
          QuoteIdentifierIfNeeded(column.name), found->type, table.ToString(), column.type,
          column.type);
      return plan;
    }
  }
  for (const auto& have : *existing) {
    if (!wanted.contains(have.name)) {
      plan.incompatible = fmt::format(
          "the destination table {} has column {} that the lake table no longer has (dropped "
          "or renamed at the source); drop or rename the destination column to resume, or "
          "drop the destination table to copy it again",
          table.ToString(), QuoteIdentifierIfNeeded(have.name));
      return plan;
    }
  }
  return plan;
}

Status EnsureOffsetsTable(pg::Connection& connection) {
  return connection.Execute(
      "CREATE TABLE IF NOT EXISTS public.freshet_sink_offsets (lake_table text PRIMARY KEY, "
      "version bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
}

Result<std::optional<int64_t>> ReadOffset(pg::Connection& connection,
                                          const std::string& lake_table) {
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows rows,
      connection.Query("SELECT version FROM public.freshet_sink_offsets WHERE lake_table = $1",
                       {lake_table}));
  if (rows.size() == 0) return std::optional<int64_t>();
  FRESHET_ASSIGN_OR_RETURN(int64_t version, rows.GetInt(0, 0));
  return std::optional<int64_t>(version);
}

Status AdvanceOffset(pg::Connection& connection, const std::string& lake_table,
                     std::optional<int64_t> expected, int64_t version) {
  if (!expected) {
    // A concurrent first copy makes this insert fail on the key (or wait, then fail).
    FRESHET_ASSIGN_OR_RETURN(
        pg::Rows rows,
        connection.Query("INSERT INTO public.freshet_sink_offsets (lake_table, version, "
                         "applied_at) VALUES ($1, $2, now()) ON CONFLICT (lake_table) DO NOTHING "
                         "RETURNING version",
                         {lake_table, std::to_string(version)}));
    if (rows.size() != 1) {
      return Status::Conflict("{}: another worker recorded an offset first", lake_table);
    }
    return Status::Ok();
  }
  FRESHET_ASSIGN_OR_RETURN(
      pg::Rows rows,
      connection.Query("UPDATE public.freshet_sink_offsets SET version = $2, applied_at = now() "
                       "WHERE lake_table = $1 AND version = $3 RETURNING version",
                       {lake_table, std::to_string(version), std::to_string(*expected)}));
  if (rows.size() != 1) {
    return Status::Conflict("{}: its offset moved from {} while this batch was applied", lake_table,
                            *expected);
  }
  return Status::Ok();
}

Status DeleteOffset(pg::Connection& connection, const std::string& lake_table) {
  return connection
      .Query("DELETE FROM public.freshet_sink_offsets WHERE lake_table = $1", {lake_table})
      .status();
}

}  // namespace freshet::sink
