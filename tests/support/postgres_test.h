#pragma once

// GoogleTest support for suites that need PostgreSQL.
//
// Link a test binary with freshet_testing_main: its main() registers PostgresEnvironment,
// which starts one ThrowawayPostgres for the whole binary and stops it at the end (and the
// server's guardian cleans up if the binary dies instead). Tests derive from PostgresTest
// and get a database of their own, created before the test and dropped after it.

#include <string>

#include <gtest/gtest.h>

#include "pg/connection.h"
#include "throwaway_postgres.h"

namespace freshet::testing {

class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// The server PostgresEnvironment started. REQUIRES: inside a test of a binary linked with
// freshet_testing_main.
ThrowawayPostgres& SharedPostgres();

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  ThrowawayPostgres& server() { return SharedPostgres(); }
  // This test's own database.
  const std::string& database() const { return database_; }
  // Superuser DSN for this test's database.
  std::string dsn() const { return SharedPostgres().Dsn(database_); }
  // A superuser connection to this test's database; fails the test when it cannot connect.
  pg::Connection Connect();
  // Runs SQL in this test's database; fails the test on error.
  void Sql(std::string_view sql);

 private:
  std::string database_;
};

}  // namespace freshet::testing
