#include "sink/sink_config.h"

#include <cstdlib>
#include <fstream>

#include "common/glob.h"

namespace freshet::sink {
namespace {

Status CheckPattern(const ConfigNode& node, const std::string& pattern) {
  size_t dot = pattern.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == pattern.size()) {
    return node.Error("'{}' is not a schema.table pattern; write it like public.orders or public.*",
                      pattern);
  }
  return Status::Ok();
}

Result<SinkMode> ParseMode(const ConfigNode& item) {
  FRESHET_ASSIGN_OR_RETURN(std::string mode, item.GetString("mode", "upsert"));
  if (mode == "upsert") return SinkMode::kUpsert;
  if (mode == "append") return SinkMode::kAppend;
  if (mode == "snapshot") return SinkMode::kSnapshot;
  return item.Get("mode")->Error("'{}' is not a sink mode; use upsert, append or snapshot", mode);
}

Result<SinkTableConfig> ParseTable(const ConfigNode& item) {
  FRESHET_RETURN_IF_ERROR(item.CheckKeys({"from", "to", "mode"}));
  SinkTableConfig out;
  FRESHET_ASSIGN_OR_RETURN(ConfigNode from, item.Get("from"));
  FRESHET_ASSIGN_OR_RETURN(out.from, from.AsString());
  FRESHET_RETURN_IF_ERROR(CheckPattern(from, out.from));
  if (auto to = item.Find("to")) {
    FRESHET_ASSIGN_OR_RETURN(out.to, to->AsString());
    // Check the template against a sample name, so a bad `to` fails at startup.
    auto sample = DestinationName(out.to, {"schema", "table"});
    if (!sample.ok()) return to->Error("{}", sample.status().message());
    bool has_placeholder = out.to.find("{table}") != std::string::npos;
    bool is_pattern = out.from.find_first_of("*?") != std::string::npos;
    if (is_pattern && !has_placeholder) {
      return to->Error(
          "'{}' would send every table matching '{}' to one destination table; add {{table}}",
          out.to, out.from);
    }
  }
  FRESHET_ASSIGN_OR_RETURN(out.mode, ParseMode(item));
  return out;
}

Result<PostgresSinkConfig> ParsePostgres(const ConfigNode& pg, size_t index) {
  FRESHET_RETURN_IF_ERROR(pg.CheckKeys(
      {"dsn", "password_file", "name", "poll_interval", "max_versions_per_transaction", "tables"}));
  PostgresSinkConfig out;
  FRESHET_ASSIGN_OR_RETURN(ConfigNode dsn, pg.Get("dsn"));
  FRESHET_ASSIGN_OR_RETURN(out.dsn, dsn.AsString());
  if (out.dsn.empty()) return dsn.Error("dsn must not be empty");
  if (auto file = pg.Find("password_file")) {
    FRESHET_ASSIGN_OR_RETURN(out.password_file, file->AsString());
  }
  FRESHET_ASSIGN_OR_RETURN(out.name, pg.GetString("name", "postgres_" + std::to_string(index)));
  if (out.name.empty()) return pg.Get("name")->Error("name must not be empty");
  FRESHET_ASSIGN_OR_RETURN(out.poll_interval, pg.GetDuration("poll_interval", out.poll_interval));
  if (out.poll_interval.count() < 10) {
    return pg.Get("poll_interval")->Error("must be at least 10ms");
  }
  FRESHET_ASSIGN_OR_RETURN(
      out.max_versions_per_transaction,
      pg.GetInt("max_versions_per_transaction", out.max_versions_per_transaction));
  if (out.max_versions_per_transaction < 1) {
    return pg.Get("max_versions_per_transaction")->Error("must be at least 1");
  }
  FRESHET_ASSIGN_OR_RETURN(ConfigNode tables, pg.Get("tables"));
  FRESHET_ASSIGN_OR_RETURN(auto items, tables.Items());
  if (items.empty()) return tables.Error("list at least one table (from, to, mode)");
  for (const auto& item : items) {
    FRESHET_ASSIGN_OR_RETURN(SinkTableConfig table, ParseTable(item));
    out.tables.push_back(std::move(table));
  }
  return out;
}

}  // namespace

std::string_view SinkModeName(SinkMode mode) {
  switch (mode) {
    case SinkMode::kUpsert:
      return "upsert";
    case SinkMode::kAppend:
      return "append";
    case SinkMode::kSnapshot:
      return "snapshot";
  }
  return "?";
}

const SinkTableConfig* PostgresSinkConfig::EntryFor(std::string_view qualified_table) const {
  for (const auto& entry : tables) {
    if (MatchesGlob(entry.from, qualified_table)) return &entry;
  }
  return nullptr;
}

Result<QualifiedName> DestinationName(std::string_view to, const QualifiedName& lake_table) {
  std::string name;
  for (size_t i = 0; i < to.size();) {
    if (to.substr(i).starts_with("{schema}")) {
      name += lake_table.schema;
      i += 8;
    } else if (to.substr(i).starts_with("{table}")) {
      name += lake_table.table;
      i += 7;
    } else if (to[i] == '{' || to[i] == '}') {
      return Status::InvalidArgument(
          "'{}' has an unknown placeholder; only {{schema}} and {{table}} exist", to);
    } else {
      name += to[i++];
    }
  }
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size() ||
      name.find('.', dot + 1) != std::string::npos) {
    return Status::InvalidArgument(
        "'{}' is not a destination schema.table; write it like analytics.{{table}}", to);
  }
  if (name.size() > 127) return Status::InvalidArgument("'{}' is too long a name", name);
  return QualifiedName{name.substr(0, dot), name.substr(dot + 1)};
}

Result<std::vector<PostgresSinkConfig>> ParseSinks(const ConfigNode& node) {
  FRESHET_ASSIGN_OR_RETURN(auto items, node.Items());
  std::vector<PostgresSinkConfig> out;
  for (size_t index = 0; index < items.size(); ++index) {
    const ConfigNode& item = items[index];
    if (!item.IsMap()) return item.Error("expected a map with one key: postgres");
    FRESHET_RETURN_IF_ERROR(item.CheckKeys({"postgres"}));
    FRESHET_ASSIGN_OR_RETURN(ConfigNode pg, item.Get("postgres"));
    FRESHET_ASSIGN_OR_RETURN(PostgresSinkConfig sink, ParsePostgres(pg, index));
    for (const auto& other : out) {
      if (other.name == sink.name) {
        return item.Error("sink name '{}' is used twice; give each sink its own name", sink.name);
      }
    }
    out.push_back(std::move(sink));
  }
  return out;
}

Result<std::optional<std::string>> SinkPassword(const PostgresSinkConfig& config) {
  if (config.password_file) {
    std::ifstream in(*config.password_file);
    if (!in) {
      return Status::NotFound("cannot read the sink's password_file '{}'", *config.password_file);
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return std::optional<std::string>(std::move(line));
  }
  if (const char* env = std::getenv("FRESHET_SINK_PASSWORD"); env != nullptr) {
    return std::optional<std::string>(env);
  }
  return std::optional<std::string>();
}

}  // namespace freshet::sink
