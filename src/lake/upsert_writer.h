#pragma once

// UpsertWriter: applies change batches to a keyed Delta table by merge-on-read. Each batch
// becomes one commit: the newest version of every key the batch leaves alive is written to a
// new data file, and every row version the batch replaces or deletes is marked in its file's
// deletion vector (merged with the vector the file already has). Inside a batch the last
// change to a key wins; an update that changes the key deletes the old key's row. An insert of
// a live key replaces it and an update of an absent key inserts it (upsert), so replaying a
// batch after a crash converges. Values marked unchanged are taken from the row's current
// version: earlier in the batch, else the table.
//
// On a table with delta.enableChangeDataFeed=true each commit also writes change-data files
// (Transaction::AppendChangeData) recording every change of the batch individually and in
// order, as change_feed.h reads them: an insert ('insert', or an 'update_preimage' /
// 'update_postimage' pair when the key is live), an update (pre-image from the table or an
// earlier change of the batch, then the post-image with unchanged values filled; 'insert' when
// the key is absent; a key change that lands on a live key first deletes that row), a delete
// ('delete' with the full old row; nothing when the key is absent), a truncate (a 'delete' per
// live row). Whole-row-identity tables likewise; append-only tables record each appended row
// as an 'insert'.
//
// The writer keeps a KeyIndex of the table, built when it opens and updated by its commits;
// when another writer committed in between, the index is rebuilt from the newer snapshot.
// Not thread-safe; one UpsertWriter per table.

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "lake/change_batch.h"
#include "lake/fs/file_system.h"
#include "lake/key_index.h"
#include "lake/optimize.h"
#include "lake/row_cache.h"
#include "lake/scan.h"
#include "lake/snapshot.h"
#include "lake/table_writer.h"

namespace freshet::lake {

// Columns of an append-only table that hold each change's operation ("insert", "update",
// "delete") and LSN.
inline constexpr const char* kChangeOpColumn = "_freshet_op";
inline constexpr const char* kChangeLsnColumn = "_freshet_lsn";

struct UpsertOptions {
  // The primary key (or replica identity index) columns. Empty: the whole row is the identity
  // (REPLICA IDENTITY FULL without a key): an update or delete removes one live row equal to
  // its old image, and duplicate rows stay duplicates.
  std::vector<std::string> key_columns;
  // Append every change as a row (its new row, or the old row of a delete; unchanged values
  // NULL) with kChangeOpColumn and kChangeLsnColumn, keeping the full history. Change rows
  // hold the table's other columns, in order.
  bool append_only = false;
  WriterOptions writer;
  // Automatic compaction (Optimize) after a commit that leaves the table with more than
  // `compact_file_count` files, or more than `compact_deleted_share` of its rows deleted by
  // deletion vectors and at least `compact_min_deleted_rows` of them (a small, busy table
  // would otherwise be rewritten by nearly every commit), when `optimize` selects any file
  // (a threshold met by files it leaves alone does not start a compaction at every commit).
  // 0 disables a threshold. With optimize.min_file_deleted_share at most
  // compact_deleted_share, a table past the deleted share always has a file to take.
  int64_t compact_file_count = 200;
  double compact_deleted_share = 0.3;
  int64_t compact_min_deleted_rows = 10'000;
  OptimizeOptions optimize = AutomaticOptimizeOptions();
  // Memory for the current rows of keys (RowCache) of a keyed table: a batch takes the rows it
  // replaces from there instead of reading them from the data files. 0 turns it off.
  size_t row_cache_bytes = size_t{128} << 20;
  // A budget shared with other writers' caches (one pipeline's tables), if any.
  std::shared_ptr<RowCacheBudget> row_cache_budget;
};

struct ApplyStats {
  int64_t rows_written = 0;
  int64_t rows_deleted = 0;        // row versions marked in deletion vectors
  int64_t rows_read = 0;           // current rows read back from data files (row-cache misses)
  Version compacted_version = -1;  // the version automatic compaction wrote, if it ran
  // Where the time went, in seconds: starting the transaction (snapshot), planning (lookups,
  // replay), writing files (data, change data), committing (DV file, commit, checkpoint),
  // updating the KeyIndex and row cache, automatic compaction.
  double begin_s = 0;
  double plan_s = 0;
  double write_s = 0;
  double commit_s = 0;
  double index_s = 0;
  double compact_s = 0;
};

class UpsertWriter {
 public:
  // Opens the latest snapshot of the table and builds its KeyIndex.
  static Result<UpsertWriter> Open(FileSystem& fs, engine::Connection& connection,
                                   const std::string& table_path, UpsertOptions options);

  // Applies `batch` as one commit ("MERGE"); returns the version written (the current version
  // when the batch changes nothing and carries no app_id). Automatic compaction may follow as a
  // separate commit. InvalidArgument for a change whose row width does not match the table.
  Result<Version> Apply(const ChangeBatch& batch, ApplyStats* stats = nullptr);

  // Compacts the table with `options` (as automatic compaction does with
  // UpsertOptions::optimize; options.writer is used as given) on `connection`, and moves the
  // KeyIndex entries of the rewritten rows to their new files (the row cache, keyed by key,
  // stays as it is) instead of reading the table back. Another thread may call it while it
  // keeps this writer from running (the writer is otherwise not thread-safe): `connection` is
  // that thread's. When another writer committed since this writer's last commit, the index
  // is rebuilt first. Returns what Optimize returns (files_removed 0: nothing was due).
  Result<OptimizeResult> Compact(engine::Connection& connection, const OptimizeOptions& options);

  // Commits a compaction that another thread staged (lake::StageOptimize on `staged`, a
  // transaction of this table begun on an older snapshot, never committed) without keeping
  // this writer from running meanwhile; the caller keeps it from running only for this call.
  // The commit is made on the writer's latest snapshot: rows deleted from the input files
  // since the staged snapshot are carried over as deletion vectors of the new files, and the
  // KeyIndex entries move as with Compact. When an input file is no longer live (another
  // compaction, a truncate), nothing is committed, the new files are deleted and
  // files_removed is 0.
  Result<OptimizeResult> CommitStagedCompaction(engine::Connection& connection,
                                                const Transaction& staged,
                                                OptimizeResult staged_result);

  const KeyIndex& index() const { return index_; }
  const RowCache& row_cache() const { return cache_; }
  Version version() const { return version_; }
  // The rows of the deletion vector of the live file `path` as this writer keeps them from its
  // own commits (nullptr when it keeps none for the current version).
  std::optional<std::vector<uint64_t>> TEST_DeletionVector(const std::string& path) const;

 private:
  UpsertWriter(FileSystem& fs, engine::Connection& connection, std::string table_path,
               UpsertOptions options)
      : fs_(&fs),
        connection_(&connection),
        table_path_(std::move(table_path)),
        options_(std::move(options)),
        cache_(options_.key_columns.empty() || options_.append_only ? 0 : options_.row_cache_bytes,
               options_.row_cache_budget) {}
  // What a batch does: rows to write, and (key, location) of the row versions it deletes.
  // Rows are pointers, not copies: into the batch (a change's row as it came), into `store`
  // (rows the plan built: filled values, rows from the row cache) or into `read` (rows read
  // from the data files); the batch outlives the plan, and neither container moves its rows.
  struct Plan {
    std::deque<engine::Row> store;
    std::map<std::pair<uint32_t, uint32_t>, engine::Row> read;
    std::vector<const engine::Row*> rows;
    std::vector<std::pair<std::string, RowLocation>> deleted;
    // Keyed tables: per `deleted` entry, whether the batch writes the key again (in `rows`)
    // and at which index of `rows` (kNoRow if not); and the key of each row of `rows`.
    static constexpr uint32_t kNoRow = UINT32_MAX;
    std::vector<bool> deleted_rewritten;
    std::vector<uint32_t> deleted_row;
    std::vector<std::string> row_keys;
    bool truncate = false;         // every file of the read snapshot is removed
    bool app_transaction = false;  // the commit records a txn even without row changes
    // The change data feed (when the table has delta.enableChangeDataFeed): every change of the
    // batch in order, as (row, _change_type).
    bool record_feed = false;
    std::vector<std::pair<const engine::Row*, const char*>> feed;
    std::vector<bool> feed_final;  // per feed row: it is a row the commit writes (in `rows`)
    // Keyed tables with the feed: the feed index of each row of `rows`.
    std::vector<uint32_t> row_feed;
    int64_t rows_read = 0;  // current rows read from data files
    // Keeps `row` in `store` and returns where it now lives.
    const engine::Row* Keep(engine::Row row) { return &store.emplace_back(std::move(row)); }
  };
  // Rebuilds the KeyIndex on `snapshot`; `contents_changed` (any change but a compaction)
  // also empties the row cache.
  Status Rebuild(const Snapshot& snapshot, bool contents_changed = true);
  // A transaction on the latest version: on the snapshot kept from the last commit when no
  // newer commit file exists (no log read), else on a freshly loaded one.
  Result<Transaction> BeginTransaction();
  // Adds the rows of the data file `add` just written from `rows` (in file order) to the
  // index: from the rows themselves when the file holds exactly them, else read back.
  Status IndexWrittenFile(const Snapshot& snapshot, const AddFile& add,
                          const std::vector<const engine::Row*>& rows);
  // Brings the KeyIndex and row cache up to date with the commit of `plan` (which added
  // `added`, written from `file_rows` in file order) on `snapshot`, the version before it.
  Status UpdateIndex(const Snapshot& snapshot, const Plan& plan, const std::vector<AddFile>& added,
                     const std::vector<const engine::Row*>& file_rows);
  // Fills the row cache with every row of `snapshot` when the table is small enough to fit
  // (then the cache is complete).
  Status WarmRowCache(const Snapshot& snapshot);
  std::string KeyOf(const engine::Row& row) const;
  Status Validate(const ChangeBatch& batch, size_t width) const;
  void PlanAppendOnly(const ChangeBatch& batch, const Snapshot& snapshot, Plan& plan) const;
  Status PlanKeyed(const ChangeBatch& batch, const Snapshot& snapshot, Plan& plan);
  Status PlanFullIdentity(const ChangeBatch& batch, const Snapshot& snapshot, Plan& plan);
  Result<std::map<std::pair<uint32_t, uint32_t>, engine::Row>> ReadRows(
      const Snapshot& snapshot, const std::set<std::pair<uint32_t, uint32_t>>& locations);
  Result<std::vector<engine::Row>> ReadAllRows(const Snapshot& snapshot);
  Status StageRows(const Snapshot& snapshot, const std::string& table,
                   const std::vector<const engine::Row*>& rows,
                   const std::vector<const char*>& change_types,
                   const std::vector<bool>& final_flags);
  Result<Version> ApplyBatch(const ChangeBatch& batch, ApplyStats& stats);
  Result<Version> CommitPlan(Transaction& txn, Plan& plan, ApplyStats& stats);
  // After `txn` committed `version` directly on the version this writer read: keeps the
  // deletion vectors it wrote for that version and forgets those of files it removed.
  void KeepDeletionVectors(const Transaction& txn, Version version);
  // Compacts when the table after `txn` (committed as `version`) passes a threshold.
  Status MaybeCompact(const Transaction& txn, Version version, ApplyStats& stats);
  Result<OptimizeResult> CompactTable(const OptimizeOptions& options);
  // Moves the index entries of the rows `result` rewrote; false when its rewrites cannot be
  // followed (then the index must be rebuilt).
  // `deleted_since` rows of the inputs were deleted after the rewrite read them (a staged
  // compaction) and have no index entry.
  bool MoveCompactedRows(const OptimizeResult& result, int64_t deleted_since = 0);
  Result<OptimizeResult> CommitRebased(const Transaction& staged, OptimizeResult staged_result);
  // After a compaction committed by `txn` as result.version on the index's version: the
  // writer's snapshot and index follow it.
  Status FollowCompaction(const Transaction& txn, Version read_version,
                          const OptimizeResult& result, int64_t deleted_since);

  FileSystem* fs_;
  engine::Connection* connection_;
  std::string table_path_;
  UpsertOptions options_;
  std::vector<std::string> index_columns_;  // key columns, or every column
  std::vector<size_t> key_positions_;       // their indexes in the schema
  std::vector<size_t> data_columns_;        // schema indexes of the change rows' values
  KeyIndex index_;
  ParquetSchemaCache schema_cache_;  // of the files ReadRows reads
  RowCache cache_;
  // The cache holds every live key of the table (warmed whole, no key refused since): a key it
  // lacks is not live, and a key it holds with one index candidate is at that candidate.
  bool cache_complete_ = false;
  Version version_ = -1;
  // The snapshot of version_ built from this writer's own commits, for the next transaction.
  std::optional<Snapshot> snapshot_;
  // The rows of each file's deletion vector (by add.path) as of deletion_vectors_version_, from
  // this writer's own commits: a batch merges its deletes into them instead of reading every
  // touched file's vector back. Dropped whenever another writer may have changed them.
  std::unordered_map<std::string, RowSet> deletion_vectors_;
  Version deletion_vectors_version_ = -1;
};

// SQL literal of `value` (NULL, numbers, quoted text, from_hex blobs, lists, structs, maps,
// dates and times from their epoch counts); the caller casts it to the column type.
std::string ValueSqlLiteral(const engine::Value& value);

}  // namespace freshet::lake
