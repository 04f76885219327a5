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
// as a kind tag and its payload) kept in blocks of up to 2 MB, found through an open-addressing
// table of {hash, offset}: about 20 bytes plus the encoded row per key. Past `budget_bytes` no new
// key is taken (keys already held are still replaced or erased, so the cache stays exact). Caches
// may also share a RowCacheBudget (the tables of one pipeline): each charges the bytes it holds to
// it and takes no new key while the shared budget is spent. A cache is not thread-safe; the shared
// budget is.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/statement.h"
#include "engine/value.h"
#include "lake/linear_probing.h"

namespace freshet::lake {

// Bytes left for the row caches sharing it.
struct RowCacheBudget {
  explicit RowCacheBudget(int64_t bytes) : left(bytes) {}
  std::atomic<int64_t> left;
};

class RowCache {
 public:
  explicit RowCache(size_t budget_bytes = 0, std::shared_ptr<RowCacheBudget> shared = nullptr)
      : budget_bytes_(budget_bytes), shared_(std::move(shared)) {}
  RowCache(RowCache&& other) noexcept;
  RowCache& operator=(RowCache&& other) noexcept;
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;
  ~RowCache();

  // The cached row of `key` (its EncodeKey bytes), or nullopt.
  std::optional<engine::Row> Get(std::string_view key) const;
  bool Contains(std::string_view key) const;
  // Caches `row` as the current row of `key`, replacing what the cache had; a new key is
  // taken only within the budget. False when the key was not taken.
  bool Put(std::string_view key, const engine::Row& row);
  void Erase(std::string_view key);
  void Clear();
  // Hints for a run of lookups: Prefetch brings `key`'s slot toward the CPU, PrefetchRecord
  // (some lookups later, once the slot is there) the record it points at. Lookups over a large
  // cache otherwise wait on two cache misses each.
  void Prefetch(std::string_view key) const;
  void PrefetchRecord(std::string_view key) const;
  // Whether `key` is matched without reading its record (Put, Erase, Contains): a key of one
  // integer column, hashed by a bijection of the integer, so equal hashes mean equal keys.
  static bool IsExactKey(std::string_view key);

  size_t size() const { return size_; }
  size_t budget_bytes() const { return budget_bytes_; }
  // Bytes held: the slot table and the arena's blocks (replaced records included until the
  // arena is compacted).
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot) + block_bytes_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    // Of the record: block index << 32 | position in the block; kExactBit set when the key
    // IsExactKey.
    uint64_t offset = kEmpty;
  };
  static constexpr uint64_t kEmpty = UINT64_MAX;
  static constexpr uint64_t kExactBit = uint64_t{1} << 63;
  static uint64_t OffsetOf(const Slot& slot) { return slot.offset & ~kExactBit; }
  static uint64_t Hash(std::string_view key);
  // Bytes of the record `slot` held, once replaced or erased: read, or `estimate` for a
  // slot matched without its record.
  size_t ReplacedBytes(const Slot& slot, size_t estimate) const;
  // Blocks grow from 256 KB (small tables keep little) to one huge page: records are read at
  // random all over the arena, as slots are.
  static constexpr size_t kFirstBlockBytes = size_t{256} << 10;
  static constexpr size_t kBlockBytes = size_t{2} << 20;
  using Block = probing::SlotVector<char>;
  static bool IsEmpty(const Slot& slot) { return slot.offset == kEmpty; }

  size_t Home(uint64_t hash) const;
  // The slot holding `key`, or nullopt.
  std::optional<size_t> FindSlot(std::string_view key, uint64_t hash) const;
  std::string_view Record(uint64_t offset) const;
  std::string_view RecordKey(uint64_t offset) const;
  // Encodes the record of (key, row) into record_ (reused: no allocation once warm).
  void EncodeRecord(std::string_view key, const engine::Row& row);
  uint64_t Append(std::string_view record);
  // The capacity of the block a record of `record_bytes` would open next.
  size_t NextBlockBytes(size_t record_bytes) const;
  void Grow();
  void EraseSlot(size_t slot);
  void CompactArena();
  bool HasRoom(size_t record_bytes) const;
  // Brings the shared budget's charge up to date with MemoryBytes().
  void Charge();

  size_t budget_bytes_;
  std::shared_ptr<RowCacheBudget> shared_;
  int64_t charged_ = 0;  // bytes charged to shared_
  probing::SlotVector<Slot> slots_;
  size_t size_ = 0;
  // The arena: blocks of kBlockBytes (no copy of the whole arena as it grows), each on a huge
  // page (probing::HugePageAllocator).
  std::vector<Block> blocks_;
  size_t block_bytes_ = 0;  // capacity of the blocks
  size_t used_bytes_ = 0;   // record bytes written into them
  size_t garbage_ = 0;      // bytes of replaced or erased records
  std::string body_;        // scratch of EncodeRecord
  std::string record_;
};

// Lossless bytes of a row (every Value kind, nested ones included) and back.
void EncodeRow(const engine::Row& row, std::string& out);
engine::Row DecodeRow(std::string_view bytes);

}  // namespace freshet::lake
