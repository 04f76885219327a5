#pragma once

// Path helpers for Delta tables: URI references in the log (add.path, DV paths) to file
// paths, Hive-style partition directory names, and the names of log files.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "lake/actions.h"

namespace freshet::lake {

// Decodes %XX escapes once. Corruption on a malformed escape.
Result<std::string> PercentDecode(std::string_view text);
// Encodes what a URI path must not hold raw (space, %, non-ASCII, controls, ...); keeps '/'.
std::string PercentEncodePath(std::string_view path);
// A path from a `file:` URI or a plain absolute path; NotSupported for other schemes.
Result<std::string> PathFromUri(std::string_view uri);
// The file that `add.path` (a URI reference) names, for a table at `table_path`.
Result<std::string> ResolveDataPath(const std::string& table_path, std::string_view path);

// Hive's escaping of a partition value for a directory name ("a:b" -> "a%3Ab"); null is
// __HIVE_DEFAULT_PARTITION__.
std::string HivePartitionDirectory(std::string_view column,
                                   const std::optional<std::string>& value);

std::string LogPath(const std::string& table_path);  // <table>/_delta_log

// What a _delta_log entry name is, per PROTOCOL.md "Checkpoint Naming Scheme".
struct LogFileName {
  enum class Kind { kCommit, kClassicCheckpoint, kMultiPartCheckpoint, kUuidCheckpoint, kOther };
  Kind kind = Kind::kOther;
  Version version = -1;
  int part = 0;   // multi-part: 1-based part number
  int parts = 0;  // multi-part: number of parts
};
LogFileName ParseLogFileName(std::string_view name);

}  // namespace freshet::lake
