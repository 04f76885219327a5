#include "cli/serve_command.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/app_config.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/shutdown.h"
#include "lake/fs/file_system.h"
#include "server/http/http_server.h"
#include "server/lake_table_catalog.h"
#include "server/pgwire/config.h"
#include "server/pgwire/scram.h"
#include "server/pgwire/server.h"
#include "server/table_catalog.h"

namespace freshet::cli {
namespace {

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

Result<std::unique_ptr<server::LakeTableCatalog>> OpenGatewayCatalog(const AppConfig& app_config,
                                                                     lake::FileSystem& fs) {
  const server::pgwire::PgwireConfig& config = *app_config.server.pgwire;
  server::LakeCatalogOptions lake;
  lake.fixed_tables = config.tables;
  auto add_root = [&](const std::string& root) {
    std::string absolute = std::filesystem::absolute(root).lexically_normal().string();
    while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
    if (std::find(lake.roots.begin(), lake.roots.end(), absolute) == lake.roots.end()) {
      lake.roots.push_back(absolute);
    }
  };
  for (const auto& pipeline : app_config.pipelines) add_root(pipeline.lake.root);
  for (const auto& root : config.lake_roots) add_root(root);
  return server::LakeTableCatalog::Open(fs, std::move(lake));
}

CLI::App* AddServeCommand(CLI::App& app, ServeArgs& args) {
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the PostgreSQL-wire SQL gateway (server.pgwire in the configuration)");
  serve->add_option("--config", args.config_file, "YAML configuration file")->required();
  return serve;
}

int RunServe(const ServeArgs& args) {
  auto app_config = LoadAppConfig(args.config_file);
  if (!app_config.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", app_config.status().message());
    return 2;
  }
  if (!app_config->server.pgwire) {
    fmt::print(stderr,
               "freshet serve: {} has no server.pgwire section; add one (see README.md, "
               "`freshet serve`)\n",
               args.config_file);
    return 2;
  }
  const server::pgwire::PgwireConfig* config = &*app_config->server.pgwire;
  auto shutdown = ShutdownSignal::Install();
  if (!shutdown.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", shutdown.status().message());
    return 1;
  }
  lake::LocalFileSystem fs;
  auto catalog = OpenGatewayCatalog(*app_config, fs);
  if (!catalog.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", catalog.status().message());
    return 1;
  }
  auto server = server::pgwire::PgwireServer::Start(config->options, **catalog);
  if (!server.ok()) {
    fmt::print(stderr, "freshet serve: {}\n", server.status().message());
    return 1;
  }
  // /metrics, /healthz and /readyz, when the configuration asks for them.
  MetricsRegistry metrics;
  std::unique_ptr<server::HttpServer> http;
  if (app_config->server.http_listen) {
    auto started = server::HttpServer::Start(*app_config->server.http_listen, metrics, nullptr);
    if (!started.ok()) {
      fmt::print(stderr, "freshet serve: {}\n", started.status().message());
      return 1;
    }
    http = std::move(started).value();
    spdlog::info("freshet serve: HTTP on {} (/metrics, /healthz, /readyz)",
                 *app_config->server.http_listen);
  }
  spdlog::info(
      "freshet serve: SQL gateway on {}:{} ({} users, {} fixed tables, lake roots: {}); Ctrl-C "
      "stops",
      config->options.host, (*server)->port(), config->options.users.size(), config->tables.size(),
      (*catalog)->roots().empty() ? "none"
                                  : fmt::format("{}", fmt::join((*catalog)->roots(), ", ")));
  while (!(*shutdown)->WaitFor(std::chrono::seconds(1))) {
  }
  spdlog::info("freshet serve: shutting down");
  (*server)->Stop();
  if (http) http->Stop();
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
