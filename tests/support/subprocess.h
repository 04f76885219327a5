#pragma once

// Running helper programs from tests and test tools: initdb, pg_ctl, the freshet binary.

#include <string>
#include <vector>

#include "common/result.h"

namespace freshet::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) with the given arguments, waits, and returns its exit code
// and output. Fails only when the program cannot be started.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv);

// Runs argv with this process's stdin, stdout and stderr, waits, and returns its exit code
// (128 + signal when killed). Output streams as it comes, for long-running demos.
Result<int> RunCommandInForeground(const std::vector<std::string>& argv);

// "a b 'c d'": argv quoted for messages.
std::string JoinCommand(const std::vector<std::string>& argv);

}  // namespace freshet::testing
