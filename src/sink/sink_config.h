#pragma once

// The typed configuration of destination sinks: the `sinks:` list inside a pipeline.
//
//   sinks:
//     - postgres:
//         dsn: postgres://user@127.0.0.1:5434/serving
//         password_file: /run/secrets/serving    # else FRESHET_SINK_PASSWORD, else the DSN
//         name: serving                          # default postgres_<index>
//         poll_interval: 500ms                   # how often the lake is checked for versions
//         max_versions_per_transaction: 100      # when behind, this many versions per commit
//         tables:
//           - from: public.*                     # lake tables (schema.table patterns)
//             to: analytics.{table}              # destination; {schema} and {table}
//             mode: upsert                       # upsert | append | snapshot
//
// ParseSinks validates everything it can without a server; errors name file, line and key.
// The pipeline's own parser only tolerates the key (pipeline/ cannot depend on sink/); cli/
// parses it with ParseSinks into AppConfig.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"

namespace freshet::sink {

// upsert: the destination holds the lake table's current rows (needs a primary key).
// append: every change row is appended with its _change_type and _commit_version.
// snapshot: the whole table is replaced, in one transaction, at each new lake version.
enum class SinkMode { kUpsert, kAppend, kSnapshot };

std::string_view SinkModeName(SinkMode mode);

struct SinkTableConfig {
  std::string from;                     // schema.table pattern, * and ? wildcards
  std::string to = "{schema}.{table}";  // destination schema.table, with placeholders
  SinkMode mode = SinkMode::kUpsert;
};

struct PostgresSinkConfig {
  std::string name;  // labels metrics and status; unique within the pipeline
  std::string dsn;
  std::optional<std::string> password_file;
  std::chrono::milliseconds poll_interval{500};
  int64_t max_versions_per_transaction = 100;
  std::vector<SinkTableConfig> tables;

  // The first table entry whose pattern matches `qualified_table` ("public.orders"), or
  // nullptr when the sink does not take the table.
  const SinkTableConfig* EntryFor(std::string_view qualified_table) const;
};

// Parses the `sinks` node (a list) of one pipeline.
Result<std::vector<PostgresSinkConfig>> ParseSinks(const ConfigNode& node);

// `to` with {schema} and {table} replaced; then split into destination schema and table.
// InvalidArgument when the result is not schema.table.
struct QualifiedName {
  std::string schema;
  std::string table;
  std::string ToString() const { return schema + "." + table; }
};
Result<QualifiedName> DestinationName(std::string_view to, const QualifiedName& lake_table);

// The destination password: the file's first line when `password_file` is set, else
// FRESHET_SINK_PASSWORD when set, else nullopt (the DSN or libpq's own sources decide).
Result<std::optional<std::string>> SinkPassword(const PostgresSinkConfig& config);

}  // namespace freshet::sink
