// The freshet binary's own surface: --version, --help, init and validate, run as a user would.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/database.h"
#include "lake/change_feed.h"
#include "lake/fs/file_system.h"
#include "lake/table_writer.h"
#include "lake/upsert_writer.h"
#include "postgres_test.h"
#include "subprocess.h"

namespace freshet {
namespace {

using testing::CommandResult;

CommandResult Freshet(std::vector<std::string> args) {
  args.insert(args.begin(), FRESHET_BINARY);
  auto result = testing::RunCommand(args);
  FRESHET_CHECK(result.ok()) << result.status().ToString();
  return std::move(result).value();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("freshet-cli-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(CliTest, VersionAndHelp) {
  CommandResult version = Freshet({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("freshet 0."), std::string::npos) << version.output;
  EXPECT_NE(version.output.find("DuckDB v1.4"), std::string::npos) << version.output;
  CommandResult help = Freshet({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"doctor", "init", "validate"}) {
    EXPECT_NE(help.output.find(command), std::string::npos) << command << "\n" << help.output;
  }
  CommandResult none = Freshet({});
  EXPECT_NE(none.exit_code, 0);
  CommandResult bogus = Freshet({"frobnicate"});
  EXPECT_NE(bogus.exit_code, 0);
  EXPECT_NE(bogus.output.find("frobnicate"), std::string::npos) << bogus.output;
}

TEST_F(CliTest, InitWritesAValidConfigAndNeverOverwritesSilently) {
  std::string path = (dir_ / "freshet.yaml").string();
  CommandResult init = Freshet({"init", "-o", path});
  ASSERT_EQ(init.exit_code, 0) << init.output;
  CommandResult validate = Freshet({"validate", "--config", path});
  EXPECT_EQ(validate.exit_code, 0) << validate.output;
  EXPECT_NE(validate.output.find("shop: slot freshet_shop"), std::string::npos) << validate.output;

  CommandResult again = Freshet({"init", "-o", path});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  EXPECT_EQ(Freshet({"init", "-o", path, "--force"}).exit_code, 0);
}

TEST_F(CliTest, ValidateNamesTheBadLine) {
  std::string path = (dir_ / "bad.yaml").string();
  std::ofstream(path) << "pipelines:\n  - name: shop\n    source:\n      postgres:\n"
                         "        dsn: postgres://x@127.0.0.1/db\n    flush:\n"
                         "      max_bytes: lots\n";
  CommandResult validate = Freshet({"validate", "--config", path});
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_NE(validate.output.find(path + ":7: pipelines[0].flush.max_bytes: 'lots' is not a size"),
            std::string::npos)
      << validate.output;
  CommandResult missing = Freshet({"validate", "--config", (dir_ / "nope.yaml").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("freshet init"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace freshet

namespace freshet {
namespace {

class GenerateCommandTest : public testing::PostgresTest {};

TEST_F(GenerateCommandTest, RunsTheWorkloadAndReportsCounts) {
  CommandResult run = Freshet(
      {"generate", "--dsn", dsn(), "--rate", "0", "--duration", "0", "--max-changes", "500"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("generate: done,"), std::string::npos) << run.output;
  auto connection = Connect();
  auto orders = connection.Query("SELECT count(*) FROM orders");
  ASSERT_TRUE(orders.ok()) << orders.status();
  EXPECT_GT(*orders->GetInt(0, 0), 0);

  CommandResult bad = Freshet({"generate", "--dsn", "postgres://x@127.0.0.1:1/db"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("Connection refused"), std::string::npos) << bad.output;
}

TEST_F(CliTest, TableChangesPrintsTheFeedAsJsonLines) {
  std::string table = (dir_ / "orders").string();
  lake::LocalFileSystem fs;
  auto database = engine::Database::Open("");
  ASSERT_TRUE(database.ok()) << database.status();
  auto connection = database->Connect();
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto schema = lake::ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"note","type":"string","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok()) << schema.status();
  lake::CreateTableOptions options{*schema};
  options.configuration["delta.enableChangeDataFeed"] = "true";
  ASSERT_TRUE(lake::CreateTable(fs, table, options).ok());
  lake::UpsertOptions upsert{{"id"}, false, {}};
  auto writer = lake::UpsertWriter::Open(fs, *connection, table, upsert);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto change = [](lake::ChangeOp op, int64_t id, const char* note) {
    lake::RowChange out;
    out.op = op;
    std::vector<engine::Value> row{engine::Value::Int(id), engine::Value::String(note)};
    (op == lake::ChangeOp::kDelete ? out.old_row : out.row) = row;
    return out;
  };
  ASSERT_TRUE(writer->Apply({{change(lake::ChangeOp::kInsert, 1, "new")}}).ok());
  ASSERT_TRUE(writer->Apply({{change(lake::ChangeOp::kUpdate, 1, "paid")}}).ok());
  ASSERT_TRUE(writer->Apply({{change(lake::ChangeOp::kDelete, 1, "paid")}}).ok());

  CommandResult all = Freshet({"table", "changes", table, "--from", "1"});
  ASSERT_EQ(all.exit_code, 0) << all.output;
  // Commit times are the commit files' times: only their form is fixed.
  std::string output = std::regex_replace(
      all.output, std::regex(R"("_commit_timestamp":"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")"),
      "TS");
  const char* ts = "TS";
  EXPECT_EQ(output,
            fmt::format(R"({{"id":1,"note":"new","_change_type":"insert","_commit_version":1,{}}})"
                        "\n"
                        R"({{"id":1,"note":"new","_change_type":"update_preimage",)"
                        R"("_commit_version":2,{}}})"
                        "\n"
                        R"({{"id":1,"note":"paid","_change_type":"update_postimage",)"
                        R"("_commit_version":2,{}}})"
                        "\n"
                        R"({{"id":1,"note":"paid","_change_type":"delete","_commit_version":3,{}}})"
                        "\n",
                        ts, ts, ts, ts));
  CommandResult one = Freshet({"table", "changes", table, "--from", "3", "--to", "3"});
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(std::count(one.output.begin(), one.output.end(), '\n'), 1) << one.output;

  CommandResult beyond = Freshet({"table", "changes", table, "--from", "2", "--to", "9"});
  EXPECT_EQ(beyond.exit_code, 2) << beyond.output;
  EXPECT_NE(beyond.output.find("the table has versions up to 3"), std::string::npos)
      << beyond.output;
  CommandResult missing = Freshet({"table", "changes", table});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("--from"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace freshet
