#pragma once

// SnapshotReader: the initial copy of tables, consistent with a replication slot.
//
// The slot is created with an exported snapshot (CreateSlot(export_snapshot = true)) and its
// connection is left idle. Each worker connection then runs BEGIN ISOLATION LEVEL REPEATABLE
// READ; SET TRANSACTION SNAPSHOT '<name>' and reads one chunk at a time with
// COPY (SELECT <columns> FROM t WHERE ctid >= '(a,0)' AND ctid < '(b,0)') TO STDOUT
// (FORMAT binary): a TID range scan of pages [a, b). Every worker sees the database exactly as
// of the slot's consistent point, so streaming from that point afterwards misses no change and
// repeats none. The last chunk of a table has no upper bound, so pages added after planning
// are read too.
//
// Rows reach the SnapshotSink as read Changes (ChangeKind::kRead) (binary values) of a Relation
// built from the catalog (the columns pgoutput sends: no dropped or generated ones), one chunk's
// rows between OnChunkStart and OnChunkDone. Calls into the sink are serialized. A caller that
// records finished chunks can pass them back in `skip` to resume; chunks read under a newer
// snapshot than the finished ones are safe only when changes are replayed as upserts and deletes by
// key from the slot's position (the lake writer does this), which is why the consistent point of
// the original slot is kept.
//
// Errors: the Connection's codes; InvalidArgument when the exported snapshot is gone (its
// connection ran another command or closed); Cancelled when a sink call fails.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "pg/change.h"
#include "pg/connection.h"

namespace freshet::pg {

enum class SnapshotMode : uint8_t {
  kInitial,      // snapshot the tables, then stream (default)
  kNever,        // stream only, from the slot's position
  kInitialOnly,  // snapshot the tables, then stop
};
Result<SnapshotMode> ParseSnapshotMode(std::string_view text);

struct SnapshotTable {
  std::shared_ptr<const Relation> relation;
  int64_t pages = 0;         // relpages when planned
  bool partitioned = false;  // rows live in the partitions: read through a query
};

struct SnapshotChunk {
  size_t table = 0;  // index into the plan's tables
  uint32_t first_page = 0;
  std::optional<uint32_t> end_page;  // exclusive; none for a table's last chunk
  friend auto operator<=>(const SnapshotChunk&, const SnapshotChunk&) = default;
};

struct SnapshotPlan {
  std::vector<SnapshotTable> tables;
  std::vector<SnapshotChunk> chunks;
};

// Describes `tables` ("schema.table") and splits each into chunks of `pages_per_chunk` pages.
Result<SnapshotPlan> PlanSnapshot(Connection& connection, const std::vector<std::string>& tables,
                                  uint32_t pages_per_chunk);

class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status OnChunkStart(const SnapshotChunk& chunk) = 0;
  virtual Status OnRow(const SnapshotChunk& chunk, Change&& change) = 0;
  // The chunk's rows are all delivered; a resumable caller records it now.
  virtual Status OnChunkDone(const SnapshotChunk& chunk) = 0;
};

struct SnapshotProgress {
  std::atomic<uint64_t> rows{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> pages_done{0};
  std::atomic<uint64_t> chunks_done{0};
  uint64_t pages_total = 0;
  std::chrono::steady_clock::time_point started;

  double Percent() const;
  // Remaining time at the rate so far; zero before any page is done.
  std::chrono::seconds Eta() const;
};

struct SnapshotOptions {
  ConnectOptions connect;
  // The slot's exported snapshot. Empty when resuming after it is gone: each worker then reads
  // in a snapshot of its own, newer than the slot's position, which converges once the stream
  // is replayed from the slot as upserts and deletes by key.
  std::string snapshot_name;
  int parallelism = 2;
  std::set<SnapshotChunk> skip;  // chunks finished by an earlier run
};

Status RunSnapshot(const SnapshotPlan& plan, const SnapshotOptions& options, SnapshotSink& sink,
                   SnapshotProgress& progress);

}  // namespace freshet::pg
