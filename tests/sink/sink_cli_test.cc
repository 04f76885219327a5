// `freshet sink run --once` and `freshet sink status` driven like an operator would.

#include <fstream>

#include <gtest/gtest.h>

#include "sink/sink_test_fixture.h"
#include "subprocess.h"

namespace freshet::sink {
namespace {

using lake::ChangeOp;
using sink::testing::Item;
using sink::testing::ItemsSchemaJson;

class SinkCliTest : public sink::testing::SinkTest {
 protected:
  std::string WriteConfig(const std::string& sinks_yaml) {
    std::string path = dir_.path() + "/freshet.yaml";
    std::ofstream(path) << "pipelines:\n"
                           "  - name: shop\n"
                           "    source: {postgres: {dsn: \"postgres://nobody@127.0.0.1:1/x\"}}\n"
                           "    lake: {root: \""
                        << root_ << "\"}\n"
                        << sinks_yaml;
    return path;
  }

  freshet::testing::CommandResult Freshet(std::vector<std::string> args) {
    args.insert(args.begin(), FRESHET_BINARY);
    auto result = freshet::testing::RunCommand(args);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : freshet::testing::CommandResult{};
  }
};

TEST_F(SinkCliTest, RunOnceAppliesAndStatusReportsTheOffsets) {
  CreateLakeTable(TablePath("public", "items"), ItemsSchemaJson());
  Apply({Item(ChangeOp::kInsert, 1, "one", 100)});
  Apply({Item(ChangeOp::kUpdate, 1, "uno", 101), Item(ChangeOp::kInsert, 2, "two", 200)});
  std::string config = WriteConfig(
      "    sinks:\n"
      "      - postgres:\n"
      "          dsn: \"" +
      dsn() +
      "\"\n"
      "          name: serving\n"
      "          tables:\n"
      "            - {from: public.*, to: \"analytics.{table}\"}\n");
  auto run = Freshet({"sink", "run", "--config", config, "--once"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("caught up"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(server().superuser_password()), std::string::npos) << run.output;
  EXPECT_EQ(Rows("SELECT * FROM analytics.items ORDER BY id"),
            (std::vector<std::string>{"1|uno|1.01|∅", "2|two|2.00|∅"}));

  Apply({Item(ChangeOp::kInsert, 3, "three", 300)});
  auto status = Freshet({"sink", "status", "--config", config, "--json"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("\"applied_version\": 2"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"latest_version\": 3"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"state\": \"following\""), std::string::npos) << status.output;
}

TEST_F(SinkCliTest, NoSinksAndUnreachableDestinationAreClearErrors) {
  std::string config = WriteConfig("");
  auto none = Freshet({"sink", "status", "--config", config});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.output.find("has no sinks; add a sinks: list"), std::string::npos) << none.output;
  config = WriteConfig(
      "    sinks:\n"
      "      - postgres: {dsn: \"postgres://nobody@127.0.0.1:1/x\", tables: [{from: a.b}]}\n");
  auto down = Freshet({"sink", "run", "--config", config, "--once"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.output.find("sink postgres_0"), std::string::npos) << down.output;
}

}  // namespace
}  // namespace freshet::sink
