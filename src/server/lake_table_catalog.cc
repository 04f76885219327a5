#include "server/lake_table_catalog.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "lake/change_feed.h"
#include "lake/scan.h"
#include "lake/snapshot.h"

namespace freshet::server {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Schemas of the session database itself; a lake folder of that name would shadow or replace
// the catalog emulation.
bool IsReservedSchema(std::string_view name) {
  for (std::string_view reserved : {"main", "pg_catalog", "information_schema", "temp"}) {
    if (EqualsIgnoreCase(name, reserved)) return true;
  }
  return false;
}

bool HasGlob(std::string_view part) { return part.find('*') != std::string_view::npos; }

// "<20 digits>.json" → the LSN; nullopt for any other name (temporary files of a Put).
std::optional<uint64_t> WatermarkLsn(std::string_view name) {
  static constexpr std::string_view kSuffix = ".json";
  if (name.size() != 20 + kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + 20, value);
  if (error != std::errc() || end != name.data() + 20) return std::nullopt;
  return value;
}

// Lake errors name the table's folder; SQL users know it by its name.
Status Rename(const Status& status, const LakeTableLocation& table) {
  std::string message = status.message();
  std::string name = table.schema + "." + table.name;
  for (size_t at = message.find(table.path); at != std::string::npos;
       at = message.find(table.path, at + name.size())) {
    message.replace(at, table.path.size(), name);
  }
  return Status(status.code(), message);
}

}  // namespace

LakeTableCatalog::LakeTableCatalog(lake::FileSystem& fs, LakeCatalogOptions options,
                                   engine::Database database)
    : fs_(fs), options_(std::move(options)), database_(std::move(database)) {}

Result<std::unique_ptr<LakeTableCatalog>> LakeTableCatalog::Open(lake::FileSystem& fs,
                                                                 LakeCatalogOptions options) {
  FRESHET_ASSIGN_OR_RETURN(engine::Database database, engine::Database::Open("", {.threads = 1}));
  return std::unique_ptr<LakeTableCatalog>(
      new LakeTableCatalog(fs, std::move(options), std::move(database)));
}

int64_t LakeTableCatalog::scans_built() const {
  std::lock_guard lock(mu_);
  return scans_built_;
}

Result<std::vector<std::pair<LakeTableLocation, int64_t>>> LakeTableCatalog::Discover() const {
  std::vector<std::pair<LakeTableLocation, int64_t>> tables;
  for (const auto& root : options_.roots) {
    auto schemas = fs_.ListNames(root);
    if (!schemas.ok() && schemas.status().code() == Code::kNotFound) continue;
    FRESHET_RETURN_IF_ERROR(schemas.status().WithContext("listing lake root " + root));
    for (const auto& schema : *schemas) {
      // _freshet (watermarks) and hidden folders are not schemas.
      if (!schema.is_directory || schema.name.starts_with('_') || schema.name.starts_with('.')) {
        continue;
      }
      if (IsReservedSchema(schema.name)) {
        spdlog::warn(
            "lake folder {} is not served: {} is a schema name of the SQL gateway's "
            "own catalog; rename the folder",
            schema.path, schema.name);
        continue;
      }
      auto names = fs_.ListNames(schema.path);
      if (!names.ok()) continue;  // removed since the root was listed
      for (const auto& table : *names) {
        if (!table.is_directory || table.name.starts_with('_') || table.name.starts_with('.')) {
          continue;
        }
        auto version = lake::LatestVersion(fs_, table.path);
        if (!version.ok()) continue;  // not a Delta table (yet): no commit in _delta_log
        bool duplicate = false;
        for (const auto& [seen, ignored] : tables) {
          if (EqualsIgnoreCase(seen.schema, schema.name) &&
              EqualsIgnoreCase(seen.name, table.name)) {
            spdlog::warn("lake table {}.{} exists under {} and {}; serving the first", seen.schema,
                         seen.name, seen.path, table.path);
            duplicate = true;
          }
        }
        if (duplicate) continue;
        tables.emplace_back(LakeTableLocation{schema.name, table.name, root, table.path}, *version);
      }
    }
  }
  return tables;
}

Result<std::optional<LakeTableLocation>> LakeTableCatalog::Locate(const std::string& schema,
                                                                  const std::string& name) const {
  // Names come from SQL text: never let one walk out of the roots.
  for (const std::string* part : {&schema, &name}) {
    if (part->empty() || part->starts_with('.') || part->find('/') != std::string::npos ||
        part->find('\\') != std::string::npos) {
      return std::optional<LakeTableLocation>();
    }
  }
  // Exact folder names first (cheap: no listing), then a case-insensitive search.
  for (const auto& root : options_.roots) {
    std::string path = lake::JoinPath(lake::JoinPath(root, schema), name);
    if (lake::LatestVersion(fs_, path).ok()) {
      return LakeTableLocation{schema, name, root, path};
    }
  }
  FRESHET_ASSIGN_OR_RETURN(auto tables, Discover());
  for (auto& [table, version] : tables) {
    if (EqualsIgnoreCase(table.schema, schema) && EqualsIgnoreCase(table.name, name)) {
      return std::move(table);
    }
  }
  return std::optional<LakeTableLocation>();
}

Result<TableEntry> LakeTableCatalog::ScanAt(const LakeTableLocation& table, int64_t version) const {
  auto key = std::make_pair(table.path, version);
  {
    std::lock_guard lock(mu_);
    auto it = scans_.find(key);
    if (it != scans_.end()) {
      it->second.last_used = ++clock_;
      TableEntry entry = it->second.entry;
      entry.schema = table.schema;
      entry.name = table.name;
      return entry;
    }
  }
  Result<engine::Connection> connection = [&] {
    std::lock_guard lock(mu_);
    return database_.Connect();
  }();
  FRESHET_RETURN_IF_ERROR(connection.status());
  auto snapshot = lake::Snapshot::Load(fs_, *connection, table.path, version);
  if (!snapshot.ok()) return Rename(snapshot.status(), table);
  auto query = lake::ScanSql(fs_, *connection, *snapshot);
  if (!query.ok()) return Rename(query.status(), table);
  TableEntry entry{table.schema, table.name, std::move(query).value(), {}, version};
  std::lock_guard lock(mu_);
  ++scans_built_;
  scans_[key] = CachedScan{entry, ++clock_};
  while (scans_.size() > std::max<size_t>(options_.cached_scans, 1)) {
    auto oldest = std::min_element(scans_.begin(), scans_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    scans_.erase(oldest);
  }
  return entry;
}

Result<std::vector<TableEntry>> LakeTableCatalog::ListTables() const {
  FRESHET_ASSIGN_OR_RETURN(std::vector<TableEntry> heads, ListHeads(std::nullopt));
  std::vector<TableEntry> tables;
  for (auto& head : heads) {
    if (head.version < 0) {
      tables.push_back(std::move(head));
      continue;
    }
    auto entry = Table(head.schema, head.name, AsOf{head.version, std::nullopt});
    if (!entry.ok()) {
      spdlog::warn("lake table {}.{} version {} cannot be read: {}", head.schema, head.name,
                   head.version, entry.status().message());
      continue;
    }
    tables.push_back(std::move(entry).value());
  }
  return tables;
}

Result<std::optional<std::map<std::string, int64_t>>> LakeTableCatalog::WatermarkTables(
    const std::string& root, Lsn lsn) const {
  std::string folder = lake::JoinPath(lake::JoinPath(root, "_freshet"), "watermarks");
  auto files = fs_.ListNames(folder);
  if (!files.ok() && files.status().code() == Code::kNotFound) {
    return std::optional<std::map<std::string, int64_t>>();
  }
  FRESHET_RETURN_IF_ERROR(files.status().WithContext("listing the watermark log " + folder));
  std::optional<uint64_t> oldest;
  std::optional<std::pair<uint64_t, std::string>> best;
  for (const auto& file : *files) {
    auto at = WatermarkLsn(file.name);
    if (!at) continue;
    if (!oldest || *at < *oldest) oldest = *at;
    if (*at <= lsn.value() && (!best || *at > best->first)) best = std::make_pair(*at, file.path);
  }
  if (!oldest) return std::optional<std::map<std::string, int64_t>>();
  if (!best) {
    return Status::InvalidArgument(
        "LSN {} is older than the oldest watermark kept under {} ({}): the pipeline deletes "
        "watermarks past its log retention; choose a later LSN or 'latest'",
        lsn, root, Lsn(*oldest));
  }
  FRESHET_ASSIGN_OR_RETURN(std::string text, fs_.Get(best->second));
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("tables") ||
      !json["tables"].is_object()) {
    return Status::Corruption("watermark {} is not a JSON object with a \"tables\" object",
                              best->second);
  }
  std::map<std::string, int64_t> tables;
  for (const auto& [name, version] : json["tables"].items()) {
    if (!version.is_number_integer()) {
      return Status::Corruption("watermark {}: table {} has a version that is not an integer",
                                best->second, name);
    }
    tables[name] = version.get<int64_t>();
  }
  return std::optional<std::map<std::string, int64_t>>(std::move(tables));
}

Result<std::vector<TableEntry>> LakeTableCatalog::ListHeads(std::optional<Lsn> lsn) const {
  FRESHET_ASSIGN_OR_RETURN(auto lake_tables, Discover());
  std::map<std::string, std::optional<std::map<std::string, int64_t>>> watermarks;
  if (lsn) {
    bool any_log = false;
    for (const auto& root : options_.roots) {
      FRESHET_ASSIGN_OR_RETURN(watermarks[root], WatermarkTables(root, *lsn));
      any_log = any_log || watermarks[root].has_value();
    }
    if (!any_log) {
      return Status::InvalidArgument(
          "no lake root has a watermark log (<root>/_freshet/watermarks/), so there is no "
          "table version to read as of LSN {}; pipelines write it after each flush; use "
          "'latest'",
          *lsn);
    }
  }
  std::vector<TableEntry> heads = options_.fixed_tables;
  for (const auto& [table, latest] : lake_tables) {
    int64_t version = latest;
    if (lsn) {
      const auto& listed = watermarks[table.root];
      if (listed) {
        auto it = listed->find(table.schema + "." + table.name);
        if (it == listed->end()) continue;  // created after that LSN
        version = it->second;
      }
    }
    heads.push_back(TableEntry{table.schema, table.name, "", {}, version});
  }
  return heads;
}

Result<TableEntry> LakeTableCatalog::Table(const std::string& schema, const std::string& name,
                                           const AsOf& as_of) const {
  for (const auto& fixed : options_.fixed_tables) {
    if (EqualsIgnoreCase(fixed.schema, schema) && EqualsIgnoreCase(fixed.name, name)) {
      return StaticTableCatalog({fixed}).Table(schema, name, as_of);
    }
  }
  FRESHET_ASSIGN_OR_RETURN(std::optional<LakeTableLocation> table, Locate(schema, name));
  if (!table) return Status::NotFound("relation \"{}.{}\" does not exist", schema, name);
  if (as_of.version) {
    if (*as_of.version < 0) {
      return Status::InvalidArgument("version {} of {}.{} is negative; versions start at 0",
                                     *as_of.version, table->schema, table->name);
    }
    auto entry = ScanAt(*table, *as_of.version);
    if (!entry.ok() && entry.status().code() == Code::kNotFound &&
        entry.status().message().find("has no version") != std::string::npos) {
      return Status::InvalidArgument("{}", entry.status().message());
    }
    return entry;
  }
  if (as_of.timestamp_ms) {
    FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, [&] {
      std::lock_guard lock(mu_);
      return database_.Connect();
    }());
    auto snapshot = lake::Snapshot::LoadAsOf(fs_, connection, table->path, *as_of.timestamp_ms);
    if (!snapshot.ok()) {
      Status renamed = Rename(snapshot.status(), *table);
      if (renamed.code() == Code::kNotFound &&
          renamed.message().find("at or before timestamp") != std::string::npos) {
        return Status::InvalidArgument("{}", renamed.message());
      }
      return renamed;
    }
    return ScanAt(*table, snapshot->version());
  }
  FRESHET_ASSIGN_OR_RETURN(int64_t latest, lake::LatestVersion(fs_, table->path));
  return ScanAt(*table, latest);
}

Result<TableEntry> LakeTableCatalog::Changes(const std::string& schema, const std::string& name,
                                             int64_t from, std::optional<int64_t> to) const {
  for (const auto& fixed : options_.fixed_tables) {
    if (EqualsIgnoreCase(fixed.schema, schema) && EqualsIgnoreCase(fixed.name, name)) {
      return StaticTableCatalog({fixed}).Changes(schema, name, from, to);
    }
  }
  FRESHET_ASSIGN_OR_RETURN(std::optional<LakeTableLocation> table, Locate(schema, name));
  if (!table) return Status::NotFound("relation \"{}.{}\" does not exist", schema, name);
  if (from < 0 || (to && *to < from)) {
    return Status::InvalidArgument(
        "table_changes of {}.{}: versions {} to {} are not a range; write a first version >= 0 "
        "and a last version >= the first",
        table->schema, table->name, from, to ? std::to_string(*to) : "latest");
  }
  FRESHET_ASSIGN_OR_RETURN(engine::Connection connection, [&] {
    std::lock_guard lock(mu_);
    return database_.Connect();
  }());
  auto query = lake::ChangeFeedSql(fs_, connection, table->path, from, to);
  if (!query.ok()) return Rename(query.status(), *table);
  return TableEntry{table->schema, table->name, std::move(query).value(), {}, to.value_or(-1)};
}

std::vector<std::string> LakeTableCatalog::ReadableDirectories(
    const std::vector<std::string>& grants) const {
  // Grants are patterns over names that may not exist yet, so each becomes the narrowest
  // folder holding every table it can match: a whole root for a schema pattern, a schema
  // folder for "schema.*", a table folder for "schema.table". Patterns are case-insensitive
  // but folders are not: folders existing now are added under their own spelling too.
  std::vector<std::string> folders;
  auto add = [&](std::string folder) {
    if (!folder.ends_with('/')) folder += '/';
    if (std::find(folders.begin(), folders.end(), folder) == folders.end()) {
      folders.push_back(std::move(folder));
    }
  };
  for (const auto& root : options_.roots) {
    for (const auto& grant : grants) {
      size_t dot = grant.find('.');
      if (dot == std::string::npos) continue;
      std::string schema = grant.substr(0, dot);
      std::string table = grant.substr(dot + 1);
      if (HasGlob(schema)) {
        add(root);
      } else if (HasGlob(table)) {
        add(lake::JoinPath(root, schema));
      } else {
        add(lake::JoinPath(lake::JoinPath(root, schema), table));
      }
    }
  }
  auto existing = Discover();
  if (existing.ok()) {
    for (const auto& [table, version] : *existing) {
      for (const auto& grant : grants) {
        size_t dot = grant.find('.');
        if (dot == std::string::npos) continue;
        std::string schema = grant.substr(0, dot);
        std::string name = grant.substr(dot + 1);
        if (HasGlob(schema) || !EqualsIgnoreCase(schema, table.schema)) continue;
        if (HasGlob(name)) {
          add(lake::JoinPath(table.root, table.schema));
        } else if (EqualsIgnoreCase(name, table.name)) {
          add(table.path);
        }
      }
    }
  }
  return folders;
}

}  // namespace freshet::server
