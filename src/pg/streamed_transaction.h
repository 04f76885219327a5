#pragma once

// StreamedTransaction: the changes of one large in-progress transaction that PostgreSQL
// streams before it commits (pgoutput protocol version 2, streaming on), held until its Stream
// Commit or thrown away at its Stream Abort.
//
// Items are kept in memory until the owner calls Spill(), which appends them to a temporary
// file and frees their memory; the owner decides when, to keep the total across transactions
// under its limit. The file is unlinked as soon as it is created, so it disappears with the
// process whatever happens. Replay() delivers every item in arrival order, skipping those of
// aborted subtransactions. Not thread-safe.
//
// Errors: IOError when the spill file cannot be created, written or read back; Corruption when
// what was read back does not parse (a bug or a damaged disk).

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/result.h"
#include "pg/change.h"
#include "pg/change_sink.h"

namespace freshet::pg {

class StreamedTransaction {
 public:
  using Item = std::variant<Change, SchemaEvent, LogicalMessage>;

  StreamedTransaction(Xid xid, std::string spill_directory);
  StreamedTransaction(StreamedTransaction&&) noexcept = default;
  StreamedTransaction& operator=(StreamedTransaction&&) noexcept = default;
  ~StreamedTransaction() = default;

  Xid xid() const { return xid_; }
  // `subxid` is the (sub)transaction that made the change; equal to xid() for the top level.
  void Add(Xid subxid, Item item);
  // Forgets the changes of one aborted subtransaction.
  void AbortSubtransaction(Xid subxid) { aborted_subxids_.insert(subxid.value); }

  // Bytes held in memory (an estimate of the items' footprint) and written to disk.
  size_t memory_bytes() const { return memory_bytes_; }
  size_t spilled_bytes() const { return spilled_bytes_; }
  size_t item_count() const { return item_count_; }

  // Moves every in-memory item to the spill file.
  Status Spill();

  // Delivers the items (not OnBegin/OnCommit) in order. Consumes the transaction.
  Status Replay(ChangeSink& sink);

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
  };
  struct Entry {
    uint32_t subxid;
    Item item;
  };

  Status OpenSpillFile();
  void Encode(const Entry& entry, std::string& out);
  Result<Entry> DecodeEntry(std::string_view bytes) const;
  Status Deliver(Entry&& entry, ChangeSink& sink) const;

  Xid xid_;
  std::string spill_directory_;
  std::vector<Entry> entries_;
  size_t memory_bytes_ = 0;
  size_t spilled_bytes_ = 0;
  size_t item_count_ = 0;
  std::unordered_set<uint32_t> aborted_subxids_;
  std::unique_ptr<std::FILE, FileCloser> spill_;
  // Relations referenced by spilled changes, by index, so a spilled change keeps the exact
  // relation version it was decoded with.
  std::vector<std::shared_ptr<const Relation>> relations_;
  std::unordered_map<const Relation*, uint32_t> relation_index_;
};

}  // namespace freshet::pg
