#include "server/pgwire/catalog_emulation.h"

#include <cctype>

#include <fmt/format.h>

#include "common/sql_quote.h"

namespace freshet::server::pgwire {

std::string CatalogEmulationSql(const std::string& user, const std::string& version) {
  std::string u = QuoteLiteral(user);
  return fmt::format(
      "CREATE MACRO main.version() AS {version};\n"
      "CREATE MACRO main.current_user() AS {u};\n"
      "CREATE MACRO main.session_user() AS {u};\n"
      "CREATE MACRO main.pg_get_userbyid(id) AS {u};\n"
      "CREATE VIEW main.pg_collation AS SELECT 0::BIGINT AS oid, 'default' AS collname, "
      "0::BIGINT AS collnamespace WHERE false;\n"
      // Catalogs psql's \\d reads for footers (policies, statistics, publications,
      // inheritance); lake tables have none of these.
      "CREATE VIEW main.pg_policy AS SELECT NULL::VARCHAR AS polname, true AS polpermissive, "
      "NULL::BIGINT[] AS polroles, NULL::VARCHAR AS polqual, NULL::VARCHAR AS polwithcheck, "
      "NULL::VARCHAR AS polcmd, 0::BIGINT AS polrelid WHERE false;\n"
      "CREATE VIEW main.pg_statistic_ext AS SELECT 0::BIGINT AS oid, 0::BIGINT AS stxrelid, "
      "0::BIGINT AS stxnamespace, NULL::VARCHAR AS stxname, NULL::INTEGER[] AS stxkeys, "
      "NULL::VARCHAR[] AS stxkind, -1 AS stxstattarget WHERE false;\n"
      "CREATE VIEW main.pg_publication AS SELECT 0::BIGINT AS oid, NULL::VARCHAR AS pubname, "
      "false AS puballtables WHERE false;\n"
      "CREATE VIEW main.pg_publication_rel AS SELECT 0::BIGINT AS oid, 0::BIGINT AS prpubid, "
      "0::BIGINT AS prrelid, NULL::VARCHAR AS prqual, NULL::INTEGER[] AS prattrs WHERE false;\n"
      "CREATE VIEW main.pg_publication_namespace AS SELECT 0::BIGINT AS pnpubid, "
      "0::BIGINT AS pnnspid WHERE false;\n"
      "CREATE VIEW main.pg_inherits AS SELECT 0::BIGINT AS inhrelid, 0::BIGINT AS inhparent, "
      "0 AS inhseqno, false AS inhdetachpending WHERE false;\n"
      "CREATE VIEW main.pg_roles AS SELECT 0::BIGINT AS oid, current_user AS rolname;\n"
      // DuckDB's pg_attribute gives DuckDB type ids; clients join them with pg_type's
      // PostgreSQL OIDs, so map them to the OIDs the wire protocol reports.
      "CREATE VIEW main.pg_attribute AS SELECT * REPLACE (CASE atttypid "
      "WHEN 10 THEN 16 WHEN 11 THEN 21 WHEN 12 THEN 21 WHEN 13 THEN 23 WHEN 14 THEN 20 "
      "WHEN 15 THEN 1082 WHEN 16 THEN 1083 WHEN 17 THEN 1114 WHEN 18 THEN 1114 "
      "WHEN 19 THEN 1114 WHEN 20 THEN 1114 WHEN 21 THEN 1700 WHEN 22 THEN 700 "
      "WHEN 23 THEN 701 WHEN 26 THEN 17 WHEN 27 THEN 1186 WHEN 28 THEN 21 WHEN 29 THEN 23 "
      "WHEN 30 THEN 20 WHEN 31 THEN 1700 WHEN 32 THEN 1184 WHEN 50 THEN 1700 "
      "WHEN 54 THEN 2950 ELSE 1043 END AS atttypid, "
      // DuckDB encodes DECIMAL(w,s) as w * 1000 + s; PostgreSQL as ((w << 16) | s) + 4.
      "CASE WHEN atttypid = 21 AND atttypmod > 0 THEN "
      "(((atttypmod // 1000) << 16) | (atttypmod % 1000)) + 4 ELSE atttypmod END AS atttypmod) "
      "FROM pg_catalog.pg_attribute;\n"
      // PostgreSQL's type names, as psql's \\d and JDBC print them.
      "CREATE MACRO main.format_type(type_oid, typemod) AS CASE type_oid "
      "WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 20 THEN 'bigint' "
      "WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer' WHEN 25 THEN 'text' "
      "WHEN 700 THEN 'real' WHEN 701 THEN 'double precision' "
      "WHEN 1043 THEN 'character varying' WHEN 1082 THEN 'date' "
      "WHEN 1083 THEN 'time without time zone' WHEN 1114 THEN 'timestamp without time zone' "
      "WHEN 1184 THEN 'timestamp with time zone' WHEN 1186 THEN 'interval' "
      "WHEN 2950 THEN 'uuid' WHEN 1700 THEN CASE WHEN typemod IS NULL OR typemod < 4 "
      "THEN 'numeric' ELSE 'numeric(' || ((typemod - 4) >> 16) || ',' || "
      "((typemod - 4) & 65535) || ')' END ELSE 'text' END;\n"
      "CREATE TYPE main.regtype AS VARCHAR;\n"
      "CREATE TYPE main.regclass AS VARCHAR;\n"
      "CREATE MACRO main.array_upper(arr, dim) AS len(arr);\n"
      "CREATE TYPE main.regproc AS VARCHAR;\n"
      "CREATE TYPE main.regnamespace AS VARCHAR;\n"
      "CREATE MACRO main.pg_encoding_to_char(id) AS 'UTF8';\n"
      "CREATE MACRO main.pg_get_indexdef(a) AS '', (a, b, c) AS '';\n"
      "CREATE MACRO main.pg_get_constraintdef(a) AS '', (a, b) AS '';\n"
      "CREATE MACRO main.pg_get_expr(a, b) AS NULL::VARCHAR, (a, b, c) AS NULL::VARCHAR;\n"
      "CREATE MACRO main.pg_relation_is_publishable(id) AS false;\n"
      "CREATE MACRO main.pg_get_statisticsobjdef_columns(id) AS NULL;\n"
      // Lake tables are views inside DuckDB; to clients they are tables.
      "CREATE VIEW main.pg_class AS SELECT * REPLACE ("
      "CASE WHEN relkind = 'v' AND relnamespace IN (SELECT oid FROM pg_catalog.pg_namespace "
      "WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'main')) THEN 'r' "
      "ELSE relkind END AS relkind), false AS relforcerowsecurity, NULL::VARCHAR[] AS relacl, "
      "NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound FROM pg_catalog.pg_class;\n",
      fmt::arg("version", QuoteLiteral(version)), fmt::arg("u", u));
}

namespace {

void ReplaceAll(std::string* text, std::string_view from, std::string_view to) {
  for (size_t at = text->find(from); at != std::string::npos;
       at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

}  // namespace

std::string RewriteCatalogQuery(std::string_view sql) {
  if (sql.find("pg_catalog.") == std::string_view::npos &&
      sql.find("PG_CATALOG.") == std::string_view::npos) {
    return std::string(sql);
  }
  // psql's own spellings that DuckDB does not parse.
  std::string text(sql);
  ReplaceAll(&text, " COLLATE pg_catalog.default", "");
  ReplaceAll(&text, "OPERATOR(pg_catalog.~)", "~");
  ReplaceAll(&text, "OPERATOR(pg_catalog.!~)", "!~");
  sql = text;
  static constexpr std::string_view kQualifier = "pg_catalog.";
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  bool changed = false;
  while (i < sql.size()) {
    char c = sql[i];
    // Copy quoted strings and comments as they are.
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      size_t end = j < sql.size() ? j + 1 : sql.size();
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    bool boundary = i == 0 || !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) ||
                                sql[i - 1] == '_' || sql[i - 1] == '.');
    if (boundary && sql.size() - i > kQualifier.size()) {
      bool match = true;
      for (size_t k = 0; k < kQualifier.size(); ++k) {
        if (std::tolower(static_cast<unsigned char>(sql[i + k])) != kQualifier[k]) {
          match = false;
          break;
        }
      }
      if (match) {
        i += kQualifier.size();
        changed = true;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return changed ? out : text;
}

}  // namespace freshet::server::pgwire
