#include "server/pgwire/sql_text.h"

#include <gtest/gtest.h>

#include "server/pgwire/catalog_emulation.h"
#include "server/pgwire/users.h"

namespace freshet::server::pgwire {
namespace {

TEST(SqlTextTest, SplitsStatementsOutsideQuotesAndComments) {
  auto parts = SplitStatements(
      "SELECT 'a;b'; SELECT \"x;y\" -- c;d\n; /* e;f */ SELECT $$g;h$$;;  ;SELECT E'i\\';j'");
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "SELECT 'a;b'");
  EXPECT_EQ(parts[1], "SELECT \"x;y\" -- c;d");
  EXPECT_EQ(parts[2], "/* e;f */ SELECT $$g;h$$");
  EXPECT_EQ(parts[3], "SELECT E'i\\';j'");
  EXPECT_TRUE(SplitStatements("  ; -- only a comment\n").size() == 1);
  EXPECT_TRUE(SplitStatements("   ").empty());
}

TEST(SqlTextTest, FindsTheFirstKeyword) {
  EXPECT_EQ(FirstKeyword("  -- hi\n /* x */ begin;"), "BEGIN");
  EXPECT_EQ(FirstKeyword("select 1"), "SELECT");
  EXPECT_EQ(FirstKeyword(""), "");
}

TEST(SqlTextTest, ParsesParameterCommands) {
  auto set = ParseParameterCommand("SET extra_float_digits = 3");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->kind, ParameterCommand::Kind::kSet);
  EXPECT_EQ(set->name, "extra_float_digits");
  EXPECT_EQ(set->value, "3");
  auto tz = ParseParameterCommand("SET TIME ZONE 'UTC'");
  ASSERT_TRUE(tz);
  EXPECT_EQ(tz->name, "timezone");
  EXPECT_EQ(tz->value, "UTC");
  auto path = ParseParameterCommand("set session search_path to public, \"my schema\"");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->value, "public, my schema");
  auto show = ParseParameterCommand("SHOW TRANSACTION ISOLATION LEVEL");
  ASSERT_TRUE(show);
  EXPECT_EQ(show->name, "transaction_isolation");
  auto reset = ParseParameterCommand("RESET ALL");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->kind, ParameterCommand::Kind::kReset);
  auto def = ParseParameterCommand("SET application_name TO DEFAULT");
  ASSERT_TRUE(def);
  EXPECT_TRUE(def->is_default);
  EXPECT_FALSE(ParseParameterCommand("SELECT 1"));
  EXPECT_FALSE(ParseParameterCommand("SET TRANSACTION READ ONLY"));
}

TEST(CatalogEmulationTest, DropsPgCatalogQualifiersOutsideStrings) {
  EXPECT_EQ(RewriteCatalogQuery("SELECT * FROM pg_catalog.pg_class c WHERE x = 'pg_catalog.y'"),
            "SELECT * FROM pg_class c WHERE x = 'pg_catalog.y'");
  EXPECT_EQ(RewriteCatalogQuery("select PG_CATALOG.version()"), "select version()");
  EXPECT_EQ(RewriteCatalogQuery("select my_pg_catalog.x"), "select my_pg_catalog.x");
}

TEST(GrantsTest, MatchesSchemaTablePatterns) {
  EXPECT_TRUE(GrantMatches("public.*", "public", "orders"));
  EXPECT_TRUE(GrantMatches("PUBLIC.Orders", "public", "orders"));
  EXPECT_TRUE(GrantMatches("*.*", "hr", "salaries"));
  EXPECT_TRUE(GrantMatches("sales.order*", "sales", "orders_2026"));
  EXPECT_FALSE(GrantMatches("public.*", "hr", "orders"));
  EXPECT_FALSE(GrantMatches("sales.orders", "sales", "orders_2026"));
  EXPECT_FALSE(IsGranted({}, "public", "orders"));
  EXPECT_TRUE(ValidateGrant("public.*").ok());
  EXPECT_FALSE(ValidateGrant("public").ok());
  EXPECT_FALSE(ValidateGrant("a.b.c").ok());
}

TEST(SqlText, ParsesCopyToStdoutInBothOptionSyntaxes) {
  auto query = ParseCopyToStdout("COPY (SELECT 1, ')' FROM t) TO STDOUT");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->query, "SELECT 1, ')' FROM t");
  EXPECT_FALSE(query->csv);
  EXPECT_EQ(query->delimiter, '\t');
  EXPECT_EQ(query->null_text, "\\N");
  auto table = ParseCopyToStdout(
      "copy public.\"Orders\" (id, name) to stdout with (format csv, "
      "header true, delimiter ';', null 'NA')");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->query, "SELECT id, name FROM public.\"Orders\"");
  EXPECT_TRUE(table->csv);
  EXPECT_TRUE(table->header);
  EXPECT_EQ(table->delimiter, ';');
  EXPECT_EQ(table->null_text, "NA");
  auto legacy = ParseCopyToStdout("COPY orders TO STDOUT CSV HEADER");
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_TRUE(legacy->csv && legacy->header);
  EXPECT_EQ(legacy->delimiter, ',');
  EXPECT_EQ(legacy->null_text, "");
}

TEST(SqlText, RefusesCopyThatWritesOrIsMalformed) {
  EXPECT_EQ(ParseCopyToStdout("COPY t FROM STDIN").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ParseCopyToStdout("COPY t TO '/etc/x'").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ParseCopyToStdout("COPY t TO PROGRAM 'rm'").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ParseCopyToStdout("COPY t TO STDOUT (FORMAT binary)").status().code(),
            Code::kNotSupported);
  EXPECT_EQ(ParseCopyToStdout("COPY (SELECT 1 TO STDOUT").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseCopyToStdout("COPY t TO STDOUT (DELIMITER ';;')").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseCopyToStdout("COPY t TO STDOUT extra").status().code(), Code::kNotSupported);
}

}  // namespace
}  // namespace freshet::server::pgwire
