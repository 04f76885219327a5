// delta-conformance FRESHET CASE_DIR SCRATCH_DIR: checks one case of the Delta conformance
// corpus (../shared/conformance/delta/README.md). For every version with an expected file it
// runs `freshet table export CASE/table --version V --format jsonl`, sorts the lines byte-wise
// and compares them with expected/v<V>.jsonl. On a difference it names the case, the version
// and the first differing row, and exits 1.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "subprocess.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

int CheckVersion(const std::string& freshet, const std::string& name, const std::string& table,
                 const std::string& expected_path, int64_t version, const std::string& zone,
                 const std::string& scratch) {
  std::string output = fmt::format("{}/{}-v{}.jsonl", scratch, name, version);
  std::vector<std::string> argv = {freshet,
                                   "table",
                                   "export",
                                   table,
                                   "--version",
                                   std::to_string(version),
                                   "--format",
                                   "jsonl",
                                   "--output",
                                   output,
                                   "--partition-time-zone",
                                   zone};
  auto run = freshet::testing::RunCommand(argv);
  if (!run.ok() || run->exit_code != 0) {
    fmt::print("FAIL {} version {}: {} exited {}: {}\n", name, version,
               freshet::testing::JoinCommand(argv), run.ok() ? run->exit_code : -1,
               run.ok() ? run->output : run.status().ToString());
    return 1;
  }
  std::vector<std::string> actual = Lines(ReadFile(output));
  std::sort(actual.begin(), actual.end());
  std::vector<std::string> expected = Lines(ReadFile(expected_path));
  for (size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
    std::string want = i < expected.size() ? expected[i] : "<no row>";
    std::string got = i < actual.size() ? actual[i] : "<no row>";
    if (want != got) {
      fmt::print(
          "FAIL {} version {}: row {} differs ({} rows expected, {} read)\n  expected: "
          "{}\n  actual:   {}\n",
          name, version, i + 1, expected.size(), actual.size(), want, got);
      return 1;
    }
  }
  fmt::print("ok   {} version {}: {} rows\n", name, version, actual.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: delta-conformance FRESHET CASE_DIR SCRATCH_DIR\n");
    return 2;
  }
  std::string freshet = argv[1];
  std::string case_dir = argv[2];
  std::string scratch = argv[3];
  std::filesystem::create_directories(scratch);
  auto spec = nlohmann::json::parse(ReadFile(case_dir + "/case.json"), nullptr, false);
  if (spec.is_discarded() || !spec.contains("expected")) {
    fmt::print("FAIL {}: case.json is missing or malformed\n", case_dir);
    return 1;
  }
  std::string name = spec.value("name", case_dir);
  std::string zone = spec.value("partitionTimeZone", "UTC");
  if (spec.contains("setup")) {
    fmt::print("FAIL {}: the case needs a setup step this runner does not perform: {}\n", name,
               spec["setup"].dump());
    return 1;
  }
  int failures = 0;
  for (const auto& expected : spec["expected"]) {
    failures += CheckVersion(freshet, name, case_dir + "/table",
                             case_dir + "/" + expected["file"].get<std::string>(),
                             expected["version"].get<int64_t>(), zone, scratch);
  }
  return failures == 0 ? 0 : 1;
}
