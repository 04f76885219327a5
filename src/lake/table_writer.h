#pragma once

// Writing Delta tables: create a table, then commit transactions that append data files
// (written through DuckDB, with Delta `stats`), remove files, delete rows with deletion
// vectors, and record txn{appId, version}, all in one atomic commit.
//
// Commits are optimistic (PROTOCOL.md "Requirements for Writers"): a transaction reads a
// snapshot, writes its data and DV files under fresh names, then creates the next commit file
// with FileSystem::PutIfAbsent. When another writer took that version, the transaction reads
// the winning commits and retries at the next version unless they conflict with it: a protocol
// or metadata change, the same txn appId, or a removal (or DV change) of a file this
// transaction also removes or changes. Conflicts return Code::kConflict naming the version.
// Data and DV files of a failed commit stay unreferenced, so the table stays readable at its
// last good version. A Transaction is used by one thread; distinct transactions (threads or
// processes) may race on one table.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "engine/parquet.h"
#include "lake/actions.h"
#include "lake/deletion_vector.h"
#include "lake/fs/file_system.h"
#include "lake/schema.h"
#include "lake/snapshot.h"

namespace freshet::lake {

struct WriterOptions {
  // Commits between checkpoints, unless the table sets delta.checkpointInterval.
  int checkpoint_interval = 10;
  int max_commit_attempts = 20;
  std::string engine_info = "freshet";
  // Milliseconds since the epoch, for commitInfo and file times; injectable for tests.
  std::function<int64_t()> now_ms;
};

struct CreateTableOptions {
  Schema schema;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<std::string> name;
  std::optional<std::string> description;
};

// Creates version 0: protocol (reader 3, writer 7, deletionVectors; timestampNtz when the
// schema uses it; the changeDataFeed writer feature when the configuration sets
// delta.enableChangeDataFeed=true), metaData with delta.enableDeletionVectors=true. AlreadyExists
// when the table has a version 0.
Result<Version> CreateTable(FileSystem& fs, const std::string& table_path,
                            const CreateTableOptions& options, const WriterOptions& writer = {});

class Transaction {
 public:
  // Starts a transaction on the latest snapshot of the table.
  static Result<Transaction> Begin(FileSystem& fs, engine::Connection& connection,
                                   const std::string& table_path, WriterOptions options = {});
  // Starts a transaction on `snapshot` (of the table at snapshot.table_path()) without reading
  // the log: for a writer that kept it current (CommittedSnapshot) and checked that no newer
  // version exists. A stale snapshot stays safe: the commit then lands above the versions it
  // missed after the usual conflict checks, as when another writer wins a race.
  static Result<Transaction> Begin(FileSystem& fs, engine::Connection& connection,
                                   Snapshot snapshot, WriterOptions options = {});

  Transaction(Transaction&&) noexcept = default;
  Transaction& operator=(Transaction&&) noexcept = default;

  const Snapshot& read_snapshot() const { return snapshot_; }
  // The add and remove actions staged so far (after Commit: what the commit holds).
  const std::vector<AddFile>& staged_adds() const { return adds_; }
  const std::vector<RemoveFile>& staged_removes() const { return removes_; }

  // Writes the rows of `select_sql` (its columns named like the table's, any order; missing
  // ones become NULL) as new data files, one per partition, and stages their add actions.
  Result<std::vector<AddFile>> Append(const std::string& select_sql);
  // Writes the rows of `select_sql` (the table's columns as in Append, plus kChangeTypeColumn)
  // as change-data files under _change_data/, one per partition (in order of each partition's
  // first row), and stages their cdc actions (PROTOCOL.md "Add CDC File"). Each file keeps the
  // rows in the order `select_sql` yields them; readers order by file and then row number.
  Result<std::vector<AddCdcFile>> AppendChangeData(const std::string& select_sql);
  // As Append, for rows that are all new (no row copied from another file) and each a change
  // of the commit: the data files also carry kChangeTypeColumn and are staged as cdc actions
  // too, so they serve as their own change data (PROTOCOL.md "Add CDC File"; table readers
  // ignore the extra column). Saves writing those rows a second time.
  Result<std::vector<AddFile>> AppendAsChangeData(const std::string& select_sql);
  // Stages the removal of the live file `path` (as it appears in add.path).
  Status Remove(const std::string& path);
  // Marks `rows` (indexes into the data file) of the live file `path` deleted: stages remove +
  // add of the file with a new deletion vector holding these rows and any already deleted (or
  // a plain remove when no row is left). The commit writes all its new vectors into one file.
  Status DeleteRows(const std::string& path, const std::vector<uint64_t>& rows);
  // As DeleteRows, for a caller that keeps the rows of each file's deletion vector from its
  // own commits: `current` holds them (empty when the file has no vector) and is used instead
  // of reading the DV file back; on success it holds every row of the file's new vector, and
  // the commit encodes it from there (so it must outlive Commit). A `current` whose size is
  // not the vector's cardinality is not trusted: the vector is read as DeleteRows does.
  Status DeleteRows(const std::string& path, const std::vector<uint64_t>& rows, RowSet& current);
  // Stages the add of `add`, a file of this table written by another transaction that was not
  // committed (a compaction staged on an older snapshot), with the rows `deleted` (sorted)
  // marked in a new deletion vector when there are any.
  Status AddWrittenFile(AddFile add, std::vector<uint64_t> deleted);
  // Marks every staged add and remove dataChange=false: the commit only rearranges rows
  // (compaction), so change-feed readers skip it.
  void MarkNoDataChange();
  // Replaces the table's metaData (and protocol, when given) in this commit: schema changes such
  // as renames, drops and type widening (see schema_change.h). Files appended by the same
  // transaction are still written with the schema of read_snapshot(), so a transaction that
  // changes the schema should write no data. Any concurrent commit conflicts with it.
  void SetMetadata(Metadata metadata, std::optional<Protocol> protocol = std::nullopt);
  // Records txn{app_id, version} in the commit.
  void SetAppTransaction(const std::string& app_id, int64_t version);

  // Commits the staged actions; returns the version written. Every checkpoint interval
  // (delta.checkpointInterval, else WriterOptions) the commit is followed by a checkpoint.
  Result<Version> Commit(const std::string& operation = "WRITE");
  // How the checkpoint after the last commit went (OK when none was due).
  const Status& checkpoint_status() const { return checkpoint_status_; }
  // After Commit: the snapshot of the version written, built from read_snapshot() and the
  // commit's own actions (Snapshot::Advance, no log read), when that version directly follows
  // read_snapshot(); nullopt when other writers' commits came in between (then load it).
  Result<std::optional<Snapshot>> CommittedSnapshot() const;

 private:
  Transaction(FileSystem& fs, engine::Connection& connection, Snapshot snapshot,
              WriterOptions options);
  enum class FileKind {
    kData,                // a data file with the table's columns
    kChangeData,          // a file under _change_data/ with kChangeTypeColumn
    kDataWithChangeType,  // a data file that also carries kChangeTypeColumn
  };
  Result<AddFile> WriteDataFile(const std::string& select_sql, const PartitionValues& partition,
                                FileKind kind = FileKind::kData);
  Result<std::vector<AddFile>> AppendFiles(const std::string& select_sql, FileKind kind);
  Result<std::vector<PartitionValues>> Partitions(const std::string& select_sql);
  Status CheckConflicts(const ActionSet& winner, Version version) const;
  std::string CommitText(const std::string& operation) const;
  const AddFile* LiveFile(const std::string& path) const;
  Status DeleteRowsKnown(const std::string& path, const std::vector<uint64_t>& rows,
                         RowSet* current);
  int CheckpointInterval() const;  // delta.checkpointInterval, else WriterOptions
  void MaybeCheckpoint(Version version);
  // The snapshot of the version committed, from read_snapshot() and the staged actions.
  Result<Snapshot> AdvanceSnapshot() const;
  Status WritePendingDeletionVectors();

  FileSystem* fs_;
  engine::Connection* connection_;
  Snapshot snapshot_;
  WriterOptions options_;
  std::vector<AddFile> adds_;
  std::vector<RemoveFile> removes_;
  std::vector<AddCdcFile> cdcs_;
  struct PendingDeletionVector {
    AddFile add;             // the file with its new vector, once written
    RowSet owned;            // every deleted row, unless the caller keeps them:
    RowSet* kept = nullptr;  // the caller's set (DeleteRows with `current`)
    RowSet& rows() { return kept != nullptr ? *kept : owned; }
  };
  std::vector<PendingDeletionVector> pending_deletion_vectors_;
  std::optional<Txn> app_transaction_;
  std::optional<Metadata> new_metadata_;
  std::optional<Protocol> new_protocol_;
  std::map<std::string, int64_t> metrics_;
  bool committed_ = false;
  Version committed_version_ = -1;
  std::string committed_text_;  // the commit file written
  // When the commit directly follows read_snapshot(): the snapshot it made (marked
  // checkpointed once a checkpoint of it is written), or why it could not be built.
  std::optional<Snapshot> committed_snapshot_;
  Status committed_snapshot_status_;
  Status checkpoint_status_;
};

// Builds the Delta `stats` JSON of a data file from DuckDB's write statistics, keyed by physical
// names under `column_mapping_mode` ("none", "name" or "id").
std::string StatsJson(const Schema& schema, const std::vector<std::string>& partition_columns,
                      int64_t row_count, const engine::ParquetFileStats& stats,
                      const std::string& column_mapping_mode = "none");

// A random (version 4) UUID.
std::array<uint8_t, 16> RandomUuid();

}  // namespace freshet::lake
