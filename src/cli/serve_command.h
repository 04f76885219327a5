#pragma once

// `freshet serve --config FILE`: runs the PostgreSQL-wire SQL gateway (no pipelines) until
// SIGINT or SIGTERM, then stops it gracefully. `freshet passwd`: prints a SCRAM-SHA-256
// verifier for a password read from stdin (or --password-file), for `server.pgwire.users`.

#include <memory>
#include <optional>
#include <string>

#include "cli/app_config.h"
#include "common/result.h"
#include "lake/fs/file_system.h"
#include "server/lake_table_catalog.h"

namespace CLI {
class App;
}

namespace freshet::cli {

// The gateway's tables: every pipeline's lake root (relative to the working directory, as the
// pipeline reads it), server.pgwire.lake_roots, and the Parquet tables listed in the
// configuration. `fs` must outlive the catalog. The configuration has a server.pgwire section.
Result<std::unique_ptr<server::LakeTableCatalog>> OpenGatewayCatalog(const AppConfig& app_config,
                                                                     lake::FileSystem& fs);

struct ServeArgs {
  std::string config_file;
};

struct PasswdArgs {
  std::optional<std::string> password_file;
  int iterations = 4096;
};

CLI::App* AddServeCommand(CLI::App& app, ServeArgs& args);
int RunServe(const ServeArgs& args);

CLI::App* AddPasswdCommand(CLI::App& app, PasswdArgs& args);
int RunPasswd(const PasswdArgs& args);

}  // namespace freshet::cli
