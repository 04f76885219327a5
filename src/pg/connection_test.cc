#include "pg/connection.h"

#include <gtest/gtest.h>

#include "postgres_test.h"

namespace freshet::pg {
namespace {

using testing::PostgresTest;

TEST(RedactDsn, DropsThePasswordAndKeepsTheRest) {
  EXPECT_EQ(RedactDsn("postgres://alice:s3cret@db.example:6543/shop?sslmode=require"),
            "postgres://alice@db.example:6543/shop?sslmode=require");
  EXPECT_EQ(RedactDsn("host=h port=5 dbname=d user=u password=p"), "postgres://u@h:5/d");
  EXPECT_EQ(RedactDsn("postgres:///local"), "postgres:///local");
  EXPECT_EQ(RedactDsn("host=h port"), "<unparseable DSN>");
}

TEST(ValidateDsn, ExplainsHowToWriteOne) {
  EXPECT_TRUE(ValidateDsn("postgres://u@h/d").ok());
  Status bad = ValidateDsn("postgres://u@h/d?nonsense=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.Is(Code::kInvalidArgument));
  EXPECT_NE(bad.message().find("invalid URI query parameter"), std::string::npos) << bad;
  EXPECT_NE(bad.message().find("postgres://user@host:5432/dbname"), std::string::npos);
}

TEST(FormatServerVersion, ModernAndOldNumbering) {
  EXPECT_EQ(FormatServerVersion(150004), "15.4");
  EXPECT_EQ(FormatServerVersion(120000), "12.0");
  EXPECT_EQ(FormatServerVersion(90624), "9.6.24");
}

class ConnectionTest : public PostgresTest {};

TEST_F(ConnectionTest, QueriesWithParametersAndNulls) {
  Connection connection = Connect();
  EXPECT_GE(connection.server_version(), 150000);
  EXPECT_EQ(connection.database(), database());
  auto rows = connection.Query("SELECT $1::int + 1 AS n, $2::text IS NULL AS missing, 'x' AS t",
                               {"41", std::nullopt});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1);
  EXPECT_EQ(rows->column_count(), 3);
  EXPECT_EQ(rows->column_name(0), "n");
  EXPECT_EQ(*rows->GetInt(0, 0), 42);
  EXPECT_TRUE(*rows->GetBool(0, 1));
  EXPECT_EQ(rows->Get(0, 2), "x");
  EXPECT_FALSE(rows->GetInt(0, 2).ok());
  EXPECT_EQ(rows->Get(5, 0), std::nullopt) << "out of range reads are NULL, not a crash";
}

TEST_F(ConnectionTest, ExecuteRunsSeveralStatements) {
  Connection connection = Connect();
  ASSERT_TRUE(connection.Execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2);").ok());
  EXPECT_EQ(*connection.Query("SELECT sum(a) FROM t")->GetInt(0, 0), 3);
}

TEST_F(ConnectionTest, ServerErrorsMapToCodesWithSqlState) {
  Connection connection = Connect();
  Status syntax = connection.Execute("SELEC 1");
  EXPECT_TRUE(syntax.Is(Code::kInvalidArgument)) << syntax;
  EXPECT_NE(syntax.message().find("SQLSTATE 42601"), std::string::npos) << syntax;
  auto missing = connection.Query("SELECT * FROM nowhere");
  EXPECT_TRUE(missing.status().Is(Code::kNotFound)) << missing.status();
  Sql("CREATE TABLE guarded (a int); CREATE ROLE nobody LOGIN PASSWORD 'pw';");
  auto nobody = Connection::Open({.dsn = server().DsnFor("nobody", "pw", database())});
  ASSERT_TRUE(nobody.ok()) << nobody.status();
  auto denied = nobody->Query("SELECT * FROM guarded");
  EXPECT_TRUE(denied.status().Is(Code::kPermissionDenied)) << denied.status();
  ASSERT_TRUE(connection.Execute("CREATE TABLE u (a int UNIQUE); INSERT INTO u VALUES (1)").ok());
  EXPECT_TRUE(connection.Execute("INSERT INTO u VALUES (1)").Is(Code::kAlreadyExists));
  nobody = Status::Cancelled("closed");
  Sql("DROP OWNED BY nobody; DROP ROLE nobody");
}

TEST_F(ConnectionTest, ConnectionFailuresAreClassified) {
  auto wrong_password =
      Connection::Open({.dsn = server().DsnFor("postgres", "not-it", database())});
  EXPECT_TRUE(wrong_password.status().Is(Code::kPermissionDenied)) << wrong_password.status();
  EXPECT_EQ(wrong_password.status().message().find("not-it"), std::string::npos);

  auto no_database = Connection::Open({.dsn = server().Dsn("missing_db")});
  EXPECT_TRUE(no_database.status().Is(Code::kNotFound)) << no_database.status();

  auto refused = Connection::Open({.dsn = "postgres://u@127.0.0.1:1/d"});
  EXPECT_TRUE(refused.status().Is(Code::kUnavailable)) << refused.status();
  EXPECT_EQ(refused.status().message().find('\n'), std::string::npos) << "one line";

  auto malformed = Connection::Open({.dsn = "host=x port"});
  EXPECT_TRUE(malformed.status().Is(Code::kInvalidArgument)) << malformed.status();
}

TEST_F(ConnectionTest, ExplicitPasswordOverridesTheDsn) {
  auto connection = Connection::Open({.dsn = server().DsnFor("postgres", "stale", database()),
                                      .password = server().superuser_password()});
  EXPECT_TRUE(connection.ok()) << connection.status();
}

TEST_F(ConnectionTest, OpensAReplicationConnection) {
  auto connection = Connection::Open({.dsn = dsn(), .replication = true});
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto system = connection->Query("IDENTIFY_SYSTEM");
  ASSERT_TRUE(system.ok()) << system.status();
  EXPECT_EQ(system->column_name(2), "xlogpos");
  EXPECT_EQ(system->Get(0, 3), database());
}

}  // namespace
}  // namespace freshet::pg
