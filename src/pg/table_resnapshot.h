#pragma once

// TableResnapshot: re-reads one table while streaming continues, with watermarks (the DBLog
// algorithm, as in Debezium's incremental snapshots), so the lake can be repaired or a table
// added to a running pipeline without stopping it.
//
// It sits between the stream and the caller's sink (pass it as ChangeCapture's sink). For each
// chunk, ReadNextChunk writes a low watermark (a non-transactional logical message), selects
// the next chunk_rows rows in primary-key order on an ordinary connection, and writes a high
// watermark. Messages and transactions come through the stream in WAL order, so when the low
// watermark arrives every transaction the SELECT could have missed is still to come, and when
// the high watermark arrives every transaction the SELECT could have seen has passed. Any row
// whose key a change touches between the two is dropped from the chunk, since the stream's
// version is as new or newer; at the high watermark the rest of the chunk is delivered as
// ChangeKind::kRead rows in a transaction of its own (commit and end LSN: the high watermark),
// which the lake applies as upserts. Rows are therefore never older than what the stream
// already delivered, and the table converges to the source.
//
// Not thread-safe: the thread that polls the stream calls ReadNextChunk between polls. Errors:
// the connection's; NotFound for a table without a primary key; Conflict from ReadNextChunk when
// the table's columns changed since Create (start again with a new TableResnapshot); the sink's.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "pg/change_sink.h"
#include "pg/connection.h"
#include "pg/types.h"

namespace freshet::pg {

struct ResnapshotOptions {
  std::string table;  // "schema.table"
  int chunk_rows = 1024;
  std::string watermark_prefix = "freshet_resnapshot";
};

class TableResnapshot : public ChangeSink {
 public:
  // Reads the table's columns and key from the catalog.
  static Result<std::unique_ptr<TableResnapshot>> Create(Connection& sql, ResnapshotOptions options,
                                                         ChangeSink& downstream);

  // Selects the next chunk between two watermarks. REQUIRES: the previous chunk was delivered
  // (chunk_pending() is false) and done() is false.
  Status ReadNextChunk(Connection& sql);
  // A chunk was read and waits for its high watermark in the stream. After a rewind (a reconnect
  // in the window) it is false again with done() false: call ReadNextChunk to read it again.
  bool chunk_pending() const { return pending_.has_value(); }
  // Every chunk was read and delivered.
  bool done() const { return finished_ && !pending_; }
  uint64_t rows_delivered() const { return rows_delivered_; }
  uint64_t rows_dropped() const { return rows_dropped_; }

  Status OnBegin(const TransactionInfo& info) override { return downstream_.OnBegin(info); }
  Status OnSchemaEvent(const SchemaEvent& event) override {
    return downstream_.OnSchemaEvent(event);
  }
  Status OnChange(Change&& change) override;
  Status OnMessage(LogicalMessage&& message) override;
  Status OnCommit(const TransactionInfo& info) override { return downstream_.OnCommit(info); }
  // A reconnect may skip the pending chunk's watermarks: the chunk is read again.
  Status OnRestart() override;

 private:
  struct Chunk {
    int number = 0;
    std::vector<std::string> start_key;  // last_key_ before this chunk, to read it again
    bool window_open = false;
    std::map<std::string, Tuple> rows;  // by canonical key
  };

  TableResnapshot(ResnapshotOptions options, ChangeSink& downstream,
                  std::shared_ptr<const Relation> relation, TypeRegistry registry);
  // The key columns of `tuple` as PostgreSQL prints them, joined; nullopt when a key value is
  // missing (unchanged TOAST, or no old tuple).
  std::optional<std::string> KeyOf(const Tuple& tuple) const;
  Status Deliver(Lsn high_watermark);
  void Rewind();

  ResnapshotOptions options_;
  ChangeSink& downstream_;
  std::shared_ptr<const Relation> relation_;
  TypeRegistry registry_;
  std::vector<size_t> key_columns_;
  std::vector<std::string> key_type_names_;
  std::optional<Chunk> pending_;
  std::vector<std::string> last_key_;  // text of the last chunk's largest key
  int next_number_ = 0;
  bool finished_ = false;
  uint64_t rows_delivered_ = 0;
  uint64_t rows_dropped_ = 0;
};

}  // namespace freshet::pg
