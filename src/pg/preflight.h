#pragma once

// Preflight checks of a PostgreSQL server for change capture: what `freshet doctor` prints.
//
// Each check gives one result: ok, a warning (capture works, but something deserves a look),
// or a problem that would stop change capture, with the fix in words a DBA can act on.
// RunPreflight never fails as a whole: an unreachable server is itself a check result.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace freshet::pg {

enum class CheckState { kOk, kWarning, kProblem };

std::string_view CheckStateName(CheckState state);  // "ok", "warn", "FAIL"

struct CheckResult {
  std::string name;  // short and stable: "wal_level", "replication_privilege", ...
  CheckState state = CheckState::kOk;
  std::string message;  // what was found
  std::string fix;      // how to fix it; empty when ok
};

struct PreflightOptions {
  ConnectOptions connection;
  // A publication to inspect for tables whose updates and deletes cannot be captured.
  std::optional<std::string> publication;
  // Slots whose names start with this are freshet's.
  std::string slot_prefix = "freshet";
  // An inactive freshet slot retaining more WAL than this is a warning.
  uint64_t retained_wal_warning_bytes = uint64_t{1} << 30;
};

struct PreflightReport {
  std::vector<CheckResult> checks;
  // True when any check is a problem: change capture would not start or not keep up.
  bool HasProblems() const;
};

PreflightReport RunPreflight(const PreflightOptions& options);

// "1.5 GB", "120 kB", "0 B": as PostgreSQL's pg_size_pretty rounds, for messages.
std::string FormatBytes(int64_t bytes);

}  // namespace freshet::pg
