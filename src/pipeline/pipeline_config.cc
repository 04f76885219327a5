#include "pipeline/pipeline_config.h"

#include <algorithm>

#include "common/glob.h"

namespace freshet::pipeline {
namespace {

bool IsPlainName(std::string_view text, size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Status CheckTablePatterns(const ConfigNode& node, const std::vector<std::string>& patterns) {
  for (const auto& pattern : patterns) {
    size_t dot = pattern.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == pattern.size()) {
      return node.Error(
          "'{}' is not a schema.table pattern; write it like public.orders or "
          "public.*",
          pattern);
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> OptionalList(const ConfigNode& node, std::string_view key) {
  auto child = node.Find(key);
  if (!child) return std::vector<std::string>{};
  return child->AsStringList();
}

Result<PostgresSourceConfig> ParseSource(const ConfigNode& pipeline, const std::string& name) {
  FRESHET_ASSIGN_OR_RETURN(ConfigNode source, pipeline.Get("source"));
  FRESHET_RETURN_IF_ERROR(source.CheckKeys({"postgres"}));
  FRESHET_ASSIGN_OR_RETURN(ConfigNode pg, source.Get("postgres"));
  FRESHET_RETURN_IF_ERROR(pg.CheckKeys(
      {"dsn", "password_file", "slot", "publication", "tables", "exclude", "snapshot"}));
  PostgresSourceConfig out;
  FRESHET_ASSIGN_OR_RETURN(ConfigNode dsn, pg.Get("dsn"));
  FRESHET_ASSIGN_OR_RETURN(out.dsn, dsn.AsString());
  if (auto file = pg.Find("password_file")) {
    FRESHET_ASSIGN_OR_RETURN(out.password_file, file->AsString());
  }
  std::string default_name = "freshet_" + name;
  FRESHET_ASSIGN_OR_RETURN(out.slot, pg.GetString("slot", default_name));
  FRESHET_ASSIGN_OR_RETURN(out.publication, pg.GetString("publication", default_name));
  // PostgreSQL allows only lower-case letters, digits and underscores in slot names.
  if (!IsPlainName(out.slot, 63)) {
    return pg.Find("slot").value_or(pg).Error(
        "slot name '{}' may hold only lower-case letters, digits and _ (at most 63)", out.slot);
  }
  if (out.publication.empty() || out.publication.size() > 63) {
    return pg.Error("publication name must be 1 to 63 characters");
  }
  if (auto tables = pg.Find("tables")) {
    FRESHET_ASSIGN_OR_RETURN(out.tables, tables->AsStringList());
    if (out.tables.empty()) return tables->Error("list at least one table pattern");
    FRESHET_RETURN_IF_ERROR(CheckTablePatterns(*tables, out.tables));
  }
  if (auto exclude = pg.Find("exclude")) {
    FRESHET_ASSIGN_OR_RETURN(out.exclude, exclude->AsStringList());
    FRESHET_RETURN_IF_ERROR(CheckTablePatterns(*exclude, out.exclude));
  }
  FRESHET_ASSIGN_OR_RETURN(std::string snapshot, pg.GetString("snapshot", "initial"));
  if (snapshot == "initial") {
    out.snapshot = SnapshotMode::kInitial;
  } else if (snapshot == "never") {
    out.snapshot = SnapshotMode::kNever;
  } else if (snapshot == "initial_only") {
    out.snapshot = SnapshotMode::kInitialOnly;
  } else {
    return pg.Get("snapshot")
        ->Error(
            "'{}' is not a snapshot mode; use initial, never or "
            "initial_only",
            snapshot);
  }
  return out;
}

Result<FlushConfig> ParseFlush(const ConfigNode& pipeline) {
  FlushConfig out;
  auto flush = pipeline.Find("flush");
  if (!flush) return out;
  FRESHET_RETURN_IF_ERROR(flush->CheckKeys({"max_latency_ms", "max_rows", "max_bytes"}));
  FRESHET_ASSIGN_OR_RETURN(int64_t latency, flush->GetInt("max_latency_ms", 1000));
  FRESHET_ASSIGN_OR_RETURN(int64_t rows, flush->GetInt("max_rows", 500'000));
  FRESHET_ASSIGN_OR_RETURN(out.max_bytes, flush->GetByteSize("max_bytes", out.max_bytes));
  if (latency < 1) return flush->Get("max_latency_ms")->Error("must be at least 1");
  if (rows < 1) return flush->Get("max_rows")->Error("must be at least 1");
  if (out.max_bytes < 1024) return flush->Get("max_bytes")->Error("must be at least 1KB");
  out.max_latency = std::chrono::milliseconds(latency);
  out.max_rows = static_cast<uint64_t>(rows);
  return out;
}

Result<std::vector<TableOverride>> ParseOverrides(const ConfigNode& pipeline) {
  std::vector<TableOverride> out;
  auto overrides = pipeline.Find("overrides");
  if (!overrides) return out;
  FRESHET_ASSIGN_OR_RETURN(auto items, overrides->Items());
  for (const auto& item : items) {
    FRESHET_RETURN_IF_ERROR(
        item.CheckKeys({"table", "partition_by", "primary_key", "mode", "change_feed"}));
    TableOverride entry;
    FRESHET_ASSIGN_OR_RETURN(ConfigNode table, item.Get("table"));
    FRESHET_ASSIGN_OR_RETURN(entry.table, table.AsString());
    FRESHET_RETURN_IF_ERROR(CheckTablePatterns(table, {entry.table}));
    FRESHET_ASSIGN_OR_RETURN(entry.partition_by, OptionalList(item, "partition_by"));
    FRESHET_ASSIGN_OR_RETURN(entry.primary_key, OptionalList(item, "primary_key"));
    FRESHET_ASSIGN_OR_RETURN(std::string mode, item.GetString("mode", "upsert"));
    if (mode == "upsert") {
      entry.mode = TableMode::kUpsert;
    } else if (mode == "append_only") {
      entry.mode = TableMode::kAppendOnly;
    } else {
      return item.Get("mode")->Error("'{}' is not a table mode; use upsert or append_only", mode);
    }
    if (item.Find("change_feed")) {
      FRESHET_ASSIGN_OR_RETURN(entry.change_feed, item.GetBool("change_feed", true));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Result<PipelineConfig> ParsePipeline(const ConfigNode& node) {
  // `sinks` belongs to sink/, which cli/ parses (pipeline/ may not depend on it).
  FRESHET_RETURN_IF_ERROR(node.CheckKeys({"name", "source", "lake", "flush", "memory_limit",
                                          "unrepresentable_values", "overrides", "sinks"}));
  PipelineConfig out;
  FRESHET_ASSIGN_OR_RETURN(ConfigNode name, node.Get("name"));
  FRESHET_ASSIGN_OR_RETURN(out.name, name.AsString());
  // The name becomes part of slot, publication and Delta appId names.
  if (!IsPlainName(out.name, 48)) {
    return name.Error(
        "pipeline name '{}' may hold only lower-case letters, digits and _ (at "
        "most 48)",
        out.name);
  }
  FRESHET_ASSIGN_OR_RETURN(out.source, ParseSource(node, out.name));
  if (auto lake = node.Find("lake")) {
    FRESHET_RETURN_IF_ERROR(lake->CheckKeys({"root"}));
    FRESHET_ASSIGN_OR_RETURN(out.lake.root, lake->GetString("root", out.lake.root));
    if (out.lake.root.empty()) return lake->Error("root must not be empty");
  }
  FRESHET_ASSIGN_OR_RETURN(out.flush, ParseFlush(node));
  FRESHET_ASSIGN_OR_RETURN(out.memory_limit_bytes,
                           node.GetByteSize("memory_limit", out.memory_limit_bytes));
  if (out.memory_limit_bytes < (uint64_t{16} << 20)) {
    return node.Get("memory_limit")->Error("must be at least 16MB");
  }
  FRESHET_ASSIGN_OR_RETURN(std::string unrepresentable,
                           node.GetString("unrepresentable_values", "fail"));
  if (unrepresentable == "fail") {
    out.unrepresentable_values = UnrepresentableValues::kFail;
  } else if (unrepresentable == "null") {
    out.unrepresentable_values = UnrepresentableValues::kNull;
  } else if (unrepresentable == "clamp") {
    out.unrepresentable_values = UnrepresentableValues::kClamp;
  } else {
    return node.Get("unrepresentable_values")
        ->Error("'{}' is not a rule; use fail, null or clamp (docs/types.md)", unrepresentable);
  }
  FRESHET_ASSIGN_OR_RETURN(out.overrides, ParseOverrides(node));
  return out;
}

}  // namespace

std::string_view SnapshotModeName(SnapshotMode mode) {
  switch (mode) {
    case SnapshotMode::kInitial:
      return "initial";
    case SnapshotMode::kNever:
      return "never";
    case SnapshotMode::kInitialOnly:
      return "initial_only";
  }
  return "?";
}

const TableOverride* PipelineConfig::OverrideFor(std::string_view qualified_table) const {
  for (const auto& entry : overrides) {
    if (MatchesGlob(entry.table, qualified_table)) return &entry;
  }
  return nullptr;
}

bool PipelineConfig::Includes(std::string_view qualified_table) const {
  auto matches = [&](const std::string& pattern) { return MatchesGlob(pattern, qualified_table); };
  return std::any_of(source.tables.begin(), source.tables.end(), matches) &&
         std::none_of(source.exclude.begin(), source.exclude.end(), matches);
}

Result<std::vector<PipelineConfig>> ParsePipelines(const ConfigNode& node) {
  FRESHET_ASSIGN_OR_RETURN(auto items, node.Items());
  std::vector<PipelineConfig> out;
  for (const auto& item : items) {
    FRESHET_ASSIGN_OR_RETURN(PipelineConfig pipeline, ParsePipeline(item));
    for (const auto& other : out) {
      if (other.name == pipeline.name) {
        return item.Error("pipeline name '{}' is used twice", pipeline.name);
      }
      if (other.source.slot == pipeline.source.slot && other.source.dsn == pipeline.source.dsn) {
        return item.Error("pipelines '{}' and '{}' would share slot '{}'; give each its own",
                          other.name, pipeline.name, pipeline.source.slot);
      }
    }
    out.push_back(std::move(pipeline));
  }
  return out;
}

}  // namespace freshet::pipeline
