#include "cli/app_config.h"

namespace freshet::cli {
Result<AppConfig> ParseAppConfig(const ConfigNode& root, const std::filesystem::path& base_dir) {
  if (root.IsNull())
    return root.Error("the config file is empty; run `freshet init` for an example");
  FRESHET_RETURN_IF_ERROR(root.CheckKeys({"log", "pipelines", "server"}));
  AppConfig config;
  if (auto log = root.Find("log")) {
    FRESHET_RETURN_IF_ERROR(log->CheckKeys({"level", "format"}));
    if (auto level = log->Find("level")) {
      FRESHET_ASSIGN_OR_RETURN(std::string text, level->AsString());
      auto parsed = ParseLogLevel(text);
      if (!parsed.ok()) return level->Error("{}", parsed.status().message());
      config.log.level = *parsed;
    }
    if (auto format = log->Find("format")) {
      FRESHET_ASSIGN_OR_RETURN(std::string text, format->AsString());
      auto parsed = ParseLogFormat(text);
      if (!parsed.ok()) return format->Error("{}", parsed.status().message());
      config.log.format = *parsed;
    }
  }
  if (auto pipelines = root.Find("pipelines")) {
    FRESHET_ASSIGN_OR_RETURN(config.pipelines, pipeline::ParsePipelines(*pipelines));
    FRESHET_ASSIGN_OR_RETURN(auto items, pipelines->Items());
    for (size_t i = 0; i < items.size() && i < config.pipelines.size(); ++i) {
      if (auto sinks = items[i].Find("sinks")) {
        FRESHET_ASSIGN_OR_RETURN(config.sinks[config.pipelines[i].name], sink::ParseSinks(*sinks));
      }
    }
  }
  if (auto server = root.Find("server")) {
    FRESHET_RETURN_IF_ERROR(server->CheckKeys({"http", "pgwire"}));
    if (auto http = server->Find("http")) {
      FRESHET_ASSIGN_OR_RETURN(std::string listen, http->AsString());
      auto address = ParseListenAddress(listen);
      if (!address.ok()) return http->Error("{}", address.status().message());
      config.server.http_listen = std::move(listen);
    }
    if (auto pgwire = server->Find("pgwire")) {
      FRESHET_ASSIGN_OR_RETURN(config.server.pgwire,
                               server::pgwire::LoadPgwireConfig(*pgwire, base_dir));
    }
  }
  return config;
}

Result<AppConfig> LoadAppConfig(const std::filesystem::path& path) {
  FRESHET_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return ParseAppConfig(root, std::filesystem::absolute(path).parent_path());
}

std::string_view ExampleConfig() {
  return R"(# freshet configuration. Every key is shown with its default unless marked "required".
# Sizes take B, KB, MB, GB (binary multiples); unknown keys are errors.

log:
  level: info          # trace | debug | info | warn | error | off
  format: text         # text | json (one JSON object per line)

pipelines:
  - name: shop                       # required; lower-case letters, digits and _
    source:
      postgres:
        # required. The password comes from password_file, else FRESHET_PASSWORD, else the
        # DSN or libpq's PGPASSWORD / ~/.pgpass. It is never logged.
        dsn: postgres://freshet@127.0.0.1:5432/shop
        # password_file: /run/secrets/freshet_pg
        slot: freshet_shop           # logical replication slot (created if missing)
        publication: freshet_shop    # publication (created if missing)
        tables: ["public.*"]         # schema.table patterns to capture (* and ?)
        exclude: []                  # patterns to leave out
        snapshot: initial            # initial | never | initial_only
    lake:
      root: ./lake                   # a table lives at <root>/<schema>/<table>/
    flush:
      max_latency_ms: 1000           # commit at least this often while changes arrive
      max_rows: 500000
      max_bytes: 16MB
    memory_limit: 512MB              # the reader pauses here; nothing is dropped
    unrepresentable_values: fail     # fail | null | clamp: infinite timestamps, NaN numerics
    # overrides:                     # per-table settings; the first matching pattern wins
    #   - table: public.events
    #     partition_by: [day]
    #     primary_key: [id]          # for tables without one at the source
    #     mode: append_only          # upsert (default) | append_only
    #     change_feed: false         # delta.enableChangeDataFeed (default true)
    # sinks:                         # destination databases fed from the lake tables
    #   - postgres:
    #       dsn: postgres://serving@127.0.0.1:5434/serving   # password: password_file or
    #       # password_file: /run/secrets/serving            # FRESHET_SINK_PASSWORD
    #       tables:
    #         - from: public.*         # lake tables (schema.table patterns)
    #           to: analytics.{table}  # destination; {schema} and {table} placeholders
    #           mode: upsert           # upsert | append | snapshot

server:
  http: 127.0.0.1:8080               # /metrics, /healthz, /readyz
  # pgwire:                          # the SQL gateway (freshet serve); see README.md
  #   listen: 127.0.0.1:5433
  #   users:
  #     - name: analyst
  #       password: "SCRAM-SHA-256$4096:..."   # print one with: freshet passwd
  #       grants: ["public.*"]
)";
}

}  // namespace freshet::cli
