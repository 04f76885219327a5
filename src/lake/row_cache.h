#pragma once

// RowCache: the current row of some keys of a keyed table, in memory, so that an upsert batch
// finds the rows it replaces (the change feed's pre-images, values a change leaves unchanged)
// without reading them back from the data files. Reading a few thousand rows scattered over a
// table means decoding nearly all of its Parquet pages; a hit here costs one decode of a few
// bytes.
//
// The cache holds, for each key it has, exactly the row the table holds: the writer puts every
// row it commits and every row it reads from the table, erases every key a commit deletes, and
// clears the cache when the table changes under it (another writer, a truncate). It may lack
// any key. Rows are encoded into one byte arena (a record per key: key bytes, then each value
// as a kind tag and its payload), found through an open-addressing table of {hash, offset}:
// about 20 bytes plus the encoded row per key. Past `budget_bytes` no new key is taken (keys
// already held are still replaced or erased, so the cache stays exact). Not thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/statement.h"
#include "engine/value.h"

namespace freshet::lake {

class RowCache {
 public:
  explicit RowCache(size_t budget_bytes = 0) : budget_bytes_(budget_bytes) {}

  // The cached row of `key` (its EncodeKey bytes), or nullopt.
  std::optional<engine::Row> Get(std::string_view key) const;
  // Caches `row` as the current row of `key`, replacing what the cache had; a new key is
  // taken only within the budget.
  void Put(std::string_view key, const engine::Row& row);
  void Erase(std::string_view key);
  void Clear();

  size_t size() const { return size_; }
  size_t budget_bytes() const { return budget_bytes_; }
  // Bytes held: the slot table and the live part of the arena.
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot) + arena_.size() - garbage_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t offset = kEmpty;  // of the record in arena_
  };
  static constexpr uint64_t kEmpty = UINT64_MAX;

  size_t Home(uint64_t hash) const;
  // The slot holding `key`, or nullopt.
  std::optional<size_t> FindSlot(std::string_view key, uint64_t hash) const;
  std::string_view RecordKey(uint64_t offset) const;
  size_t RecordSize(uint64_t offset) const;
  uint64_t Append(std::string_view key, const engine::Row& row);
  void Grow();
  void EraseSlot(size_t slot);
  void CompactArena();

  size_t budget_bytes_;
  std::vector<Slot> slots_;
  size_t size_ = 0;
  std::string arena_;
  size_t garbage_ = 0;  // arena bytes of replaced or erased records
};

// Lossless bytes of a row (every Value kind, nested ones included) and back.
void EncodeRow(const engine::Row& row, std::string& out);
engine::Row DecodeRow(std::string_view bytes);

}  // namespace freshet::lake
