#include "cli/table_command.h"

#include <charconv>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/sql_quote.h"
#include "engine/database.h"
#include "lake/change_feed.h"
#include "lake/export.h"
#include "lake/fs/file_system.h"
#include "lake/optimize.h"
#include "lake/scan.h"
#include "lake/snapshot.h"
#include "lake/vacuum.h"

namespace freshet::cli {
namespace {

// Session state shared by the subcommands: an in-memory DuckDB pinned to UTC, so timestamp
// casts never depend on the machine's zone.
struct Session {
  engine::Database database;
  engine::Connection connection;
};

Result<Session> OpenSession() {
  FRESHET_ASSIGN_OR_RETURN(engine::Database database, engine::Database::Open(""));
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, database.Connect());
  FRESHET_RETURN_IF_ERROR(connection.Execute("SET TimeZone = 'UTC'"));
  return Session{std::move(database), std::move(connection)};
}

Result<int64_t> ParseTimestampMs(engine::Connection& connection, const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    int64_t ms = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (error == std::errc() && end == text.data() + text.size()) return ms;
  }
  auto result =
      connection.Query(fmt::format("SELECT epoch_ms(CAST({} AS TIMESTAMPTZ))", QuoteLiteral(text)));
  if (!result.ok() || result->rows.empty() || result->rows[0][0].is_null()) {
    return Status::InvalidArgument(
        "--timestamp '{}' is neither milliseconds since the epoch "
        "nor a timestamp such as 2024-05-01T12:00:00Z",
        text);
  }
  return result->rows[0][0].integer();
}

Result<lake::Snapshot> LoadSnapshot(lake::FileSystem& fs, Session& session, const TableArgs& args) {
  if (args.timestamp) {
    FRESHET_ASSIGN_OR_RETURN(int64_t ms, ParseTimestampMs(session.connection, *args.timestamp));
    return lake::Snapshot::LoadAsOf(fs, session.connection, args.path, ms);
  }
  return lake::Snapshot::Load(fs, session.connection, args.path, args.version);
}

Status WriteOutput(const std::optional<std::string>& output, const std::string& text) {
  if (!output) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return Status::Ok();
  }
  lake::LocalFileSystem fs;
  return fs.Put(*output, text);
}

Status Export(const TableArgs& args) {
  lake::LocalFileSystem fs;
  FRESHET_ASSIGN_OR_RETURN(Session session, OpenSession());
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot, LoadSnapshot(fs, session, args));
  lake::ScanOptions options;
  options.partition_time_zone = args.partition_time_zone;
  FRESHET_ASSIGN_OR_RETURN(std::string sql,
                           lake::ScanSql(fs, session.connection, snapshot, options));
  if (args.format == "jsonl") {
    FRESHET_ASSIGN_OR_RETURN(auto lines,
                             lake::ExportJsonlLines(session.connection, snapshot.schema(), sql));
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return WriteOutput(args.output, text);
  }
  if (!args.output && args.format == "parquet") {
    return Status::InvalidArgument("--format parquet needs --output FILE");
  }
  std::fflush(stdout);
  std::string format = args.format == "csv" ? "FORMAT csv, HEADER true" : "FORMAT parquet";
  return session.connection.Execute(fmt::format(
      "COPY ({}) TO {} ({})", sql, QuoteLiteral(args.output.value_or("/dev/stdout")), format));
}

Status Info(const TableArgs& args) {
  lake::LocalFileSystem fs;
  FRESHET_ASSIGN_OR_RETURN(Session session, OpenSession());
  FRESHET_ASSIGN_OR_RETURN(lake::Snapshot snapshot, LoadSnapshot(fs, session, args));
  int64_t bytes = 0;
  int64_t rows = 0;
  int64_t deleted = 0;
  bool rows_known = true;
  for (const auto& file : snapshot.files()) {
    bytes += file.size;
    auto records = file.NumRecords();
    if (records) {
      rows += *records;
    } else {
      rows_known = false;
    }
    if (file.deletion_vector) deleted += file.deletion_vector->cardinality;
  }
  const auto& protocol = snapshot.protocol();
  auto join = [](const std::optional<std::vector<std::string>>& list) {
    if (!list || list->empty()) return std::string("-");
    std::string out;
    for (const auto& item : *list) out += (out.empty() ? "" : ", ") + item;
    return out;
  };
  nlohmann::json schema = nlohmann::json::array();
  std::string schema_text;
  for (const auto& field : snapshot.schema().fields) {
    std::string type = field.type.is_nested() ? field.type.DuckDbType() : field.type.DeltaName();
    schema.push_back({{"name", field.name}, {"type", type}, {"nullable", field.nullable}});
    schema_text += fmt::format("  {}: {}{}\n", field.name, type, field.nullable ? "" : " not null");
  }
  double deleted_share = rows > 0 ? static_cast<double>(deleted) / static_cast<double>(rows) : 0;
  if (args.json) {
    nlohmann::json out{
        {"path", args.path},
        {"version", snapshot.version()},
        {"minReaderVersion", protocol.min_reader_version},
        {"minWriterVersion", protocol.min_writer_version},
        {"readerFeatures", protocol.reader_features.value_or(std::vector<std::string>{})},
        {"writerFeatures", protocol.writer_features.value_or(std::vector<std::string>{})},
        {"partitionColumns", snapshot.metadata().partition_columns},
        {"schema", schema},
        {"files", snapshot.files().size()},
        {"bytes", bytes},
        {"rows", rows_known ? nlohmann::json(rows - deleted) : nlohmann::json()},
        {"deletedRows", deleted},
        {"deletedShare", deleted_share}};
    return WriteOutput(std::nullopt, out.dump(2) + "\n");
  }
  std::string text = fmt::format(
      "table       {}\nversion     {}\nprotocol    reader {}, writer {}\nreader      {}\n"
      "writer      {}\npartitions  {}\nfiles       {}\nbytes       {}\nrows        {}\n"
      "deleted     {} rows by deletion vectors ({:.1f}% of stored rows)\nschema\n{}",
      args.path, snapshot.version(), protocol.min_reader_version, protocol.min_writer_version,
      join(protocol.reader_features), join(protocol.writer_features),
      join(snapshot.metadata().partition_columns), snapshot.files().size(), bytes,
      rows_known ? std::to_string(rows - deleted) : std::string("unknown (files lack stats)"),
      deleted, deleted_share * 100, schema_text);
  return WriteOutput(std::nullopt, text);
}

Status History(const TableArgs& args) {
  lake::LocalFileSystem fs;
  FRESHET_ASSIGN_OR_RETURN(auto history, lake::History(fs, args.path));
  std::string text;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    std::string operation = "-";
    std::string parameters;
    if (it->commit_info) {
      operation = it->commit_info->operation.value_or("-");
      auto json = nlohmann::json::parse(it->commit_info->json, nullptr, false);
      if (json.is_object() && json.contains("operationParameters")) {
        parameters = json["operationParameters"].dump();
      }
    }
    if (args.json) {
      text +=
          nlohmann::json{{"version", it->version},
                         {"timestamp", it->timestamp_ms},
                         {"operation", operation},
                         {"commitInfo", it->commit_info ? nlohmann::json::parse(
                                                              it->commit_info->json, nullptr, false)
                                                        : nlohmann::json()}}
              .dump() +
          "\n";
    } else {
      text += fmt::format("{:>6}  {}  {:<20} {}\n", it->version, it->timestamp_ms, operation,
                          parameters);
    }
  }
  return WriteOutput(std::nullopt, text);
}

Status Changes(const TableArgs& args) {
  lake::LocalFileSystem fs;
  FRESHET_ASSIGN_OR_RETURN(Session session, OpenSession());
  FRESHET_ASSIGN_OR_RETURN(
      auto lines, lake::ChangeFeedJsonl(fs, session.connection, args.path, args.from, args.to));
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return WriteOutput(args.output, text);
}

Status Optimize(const TableArgs& args) {
  lake::LocalFileSystem fs;
  FRESHET_ASSIGN_OR_RETURN(Session session, OpenSession());
  FRESHET_ASSIGN_OR_RETURN(auto result, lake::Optimize(fs, session.connection, args.path));
  if (result.files_removed == 0) {
    return WriteOutput(std::nullopt,
                       fmt::format("nothing to optimize at version {}\n", result.version));
  }
  return WriteOutput(
      std::nullopt, fmt::format("version {}: {} files rewritten into {}, {} deleted rows dropped\n",
                                result.version, result.files_removed, result.files_added,
                                result.deleted_rows_dropped));
}

Status Vacuum(const TableArgs& args) {
  lake::LocalFileSystem fs;
  FRESHET_ASSIGN_OR_RETURN(Session session, OpenSession());
  lake::VacuumOptions options;
  options.retain_hours = args.retain_hours;
  options.dry_run = args.dry_run;
  FRESHET_ASSIGN_OR_RETURN(auto result, lake::Vacuum(fs, session.connection, args.path, options));
  std::string text;
  for (const std::string& path : result.deleted) {
    text += fmt::format("{} {}\n", args.dry_run ? "would delete" : "deleted", path);
  }
  text += fmt::format("{} files, {} bytes {}; {} files kept; versions from {} stay readable\n",
                      result.deleted.size(), result.deleted_bytes,
                      args.dry_run ? "to delete (dry run)" : "deleted", result.kept_files,
                      result.oldest_retained_version);
  return WriteOutput(std::nullopt, text);
}

int Report(const char* command, const Status& status) {
  if (status.ok()) return 0;
  fmt::print(stderr, "freshet table {}: {}\n", command, status.message());
  return status.Is(Code::kInvalidArgument) ? 2 : 1;
}

}  // namespace

CLI::App* AddTableCommand(CLI::App& app, TableArgs& args) {
  CLI::App* table = app.add_subcommand("table", "Inspect and export Delta Lake tables");
  table->require_subcommand(1);

  auto add_snapshot_options = [&args](CLI::App* command) {
    command->add_option("path", args.path, "folder of the Delta table")->required();
    auto* version = command->add_option("--version", args.version, "read this table version");
    command
        ->add_option("--timestamp", args.timestamp,
                     "read the table as of this time (ISO 8601, or ms since the epoch)")
        ->excludes(version);
  };

  CLI::App* info = table->add_subcommand("info", "Protocol, schema, size and rows of a table");
  add_snapshot_options(info);
  info->add_flag("--json", args.json, "print as JSON");

  CLI::App* history = table->add_subcommand("history", "The commits of a table, newest first");
  history->add_option("path", args.path, "folder of the Delta table")->required();
  history->add_flag("--json", args.json, "one JSON object per commit");

  CLI::App* export_command = table->add_subcommand("export", "Write a table's rows out");
  add_snapshot_options(export_command);
  export_command->add_option("--format", args.format, "jsonl, csv or parquet")
      ->check(CLI::IsMember({"jsonl", "csv", "parquet"}))
      ->capture_default_str();
  export_command->add_option("--output", args.output, "write here instead of standard output");
  export_command
      ->add_option("--partition-time-zone", args.partition_time_zone,
                   "time zone of timestamp partition values written without one")
      ->capture_default_str();

  CLI::App* changes = table->add_subcommand(
      "changes",
      "The change data feed of versions FROM..TO as JSON lines (_change_type, _commit_version, "
      "_commit_timestamp after the columns); needs delta.enableChangeDataFeed=true");
  changes->add_option("path", args.path, "folder of the Delta table")->required();
  changes->add_option("--from", args.from, "first version")->required();
  changes->add_option("--to", args.to, "last version (default: the latest)");
  changes->add_option("--output", args.output, "write here instead of standard output");

  CLI::App* optimize = table->add_subcommand(
      "optimize", "Compact small files and files with deleted rows (about 128 MB each)");
  optimize->add_option("path", args.path, "folder of the Delta table")->required();

  CLI::App* vacuum = table->add_subcommand(
      "vacuum", "Delete files that no version inside the retention period needs");
  vacuum->add_option("path", args.path, "folder of the Delta table")->required();
  vacuum->add_option("--retain", args.retain_hours, "retention in hours")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  vacuum->add_flag("--dry-run", args.dry_run, "list the files without deleting them");
  return table;
}

int RunTable(const CLI::App& table, const TableArgs& args) {
  if (table.got_subcommand("info")) return Report("info", Info(args));
  if (table.got_subcommand("history")) return Report("history", History(args));
  if (table.got_subcommand("export")) return Report("export", Export(args));
  if (table.got_subcommand("changes")) return Report("changes", Changes(args));
  if (table.got_subcommand("optimize")) return Report("optimize", Optimize(args));
  if (table.got_subcommand("vacuum")) return Report("vacuum", Vacuum(args));
  return 2;
}

}  // namespace freshet::cli
