#pragma once

// The `server.pgwire` section of freshet's configuration:
//
//   server:
//     pgwire:
//       listen: 127.0.0.1:5433
//       tls: {cert: server.crt, key: server.key}      # optional; add cleartext_password:
//                                                      # true to ask TLS clients for a
//                                                      # cleartext password instead of SCRAM
//       users:
//         - name: analyst
//           password: "SCRAM-SHA-256$4096:..."         # `freshet passwd` prints one
//           grants: ["public.*"]                       # schema.table patterns
//       statement_timeout: 5m                          # optional, default none
//       session_memory_limit: 1GB                      # optional, per session
//       session_threads: 2                             # optional, per session
//       max_connections: 100                           # optional
//       lake_roots: [/data/lake]                       # optional: more lake roots to serve
//                                                      # (every pipeline's lake.root is
//                                                      # served anyway)
//       tables:                                        # optional: Parquet files served
//         - name: public.orders                        # as fixed tables
//           files: [/data/orders/part-0.parquet]
//
// Relative file paths are resolved against `base_dir` (the configuration file's folder).

#include <filesystem>
#include <vector>

#include "common/config.h"
#include "server/pgwire/server.h"
#include "server/table_catalog.h"

namespace freshet::server::pgwire {

struct PgwireConfig {
  ServerOptions options;
  std::vector<TableEntry> tables;
  // Folders holding <schema>/<table>/_delta_log, absolute.
  std::vector<std::string> lake_roots;
};

Result<PgwireConfig> LoadPgwireConfig(const ConfigNode& pgwire,
                                      const std::filesystem::path& base_dir);

}  // namespace freshet::server::pgwire
