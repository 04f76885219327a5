#pragma once

// The typed configuration of CDC pipelines: the `pipelines:` list of freshet.yaml.
//
//   pipelines:
//     - name: shop
//       source:
//         postgres:
//           dsn: postgres://user@127.0.0.1:5432/shop
//           slot: freshet_shop            # default freshet_<name>
//           publication: freshet_shop     # default freshet_<name>
//           tables: ["public.*"]
//           exclude: ["public.audit_*"]
//           snapshot: initial             # initial | never | initial_only
//       lake:
//         root: ./lake
//       flush: {max_latency_ms: 1000, max_rows: 500000, max_bytes: 16MB}
//       memory_limit: 512MB
//       unrepresentable_values: fail      # fail | null | clamp (docs/types.md)
//       overrides:
//         - table: public.events
//           partition_by: [day]
//           primary_key: [id]
//           mode: append_only             # upsert (default) | append_only
//
// ParsePipelines validates everything it can without a server: names, patterns, sizes,
// uniqueness of pipeline names and slots. Errors name the file, line and key.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"

namespace freshet::pipeline {

enum class SnapshotMode { kInitial, kNever, kInitialOnly };
enum class TableMode { kUpsert, kAppendOnly };
// What to store for values a lake type cannot hold (±infinity dates and timestamps, numeric
// NaN and ±Infinity): docs/types.md, "Unrepresentable values".
enum class UnrepresentableValues { kFail, kNull, kClamp };

std::string_view SnapshotModeName(SnapshotMode mode);

struct PostgresSourceConfig {
  std::string dsn;
  // Read the password from this file; else FRESHET_PASSWORD; else the DSN or libpq's own.
  std::optional<std::string> password_file;
  std::string slot;
  std::string publication;
  std::vector<std::string> tables = {"public.*"};  // schema.table patterns, * and ? wildcards
  std::vector<std::string> exclude;
  SnapshotMode snapshot = SnapshotMode::kInitial;
};

struct LakeConfig {
  std::string root = "./lake";  // a table lives at <root>/<schema>/<table>/
};

struct FlushConfig {
  std::chrono::milliseconds max_latency{1000};
  uint64_t max_rows = 500'000;
  uint64_t max_bytes = uint64_t{16} << 20;
};

struct TableOverride {
  std::string table;  // a schema.table pattern; the first matching override applies
  std::vector<std::string> partition_by;
  std::vector<std::string> primary_key;  // for tables without one at the source
  TableMode mode = TableMode::kUpsert;
  // delta.enableChangeDataFeed of the lake table (on unless set): without the feed, an update
  // or delete needs no pre-image, so no current row is read back from the data files.
  std::optional<bool> change_feed;
};

struct PipelineConfig {
  std::string name;
  PostgresSourceConfig source;
  LakeConfig lake;
  FlushConfig flush;
  // Half for buffered plus committing changes (the reader pauses there), an eighth for the
  // tables' row caches; the rest is left to what is not counted (DuckDB during commits, key
  // indexes, the heap's slack). See memory_limit in README.md.
  uint64_t memory_limit_bytes = uint64_t{512} << 20;
  UnrepresentableValues unrepresentable_values = UnrepresentableValues::kFail;
  std::vector<TableOverride> overrides;

  // Delta txn.appId of every commit this pipeline makes.
  std::string AppId() const { return "freshet-" + name; }
  // The override for `schema.table`, or nullptr.
  const TableOverride* OverrideFor(std::string_view qualified_table) const;
  // Whether `schema.table` matches an include pattern of the source and no exclude pattern.
  bool Includes(std::string_view qualified_table) const;
};

// Parses the `pipelines` node (a list). `node` is the value under the key.
Result<std::vector<PipelineConfig>> ParsePipelines(const ConfigNode& node);

}  // namespace freshet::pipeline
