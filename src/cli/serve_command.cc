#include "cli/serve_command.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/shutdown.h"
#include "server/pgwire/config.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/server.h"
#include "server/table_catalog.h"

namespace freshet::cli {
namespace {

Result<server::pgwire::PgwireConfig> LoadServeConfig(const std::string& file) {
  FRESHET_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(file));
  FRESHET_RETURN_IF_ERROR(root.CheckKeys({"server"}));
  FRESHET_ASSIGN_OR_RETURN(ConfigNode server, root.Get("server"));
  FRESHET_RETURN_IF_ERROR(server.CheckKeys({"pgwire"}));
  FRESHET_ASSIGN_OR_RETURN(ConfigNode pgwire, server.Get("pgwire"));
  return server::pgwire::LoadPgwireConfig(pgwire, std::filesystem::absolute(file).parent_path());
}

// Reads one line from stdin without echo when it is a terminal.
std::string ReadSecretLine(const char* prompt) {
  bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt);
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

CLI::App* AddServeCommand(CLI::App& app, ServeArgs& args) {
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the PostgreSQL-wire SQL gateway (server.pgwire in the configuration)");
  serve->add_option("--config", args.config_file, "YAML configuration file")->required();
  return serve;
}

int RunServe(const ServeArgs& args) {
  auto config = LoadServeConfig(args.config_file);
  if (!config.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", config.status().message());
    return 2;
  }
  auto shutdown = ShutdownSignal::Install();
  if (!shutdown.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", shutdown.status().message());
    return 1;
  }
  server::StaticTableCatalog catalog(config->tables);
  auto server = server::pgwire::PgwireServer::Start(config->options, catalog);
  if (!server.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", server.status().message());
    return 1;
  }
  spdlog::info("freshet serve: SQL gateway on {}:{} ({} users, {} tables); Ctrl-C stops",
               config->options.host, (*server)->port(), config->options.users.size(),
               config->tables.size());
  while (!(*shutdown)->WaitFor(std::chrono::seconds(1))) {
  }
  spdlog::info("freshet serve: shutting down");
  (*server)->Stop();
  return 0;
}

CLI::App* AddPasswdCommand(CLI::App& app, PasswdArgs& args) {
  CLI::App* passwd = app.add_subcommand(
      "passwd",
      "Print a SCRAM-SHA-256 verifier for a password (read from stdin), for server.pgwire.users");
  passwd->add_option("--password-file", args.password_file,
                     "read the password from the first line of this file");
  passwd->add_option("--iterations", args.iterations, "PBKDF2 iterations")
      ->capture_default_str()
      ->check(CLI::Range(4096, 1000000));
  return passwd;
}

int RunPasswd(const PasswdArgs& args) {
  std::string password;
  if (args.password_file) {
    std::ifstream in(*args.password_file);
    if (!in) {
      fmt::print(stderr, "freshet passwd: cannot read {}\n", *args.password_file);
      return 2;
    }
    std::getline(in, password);
  } else {
    password = ReadSecretLine("Password: ");
  }
  if (password.empty()) {
    fmt::print(stderr, "freshet passwd: the password is empty\n");
    return 2;
  }
  auto verifier = server::pgwire::MakeScramVerifier(password, args.iterations);
  if (!verifier.ok()) {
    fmt::print(stderr, "freshet passwd: {}\n", verifier.status().message());
    return 1;
  }
  fmt::print("{}\n", verifier->ToString());
  return 0;
}

}  // namespace freshet::cli
