#include "common/logging.h"

#include <regex>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace freshet {
namespace {

TEST(Logging, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("warning"), spdlog::level::warn);
  auto bad = ParseLogLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("trace, debug, info"), std::string::npos);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

std::string LogOne(LogFormat format, spdlog::level::level_enum level, const std::string& text) {
  std::ostringstream out;
  spdlog::logger logger("", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger.set_formatter(MakeLogFormatter(format));
  logger.log(level, text);
  return out.str();
}

TEST(Logging, TextLinesCarryUtcTimeAndLevel) {
  std::string line = LogOne(LogFormat::kText, spdlog::level::warn, "slot lag is 5 GB");
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warning slot lag is 5 GB\n)")))
      << line;
}

TEST(Logging, JsonLinesAreValidJsonEvenForAwkwardText) {
  std::string awkward = "quote \" backslash \\ newline \n tab \t bad utf8 \xff end";
  std::string line = LogOne(LogFormat::kJson, spdlog::level::err, awkward);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one object per line";
  auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_TRUE(std::regex_match(parsed["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  std::string msg = parsed["msg"];
  EXPECT_EQ(msg.substr(0, 30), awkward.substr(0, 30));
  EXPECT_NE(msg.find("end"), std::string::npos);
}

TEST(Logging, ConfigureSetsTheDefaultLoggerLevel) {
  ConfigureLogging({spdlog::level::debug, LogFormat::kJson});
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  ConfigureLogging({});
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

}  // namespace
}  // namespace freshet
