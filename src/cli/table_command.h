#pragma once

// `freshet table info|history|export|optimize|vacuum PATH`: look inside a Delta table,
// compact it, or remove the files no retained version needs. Exit code 0 on
// success, 1 when the table cannot be read (the message names the file at fault), 2 for bad
// arguments.

#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace freshet::cli {

struct TableArgs {
  std::string path;
  std::optional<int64_t> version;
  std::optional<std::string> timestamp;
  std::string format = "jsonl";
  std::optional<std::string> output;
  std::string partition_time_zone = "UTC";
  bool json = false;
  int64_t retain_hours = 7 * 24;  // vacuum
  bool dry_run = false;           // vacuum
  int64_t from = 0;               // changes
  std::optional<int64_t> to;      // changes
};

// Adds the `table` subcommand group to `app`; `args` must outlive `app`.
CLI::App* AddTableCommand(CLI::App& app, TableArgs& args);

// Runs whichever `table` subcommand was parsed.
int RunTable(const CLI::App& table, const TableArgs& args);

}  // namespace freshet::cli
