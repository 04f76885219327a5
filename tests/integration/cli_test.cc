// The freshet binary's own surface: --version, --help, init and validate, run as a user would.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace freshet
