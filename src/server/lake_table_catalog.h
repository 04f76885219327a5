#pragma once

// LakeTableCatalog: every Delta table under the configured lake roots, served as
// `schema.table` for `<root>/<schema>/<table>/_delta_log` (the layout pipelines write), plus
// optional fixed Parquet tables from the configuration.
//
// Nothing is listed once and kept: ListHeads lists the roots and each table's _delta_log on
// every call (one folder listing per root, per schema folder and per table), so a table appears
// and its new commits become visible to the next statement without restarting the server. The
// expensive part, a snapshot's scan query (log replay and a Parquet footer read per file), is
// cached by (table folder, version); Delta versions are immutable, so cached queries never go
// stale. Time travel (AsOf) and `SET freshet.snapshot = '<LSN>'` (the watermark log,
// `<root>/_freshet/watermarks/<20-digit LSN>.json`, written by the pipeline after each flush)
// go through the same cache.
//
// Thread-safe: sessions call it concurrently; each call uses a DuckDB connection of its own
// on the catalog's private database (which, unlike session databases, may read any file).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/fs/file_system.h"
#include "server/table_catalog.h"

namespace freshet::server {

struct LakeCatalogOptions {
  // Folders holding <schema>/<table>/_delta_log; a root that does not exist yet is empty.
  std::vector<std::string> roots;
  // Parquet tables from the configuration, served beside the lake's.
  std::vector<TableEntry> fixed_tables;
  // Scan queries kept (one per table version read recently).
  size_t cached_scans = 512;
};

// Where a table lives: its root and folder.
struct LakeTableLocation {
  std::string schema;
  std::string name;
  std::string root;
  std::string path;
};

class LakeTableCatalog : public TableCatalog {
 public:
  // `fs` must outlive the catalog.
  static Result<std::unique_ptr<LakeTableCatalog>> Open(lake::FileSystem& fs,
                                                        LakeCatalogOptions options);

  Result<std::vector<TableEntry>> ListTables() const override;
  Result<std::vector<TableEntry>> ListHeads(std::optional<Lsn> lsn) const override;
  Result<TableEntry> Table(const std::string& schema, const std::string& name,
                           const AsOf& as_of) const override;
  Result<TableEntry> Changes(const std::string& schema, const std::string& name, int64_t from,
                             std::optional<int64_t> to) const override;
  std::vector<std::string> ReadableDirectories(
      const std::vector<std::string>& grants) const override;

  // The lake tables now, with their latest versions. A table name found under two roots is
  // served from the first root listed (a warning names both).
  Result<std::vector<std::pair<LakeTableLocation, int64_t>>> Discover() const;

  const std::vector<std::string>& roots() const { return options_.roots; }

  // Scan queries built since the catalog opened (cache misses), for tests and metrics.
  int64_t scans_built() const;

 private:
  LakeTableCatalog(lake::FileSystem& fs, LakeCatalogOptions options, engine::Database database);

  Result<TableEntry> ScanAt(const LakeTableLocation& table, int64_t version) const;
  Result<std::optional<LakeTableLocation>> Locate(const std::string& schema,
                                                  const std::string& name) const;
  // The tables the watermark at or below `lsn` lists for `root`; nullopt when the root has no
  // watermark log.
  Result<std::optional<std::map<std::string, int64_t>>> WatermarkTables(const std::string& root,
                                                                        Lsn lsn) const;

  lake::FileSystem& fs_;
  const LakeCatalogOptions options_;

  mutable std::mutex mu_;
  mutable engine::Database database_;  // GUARDED_BY(mu_) for Connect()
  struct CachedScan {
    TableEntry entry;
    uint64_t last_used = 0;
  };
  mutable std::map<std::pair<std::string, int64_t>, CachedScan> scans_;  // GUARDED_BY(mu_)
  mutable uint64_t clock_ = 0;                                           // GUARDED_BY(mu_)
  mutable int64_t scans_built_ = 0;                                      // GUARDED_BY(mu_)
};

}  // namespace freshet::server
