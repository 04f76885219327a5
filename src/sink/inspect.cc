#include "sink/inspect.h"

#include <chrono>

#include "lake/paths.h"
#include "lake/snapshot.h"
#include "pg/connection.h"
#include "sink/destination.h"

namespace freshet::sink {

Result<SinkStatus> InspectSink(const PostgresSinkConfig& config, lake::FileSystem& fs,
                               const std::string& lake_root) {
  SinkStatus status;
  status.name = config.name;
  status.destination = pg::RedactDsn(config.dsn);
  FRESHET_ASSIGN_OR_RETURN(std::optional<std::string> password, SinkPassword(config));
  pg::ConnectOptions options{.dsn = config.dsn, .password = password};
  options.application_name = "freshet-sink-status";
  FRESHET_ASSIGN_OR_RETURN(pg::Connection connection, pg::Connection::Open(options));
  status.connected = true;
  FRESHET_ASSIGN_OR_RETURN(pg::Rows exists,
                           connection.Query("SELECT to_regclass('public.freshet_sink_offsets') IS "
                                            "NOT NULL"));
  FRESHET_ASSIGN_OR_RETURN(bool has_offsets, exists.GetBool(0, 0));

  auto schemas = fs.ListNames(lake_root);
  if (!schemas.ok()) {
    if (schemas.status().Is(Code::kNotFound)) return status;
    return schemas.status();
  }
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (const auto& schema : *schemas) {
    if (!schema.is_directory || schema.name.starts_with('_') || schema.name.starts_with('.')) {
      continue;
    }
    FRESHET_ASSIGN_OR_RETURN(auto tables, fs.ListNames(schema.path));
    for (const auto& table : tables) {
      QualifiedName lake_name{schema.name, table.name};
      const SinkTableConfig* entry = config.EntryFor(lake_name.ToString());
      if (!table.is_directory || entry == nullptr) continue;
      auto latest = lake::LatestVersion(fs, table.path);
      if (!latest.ok()) continue;  // not a table (yet)
      SinkTableStatus row;
      row.lake_table = lake_name.ToString();
      row.mode = entry->mode;
      row.latest_version = *latest;
      if (auto destination = DestinationName(entry->to, lake_name); destination.ok()) {
        row.destination = destination->ToString();
      }
      if (has_offsets) {
        FRESHET_ASSIGN_OR_RETURN(row.applied_version, ReadOffset(connection, row.lake_table));
      }
      row.lag_versions = *latest - row.applied_version.value_or(-1);
      if (!row.applied_version) {
        row.state = "not copied yet";
      } else if (row.lag_versions > 0) {
        row.state = "following";
        auto pending = fs.Head(
            fmt::format("{}/{:020d}.json", lake::LogPath(table.path), *row.applied_version + 1));
        if (pending.ok()) row.lag_seconds = (now_ms - pending->modification_time_ms) / 1000.0;
      } else {
        row.state = "caught up";
      }
      status.tables.push_back(std::move(row));
    }
  }
  return status;
}

}  // namespace freshet::sink
