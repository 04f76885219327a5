#pragma once

// Backfill: copies the rows a table already has when it joins a pipeline after the initial
// snapshot (added to the publication or to the config, or created since), while streaming goes
// on. Tables are copied one at a time by pg::TableResnapshot (chunks in key order between
// watermarks in the stream), so every copied row is at least as new as what the stream
// delivered before it, and the lake table converges to the source. The copied rows reach the
// pipeline as read changes in transactions of their own and are upserted.
//
// The list of tables still to copy is kept in a file beside the snapshot state and saved before
// a table's lake table is created, so a crash never leaves a table half copied: after a restart
// its copy starts again from its first row (upserts make that harmless). A table leaves the list
// once the LSN of its last chunk is durable in the lake.
//
// It sits between the replication stream and the pipeline (pass it as ChangeCapture's sink).
// Not thread-safe: the thread that polls the stream calls Step between polls.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "lake/fs/file_system.h"
#include "pg/change_sink.h"
#include "pg/connection.h"
#include "pg/table_resnapshot.h"

namespace freshet::pipeline {

// "schema.table" (as the pipeline names tables: unquoted, split at the first dot) as SQL names
// it, each part quoted.
std::string SqlTableName(const std::string& table);

class Backfill : public pg::ChangeSink {
 public:
  // `watermark_prefix` tags this run's watermark messages (make it unique per run, so the
  // stream's replay of an earlier run's watermarks never matches).
  Backfill(lake::FileSystem& fs, std::string state_path, std::string watermark_prefix,
           pg::ChangeSink& downstream, int chunk_rows = 8192);

  // Reads the list left by an earlier run (none: empty).
  Status Load();
  // Adds `table` ("schema.table") to the list and saves it.
  Status Add(const std::string& table);
  // Between polls: starts the first listed table, reads its next chunk when none is on its
  // way, and finishes it once `durable` (the LSN up to which the lake holds every change)
  // reaches its last chunk. A table without a primary key, or one that vanished, leaves the
  // list with a warning; one whose columns changed under a chunk starts again.
  Status Step(pg::Connection& sql, Lsn durable);
  // The next Step starts the table's copy again from its first row (its columns changed under
  // a chunk). Safe to call while the copy delivers rows.
  void Restart(const std::string& table);

  const std::vector<std::string>& tables() const { return tables_; }

  // pg::ChangeSink: to the table being copied, which passes everything on.
  Status OnBegin(const pg::TransactionInfo& info) override { return Sink().OnBegin(info); }
  Status OnSchemaEvent(const pg::SchemaEvent& event) override {
    return Sink().OnSchemaEvent(event);
  }
  Status OnChange(pg::Change&& change) override { return Sink().OnChange(std::move(change)); }
  Status OnMessage(pg::LogicalMessage&& message) override;
  Status OnCommit(const pg::TransactionInfo& info) override { return Sink().OnCommit(info); }
  Status OnRestart() override { return Sink().OnRestart(); }

 private:
  pg::ChangeSink& Sink() { return active_ ? *active_ : downstream_; }
  Status Save();
  // The first table is done (or dropped): the next one starts at the next Step.
  Status Finish(std::string_view how);

  lake::FileSystem& fs_;
  std::string state_path_;
  std::string watermark_prefix_;
  pg::ChangeSink& downstream_;
  int chunk_rows_;
  std::vector<std::string> tables_;  // to copy, in order; the first is under way
  std::unique_ptr<pg::TableResnapshot> active_;
  std::optional<Lsn> last_chunk_lsn_;
  bool restart_ = false;  // once the active table's last chunk was delivered
  std::chrono::steady_clock::time_point started_;
};

}  // namespace freshet::pipeline
