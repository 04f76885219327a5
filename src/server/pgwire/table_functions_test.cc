#include "server/pgwire/table_functions.h"

#include <gtest/gtest.h>

namespace freshet::server::pgwire {
namespace {

// Resolves every call to a query naming what was parsed, and records the calls.
class Recorder {
 public:
  TableFunctionResolver resolver() {
    return [this](const TableFunctionCall& call) -> Result<std::string> {
      calls.push_back(call);
      if (call.kind == TableFunctionCall::Kind::kTableChanges) {
        return fmt::format("SELECT 'changes {} {} {}'", call.table, call.from,
                           call.to ? std::to_string(*call.to) : "latest");
      }
      if (call.version) return fmt::format("SELECT '{}@v{}'", call.table, *call.version);
      if (call.timestamp) return fmt::format("SELECT '{}@{}'", call.table, *call.timestamp);
      return fmt::format("SELECT '{}@latest'", call.table);
    };
  }
  std::vector<TableFunctionCall> calls;
};

std::string Rewrite(std::string_view sql) {
  Recorder recorder;
  auto out = RewriteTableFunctions(sql, recorder.resolver());
  return out.ok() ? *out : "error: " + out.status().message();
}

TEST(TableFunctions, ReplacesTableAtByVersionAndTimestamp) {
  EXPECT_EQ(Rewrite("SELECT * FROM table_at('public.orders', version => 12) o"),
            "SELECT * FROM (SELECT 'public.orders@v12') o");
  EXPECT_EQ(Rewrite("select * from TABLE_AT( 'orders' , timestamp=>'2026-01-01 00:00:00+00')"),
            "select * from (SELECT 'orders@2026-01-01 00:00:00+00')");
  EXPECT_EQ(Rewrite("SELECT 1 FROM table_at('o', version := 3)"), "SELECT 1 FROM (SELECT 'o@v3')");
  EXPECT_EQ(Rewrite("SELECT 1 FROM table_at('o', timestamp => TIMESTAMPTZ '2026-01-01')"),
            "SELECT 1 FROM (SELECT 'o@2026-01-01')");
  EXPECT_EQ(Rewrite("SELECT 1 FROM table_at('o')"), "SELECT 1 FROM (SELECT 'o@latest')");
}

TEST(TableFunctions, ReplacesTableChangesWithOneOrTwoBounds) {
  EXPECT_EQ(Rewrite("SELECT * FROM table_changes('public.orders', 3, 9)"),
            "SELECT * FROM (SELECT 'changes public.orders 3 9')");
  EXPECT_EQ(Rewrite("SELECT * FROM table_changes('public.orders', 3)"),
            "SELECT * FROM (SELECT 'changes public.orders 3 latest')");
}

TEST(TableFunctions, LeavesLiteralsCommentsAndQuotedIdentifiersAlone) {
  for (std::string_view sql : {
           "SELECT 'table_at(''x'', version => 1)'",
           "SELECT E'it\\'s table_at(\\'x\\')'",
           "SELECT $$table_at('x', version => 1)$$",
           "SELECT 1 -- table_at('x', version => 1)\n",
           "SELECT 1 /* table_at('x', version => 1) */",
           "SELECT \"table_at\"('x') FROM t",
           "SELECT table_at FROM t",
           "SELECT s.table_at('x') FROM t",
           "SELECT my_table_at('x')",
       }) {
    EXPECT_EQ(Rewrite(sql), sql);
  }
}

TEST(TableFunctions, RewritesEveryCallIncludingNestedSubqueries) {
  Recorder recorder;
  auto out = RewriteTableFunctions(
      "SELECT a.id FROM table_at('a', version => 1) a /* x */ JOIN (SELECT * FROM "
      "table_changes('b', 2, 4) WHERE note = 'table_at(''c'')') b USING (id) WHERE id IN "
      "(SELECT id FROM table_at('c', version => 5))",
      recorder.resolver());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            "SELECT a.id FROM (SELECT 'a@v1') a /* x */ JOIN (SELECT * FROM (SELECT 'changes b 2 "
            "4') WHERE note = 'table_at(''c'')') b USING (id) WHERE id IN (SELECT id FROM "
            "(SELECT 'c@v5'))");
  ASSERT_EQ(recorder.calls.size(), 3U);
  EXPECT_EQ(recorder.calls[1].kind, TableFunctionCall::Kind::kTableChanges);
  EXPECT_EQ(recorder.calls[1].table, "b");
}

TEST(TableFunctions, TableNamesMayHoldQuotesAndComments) {
  Recorder recorder;
  auto out = RewriteTableFunctions(
      "SELECT * FROM table_at(/* which */ 'it''s', -- the version\n version => 2)",
      recorder.resolver());
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(recorder.calls.size(), 1U);
  EXPECT_EQ(recorder.calls[0].table, "it's");
  EXPECT_EQ(recorder.calls[0].version, 2);
}

TEST(TableFunctions, MalformedCallsGetErrorsThatShowTheSyntax) {
  EXPECT_NE(Rewrite("SELECT * FROM table_at(orders, version => 1)").find("Parser Error"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', version => 'x')").find("integer"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', version => 1 + 1)").find("literal"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', 3)").find("version => N"), std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', version => 1 2)").find("malformed"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_changes('o')").find("from_version"), std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', version => 1").find("closing parenthesis"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at($1, version => 1)").find("not a parameter"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', version => ?)").find("numbered parameters"),
            std::string::npos);
  EXPECT_NE(Rewrite("SELECT * FROM table_at('o', version => now())").find("literal"),
            std::string::npos);
}

TEST(TableFunctions, VersionsAndTimestampsMayBeParameters) {
  Recorder recorder;
  auto out = RewriteTableFunctions(
      "SELECT * FROM table_at('a', version => $2) JOIN table_at('b', timestamp => $1) USING (id) "
      "JOIN table_changes('c', $3, $4) USING (id) WHERE x = $5",
      recorder.resolver());
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(recorder.calls.size(), 3U);
  EXPECT_EQ(recorder.calls[0].version_parameter, 2);
  EXPECT_FALSE(recorder.calls[0].version);
  EXPECT_EQ(recorder.calls[1].timestamp_parameter, 1);
  EXPECT_EQ(recorder.calls[2].from_parameter, 3);
  EXPECT_EQ(recorder.calls[2].to_parameter, 4);
  EXPECT_TRUE(recorder.calls[2].HasParameters());
  EXPECT_EQ(ParameterNumbers(*out), std::vector<int>{5});
}

TEST(TableFunctions, FindsAndRenumbersParametersOutsideQuotes) {
  std::string_view sql = "SELECT $3, '$1', \"$2\", a$1, $3 -- $9\n FROM t WHERE x = $12";
  EXPECT_EQ(ParameterNumbers(sql), (std::vector<int>{3, 12}));
  EXPECT_EQ(RenumberParameters(sql, {{3, 1}, {12, 2}}),
            "SELECT $1, '$1', \"$2\", a$1, $1 -- $9\n FROM t WHERE x = $2");
}

TEST(TableFunctions, ResolverErrorsPassThrough) {
  auto out = RewriteTableFunctions("SELECT * FROM table_at('nope')", [](const auto&) {
    return Result<std::string>(Status::NotFound("Catalog Error: Table with name nope"));
  });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace freshet::server::pgwire
