// `freshet doctor` against real throwaway PostgreSQL servers: the library checks and the
// binary's output and exit code.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "pg/preflight.h"
#include "postgres_test.h"
#include "subprocess.h"

namespace freshet {
namespace {

using pg::CheckState;
using testing::CommandResult;
using testing::PostgresTest;
using testing::RunCommand;

const pg::CheckResult* Find(const pg::PreflightReport& report, std::string_view name) {
  for (const auto& check : report.checks) {
    if (check.name == name) return &check;
  }
  return nullptr;
}

std::string Describe(const pg::PreflightReport& report) {
  std::string out;
  for (const auto& c : report.checks) {
    out += fmt::format("{} {} {} {}\n", pg::CheckStateName(c.state), c.name, c.message, c.fix);
  }
  return out;
}

pg::PreflightReport Preflight(const std::string& dsn,
                              std::optional<std::string> publication = std::nullopt) {
  pg::PreflightOptions options;
  options.connection.dsn = dsn;
  options.publication = std::move(publication);
  return pg::RunPreflight(options);
}

CommandResult Doctor(std::vector<std::string> args) {
  args.insert(args.begin(), {FRESHET_BINARY, "doctor"});
  auto result = RunCommand(args);
  FRESHET_CHECK(result.ok()) << result.status().ToString();
  return std::move(result).value();
}

size_t LineCount(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class DoctorTest : public PostgresTest {};

TEST_F(DoctorTest, HealthyServerPassesEveryCheck) {
  pg::PreflightReport report = Preflight(dsn());
  EXPECT_FALSE(report.HasProblems()) << Describe(report);
  for (const char* name : {"connection", "server_version", "wal_level", "replication_slots",
                           "wal_senders", "replication_privilege", "slots"}) {
    const auto* check = Find(report, name);
    ASSERT_NE(check, nullptr) << name << " missing from\n" << Describe(report);
    EXPECT_EQ(check->state, CheckState::kOk) << Describe(report);
  }
  CommandResult cli = Doctor({"--dsn", dsn()});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_NE(cli.output.find("ready for change capture"), std::string::npos) << cli.output;
  EXPECT_EQ(cli.output.find(server().superuser_password()), std::string::npos)
      << "the password must never be printed";
}

TEST_F(DoctorTest, RoleWithoutReplicationIsReportedWithTheFix) {
  Sql("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'");
  std::string plain_dsn = server().DsnFor("plain", "plain-pw", database());
  pg::PreflightReport report = Preflight(plain_dsn);
  const auto* check = Find(report, "replication_privilege");
  ASSERT_NE(check, nullptr) << Describe(report);
  EXPECT_EQ(check->state, CheckState::kProblem);
  EXPECT_NE(check->fix.find("ALTER ROLE plain WITH REPLICATION"), std::string::npos) << check->fix;
  EXPECT_TRUE(report.HasProblems());

  CommandResult cli = Doctor({"--dsn", plain_dsn});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.output.find("FAIL  replication_privilege"), std::string::npos) << cli.output;

  Sql("ALTER ROLE plain WITH REPLICATION");
  report = Preflight(plain_dsn);
  EXPECT_EQ(Find(report, "replication_privilege")->state, CheckState::kOk) << Describe(report);
  EXPECT_FALSE(report.HasProblems()) << Describe(report);
  Sql("DROP OWNED BY plain; DROP ROLE plain");
}

TEST_F(DoctorTest, TableWithoutPrimaryKeyInPublicationIsReported) {
  Sql("CREATE TABLE keyed (id int PRIMARY KEY, v text);"
      "CREATE TABLE full_identity (v text); ALTER TABLE full_identity REPLICA IDENTITY FULL;"
      "CREATE TABLE \"No Key\" (v text);"
      "CREATE TABLE unique_index (a int NOT NULL); CREATE UNIQUE INDEX ui ON unique_index (a);"
      "ALTER TABLE unique_index REPLICA IDENTITY USING INDEX ui;"
      "CREATE PUBLICATION shop FOR TABLE keyed, full_identity, \"No Key\", unique_index;"
      "CREATE PUBLICATION tidy FOR TABLE keyed, full_identity, unique_index;");
  pg::PreflightReport report = Preflight(dsn(), "shop");
  const auto* check = Find(report, "publication shop");
  ASSERT_NE(check, nullptr) << Describe(report);
  EXPECT_EQ(check->state, CheckState::kProblem);
  EXPECT_NE(check->message.find("public.\"No Key\""), std::string::npos) << check->message;
  EXPECT_EQ(check->message.find("keyed"), std::string::npos) << check->message;
  EXPECT_EQ(check->message.find("full_identity"), std::string::npos) << check->message;
  EXPECT_EQ(check->message.find("unique_index"), std::string::npos) << check->message;
  EXPECT_NE(check->fix.find("REPLICA IDENTITY FULL"), std::string::npos);

  report = Preflight(dsn(), "tidy");
  EXPECT_EQ(Find(report, "publication tidy")->state, CheckState::kOk) << Describe(report);

  report = Preflight(dsn(), "missing");
  EXPECT_EQ(Find(report, "publication missing")->state, CheckState::kWarning) << Describe(report);
  EXPECT_FALSE(report.HasProblems());

  CommandResult cli = Doctor({"--dsn", dsn(), "--publication", "shop"});
  EXPECT_EQ(cli.exit_code, 1) << cli.output;
  EXPECT_NE(cli.output.find("No Key"), std::string::npos) << cli.output;
}

TEST_F(DoctorTest, UnreachableServerIsOneClearLine) {
  // A port nobody listens on: start nothing there.
  std::string dead = "postgres://someone@127.0.0.1:1/db";
  pg::PreflightReport report = Preflight(dead);
  ASSERT_EQ(report.checks.size(), 1u) << Describe(report);
  EXPECT_EQ(report.checks[0].state, CheckState::kProblem);

  CommandResult cli = Doctor({"--dsn", dead});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(LineCount(cli.output), 1u) << cli.output;
  EXPECT_NE(cli.output.find("FAIL  connection  cannot reach postgres://someone@127.0.0.1:1/db"),
            std::string::npos)
      << cli.output;
  EXPECT_NE(cli.output.find("Connection refused"), std::string::npos) << cli.output;
  EXPECT_NE(cli.output.find("fix: check host and port"), std::string::npos) << cli.output;
}

TEST_F(DoctorTest, WrongPasswordSaysAuthenticationFailedAndHidesThePassword) {
  std::string wrong = "Wr0ng-Secret-xyz";
  std::string bad_dsn = server().DsnFor("postgres", wrong, database());
  CommandResult cli = Doctor({"--dsn", bad_dsn});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(LineCount(cli.output), 1u) << cli.output;
  EXPECT_NE(cli.output.find("authentication failed"), std::string::npos) << cli.output;
  EXPECT_EQ(cli.output.find(wrong), std::string::npos) << "password leaked: " << cli.output;

  // The same through FRESHET_PASSWORD and --password-file, which override the DSN's.
  std::string no_password_dsn = server().DsnFor("postgres", "", database());
  setenv("FRESHET_PASSWORD", wrong.c_str(), 1);
  cli = Doctor({"--dsn", no_password_dsn});
  EXPECT_NE(cli.output.find("authentication failed"), std::string::npos) << cli.output;
  EXPECT_EQ(cli.output.find(wrong), std::string::npos) << cli.output;
  setenv("FRESHET_PASSWORD", server().superuser_password().c_str(), 1);
  cli = Doctor({"--dsn", no_password_dsn});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  unsetenv("FRESHET_PASSWORD");

  std::string file = std::filesystem::temp_directory_path() / ("freshet-pw-" + database());
  std::ofstream(file) << server().superuser_password() << "\n";
  cli = Doctor({"--dsn", no_password_dsn, "--password-file", file});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  std::filesystem::remove(file);
  cli = Doctor({"--dsn", no_password_dsn, "--password-file", file});
  EXPECT_EQ(cli.exit_code, 2);
  EXPECT_NE(cli.output.find("cannot read password file"), std::string::npos) << cli.output;
}

TEST_F(DoctorTest, UnknownDatabaseAndMalformedDsn) {
  CommandResult cli =
      Doctor({"--dsn", server().DsnFor("postgres", server().superuser_password(), "no_such_db")});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.output.find("does not exist"), std::string::npos) << cli.output;

  cli = Doctor({"--dsn", "host=127.0.0.1 port"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(LineCount(cli.output), 1u) << cli.output;
  EXPECT_NE(cli.output.find("not a valid PostgreSQL connection string"), std::string::npos)
      << cli.output;
}

TEST_F(DoctorTest, ReportsFreshetSlotsAndTheirLag) {
  Sql("SELECT pg_create_logical_replication_slot('freshet_orders', 'pgoutput');"
      "SELECT pg_create_logical_replication_slot('freshet_legacy', 'test_decoding');"
      "SELECT pg_create_logical_replication_slot('someone_else', 'pgoutput');"
      "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g;");
  pg::PreflightOptions options;
  options.connection.dsn = dsn();
  options.retained_wal_warning_bytes = 1024;  // the filler table retains more than this
  pg::PreflightReport report = pg::RunPreflight(options);
  const auto* orders = Find(report, "slot freshet_orders");
  ASSERT_NE(orders, nullptr) << Describe(report);
  EXPECT_EQ(orders->state, CheckState::kWarning) << Describe(report);
  EXPECT_NE(orders->message.find("inactive"), std::string::npos);
  EXPECT_NE(orders->message.find("MB of WAL retained"), std::string::npos) << orders->message;
  EXPECT_NE(orders->fix.find("pg_drop_replication_slot('freshet_orders')"), std::string::npos);
  const auto* legacy = Find(report, "slot freshet_legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_EQ(legacy->state, CheckState::kWarning);
  EXPECT_NE(legacy->message.find("test_decoding"), std::string::npos);
  EXPECT_EQ(Find(report, "slot someone_else"), nullptr) << "only freshet's slots are listed";
  EXPECT_NE(Find(report, "replication_slots")->message.find("3 of 20"), std::string::npos)
      << Describe(report);
  EXPECT_FALSE(report.HasProblems()) << Describe(report);

  options.retained_wal_warning_bytes = uint64_t{1} << 40;
  report = pg::RunPreflight(options);
  EXPECT_EQ(Find(report, "slot freshet_orders")->state, CheckState::kOk) << Describe(report);
}

TEST_F(DoctorTest, JsonOutputParses) {
  CommandResult cli = Doctor({"--dsn", dsn(), "--json"});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  auto parsed = nlohmann::json::parse(cli.output);
  EXPECT_TRUE(parsed["ready"].get<bool>());
  ASSERT_TRUE(parsed["checks"].is_array());
  EXPECT_EQ(parsed["checks"][0]["name"], "connection");
  EXPECT_EQ(parsed["checks"][0]["state"], "ok");
}

// A second server, configured wrong on purpose: wal_level=replica and one slot, taken.
TEST(DoctorMisconfiguredServer, ReportsWalLevelAndFullSlotsWithFixes) {
  testing::PostgresOptions options;
  options.wal_level = "replica";
  options.max_replication_slots = 1;
  auto server = testing::ThrowawayPostgres::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(
      (*server)->Execute("postgres", "SELECT pg_create_physical_replication_slot('x')").ok());

  pg::PreflightReport report = Preflight((*server)->Dsn());
  EXPECT_TRUE(report.HasProblems());
  const auto* wal = Find(report, "wal_level");
  ASSERT_NE(wal, nullptr) << Describe(report);
  EXPECT_EQ(wal->state, CheckState::kProblem);
  EXPECT_NE(wal->message.find("'replica'"), std::string::npos);
  EXPECT_NE(wal->fix.find("ALTER SYSTEM SET wal_level = logical"), std::string::npos);
  EXPECT_NE(wal->fix.find("restart"), std::string::npos);
  const auto* slots = Find(report, "replication_slots");
  ASSERT_NE(slots, nullptr);
  EXPECT_EQ(slots->state, CheckState::kProblem) << Describe(report);
  EXPECT_NE(slots->fix.find("max_replication_slots"), std::string::npos);

  CommandResult cli = Doctor({"--dsn", (*server)->Dsn()});
  EXPECT_EQ(cli.exit_code, 1) << cli.output;
  EXPECT_NE(cli.output.find("FAIL  wal_level"), std::string::npos) << cli.output;
  EXPECT_NE(cli.output.find("2 problem(s) would stop change capture"), std::string::npos)
      << cli.output;
  EXPECT_TRUE((*server)->Stop().ok());
}

TEST(FormatBytes, RoundsLikeAPerson) {
  EXPECT_EQ(pg::FormatBytes(0), "0 B");
  EXPECT_EQ(pg::FormatBytes(1023), "1023 B");
  EXPECT_EQ(pg::FormatBytes(1536), "1.5 kB");
  EXPECT_EQ(pg::FormatBytes(50LL << 20), "50 MB");
  EXPECT_EQ(pg::FormatBytes(-(3LL << 30)), "-3.0 GB");
}

}  // namespace
}  // namespace freshet
