#include "postgres_test.h"

#include <atomic>
#include <cctype>
#include <memory>

namespace freshet::testing {
namespace {

std::unique_ptr<ThrowawayPostgres>& Server() {
  static std::unique_ptr<ThrowawayPostgres> server;
  return server;
}

// "t_doctor_reportswallevel_3": lower case, within PostgreSQL's 63-byte identifier limit,
// unique within the binary even for parameterised tests.
std::string DatabaseNameForCurrentTest() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string raw = std::string(info->test_suite_name()) + "_" + info->name();
  std::string name = "t_";
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    name.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_');
  }
  name.resize(std::min<size_t>(name.size(), 50));
  return name + "_" + std::to_string(counter++);
}

}  // namespace

void PostgresEnvironment::SetUp() {
  auto server = ThrowawayPostgres::Start();
  ASSERT_TRUE(server.ok()) << "cannot start the throwaway PostgreSQL: " << server.status();
  Server() = std::move(server).value();
}

void PostgresEnvironment::TearDown() {
  if (Server()) {
    Status status = Server()->Stop();
    EXPECT_TRUE(status.ok()) << status;
  }
  Server().reset();
}

ThrowawayPostgres& SharedPostgres() {
  FRESHET_CHECK(Server() != nullptr) << "no throwaway PostgreSQL: link freshet_testing_main";
  return *Server();
}

void PostgresTest::SetUp() {
  database_ = DatabaseNameForCurrentTest();
  Status status = server().CreateDatabase(database_);
  ASSERT_TRUE(status.ok()) << status;
}

void PostgresTest::TearDown() {
  Status status = server().DropDatabase(database_);
  EXPECT_TRUE(status.ok()) << status;
}

pg::Connection PostgresTest::Connect() {
  auto connection = pg::Connection::Open({.dsn = dsn()});
  FRESHET_CHECK(connection.ok()) << connection.status().ToString();
  return std::move(connection).value();
}

void PostgresTest::Sql(std::string_view sql) {
  Status status = server().Execute(database_, sql);
  ASSERT_TRUE(status.ok()) << status;
}

}  // namespace freshet::testing
