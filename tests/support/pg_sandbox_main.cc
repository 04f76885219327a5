// pg-sandbox: runs a command next to a throwaway PostgreSQL server, then removes the server.
//
//   pg-sandbox [--wal-level LEVEL] [--database NAME] -- COMMAND ARGS...
//
// Every "{dsn}" in the arguments becomes the superuser DSN of the server (also exported as
// FRESHET_SANDBOX_DSN). The exit code is the command's. Used by `make demo`.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "subprocess.h"
#include "throwaway_postgres.h"

namespace {

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

int Usage() {
  fmt::print(stderr,
             "usage: pg-sandbox [--wal-level LEVEL] [--database NAME] -- COMMAND ARGS...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  freshet::testing::PostgresOptions options;
  std::string database = "postgres";
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--wal-level" && i + 1 < argc) {
      options.wal_level = argv[++i];
    } else if (arg == "--database" && i + 1 < argc) {
      database = argv[++i];
    } else {
      return Usage();
    }
  }
  if (i >= argc) return Usage();

  fmt::print(stderr, "pg-sandbox: starting a throwaway PostgreSQL...\n");
  auto server = freshet::testing::ThrowawayPostgres::Start(options);
  if (!server.ok()) {
    fmt::print(stderr, "pg-sandbox: {}\n", server.status().ToString());
    return 1;
  }
  if (database != "postgres") {
    freshet::Status created = (*server)->CreateDatabase(database);
    if (!created.ok()) {
      fmt::print(stderr, "pg-sandbox: {}\n", created.ToString());
      return 1;
    }
  }
  std::string dsn = (*server)->Dsn(database);
  fmt::print(stderr, "pg-sandbox: PostgreSQL listening on 127.0.0.1:{} (data in {})\n",
             (*server)->port(), (*server)->root());
  setenv("FRESHET_SANDBOX_DSN", dsn.c_str(), 1);
  std::vector<std::string> command;
  for (; i < argc; ++i) command.push_back(Replace(argv[i], "{dsn}", dsn));
  // Ctrl-C reaches the command (same process group); the sandbox outlives it to clean up.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  auto exit_code = freshet::testing::RunCommandInForeground(command);
  if (!exit_code.ok()) fmt::print(stderr, "pg-sandbox: {}\n", exit_code.status().ToString());
  freshet::Status stopped = (*server)->Stop();
  if (!stopped.ok()) fmt::print(stderr, "pg-sandbox: {}\n", stopped.ToString());
  fmt::print(stderr, "pg-sandbox: server stopped and removed\n");
  return exit_code.ok() ? *exit_code : 1;
}
