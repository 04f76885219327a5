#pragma once

// KeyIndex: a table's key (one or more columns, any type) to the location of its live row,
// (data file, row position in the file), for every live row. Upserts use it to find the row
// version an update or delete replaces.
//
// Keys are encoded to canonical bytes (EncodeKey), and the index keeps only a 64-bit hash of
// each, never the key itself: an entry is {hash, file id, row} in 16 bytes, in one open-
// addressing table (linear probing, load at most 0.8, growth by 1.5), so a live row costs
// 20-30 bytes at any size. Several entries may share a hash. Lookups are exact anyway: Find
// reads the stored key at every candidate location (KeyReader: from the data files, one query
// per file for a whole batch) and keeps only locations whose key equals the one asked for, so
// two different keys never merge, even when their hashes collide. The common key of one
// integer column (smallint, integer, bigint) needs no read: its hash is a bijection of the
// integer, so the hash is the key, and such entries are flagged as exact.
//
// A KeyIndex is built from a snapshot (BuildKeyIndex, reading only the key columns and
// file_row_number of each live file, skipping rows its deletion vector marks) and updated by
// the writer with Insert and Erase for every commit. Not thread-safe; one writer owns it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "engine/database.h"
#include "engine/value.h"
#include "lake/fs/file_system.h"
#include "lake/linear_probing.h"
#include "lake/snapshot.h"

namespace freshet::lake {

struct RowLocation {
  uint32_t file = 0;  // a file id of the index (KeyIndex::InternFile)
  uint32_t row = 0;   // row position inside the data file (file_row_number)
  friend bool operator==(const RowLocation&, const RowLocation&) = default;
};

// Canonical bytes of a key: equal keys (same kinds and values) give equal bytes and different
// keys different bytes. Each value is a kind tag and a fixed-size or length-prefixed payload;
// nested values recurse; NaN is normalised so that all NaNs are one key.
std::string EncodeKey(const std::vector<engine::Value>& values);
void AppendKeyValue(const engine::Value& value, std::string& out);

// The default 64-bit hash of encoded keys.
uint64_t HashKey(std::string_view encoded);
// A bijection of 64-bit integers that mixes every bit into every other: the hash of a key of
// one integer column (distinct integers never share a hash), also used to spread hashes.
inline uint64_t MixBits(uint64_t x) {
  // xor-shifts and odd multiplications: each step is invertible, so the whole is a bijection.
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

class KeyIndex {
 public:
  using HashFunction = uint64_t (*)(std::string_view);
  // Returns the encoded keys stored at `locations`, one per location, in the same order.
  using KeyReader =
      std::function<Result<std::vector<std::string>>(const std::vector<RowLocation>&)>;

  // `hash` is injectable so that tests can force collisions.
  explicit KeyIndex(HashFunction hash = HashKey);

  // The id of the data file `path` (as in add.path), assigned on first use.
  uint32_t InternFile(const std::string& path);
  std::optional<uint32_t> FileId(const std::string& path) const;
  const std::string& FilePath(uint32_t file) const { return files_[file]; }
  size_t file_count() const { return files_.size(); }

  // Records that a live row of `key` is at `location`. REQUIRES: no entry has this location.
  // A unique key's old location is erased first; full-row identities may repeat (duplicates).
  void Insert(std::string_view key, RowLocation location);
  // Removes the entry of `key` at `location`; false when there is none.
  bool Erase(std::string_view key, RowLocation location);
  // Moves the entry of `key` at `from` to `to` in place (the key's row was rewritten there);
  // false when there is none. REQUIRES: no entry has location `to`.
  bool Move(std::string_view key, RowLocation from, RowLocation to);
  // Removes every entry in `file` (the file left the table); returns how many.
  size_t EraseFile(uint32_t file);
  // Moves entries to new locations (rows rewritten by a compaction): `move` sees each entry's
  // location and may change it; keys and hashes stay. Returns how many entries moved.
  // REQUIRES: the new locations are distinct and hold the same keys.
  template <typename Move>
  size_t Relocate(Move&& move) {
    size_t moved = 0;
    for (Entry& entry : slots_) {
      if (IsEmpty(entry)) continue;
      RowLocation location{entry.file & ~kExactBit, entry.row};
      if (!move(location)) continue;
      entry.file = location.file | (entry.file & kExactBit);
      entry.row = location.row;
      ++moved;
    }
    return moved;
  }
  // Every entry as (hash, location), sorted: two indexes of one table hold the same entries
  // whatever their file ids when compared through FilePath.
  std::vector<std::pair<uint64_t, RowLocation>> Entries() const;

  // Brings the slot where `key`'s probe run starts toward the CPU: issued some lookups ahead,
  // it hides the cache miss each lookup in a large index otherwise waits on.
  void Prefetch(std::string_view key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(Hash(key))]);
  }

  // A key of one integer column with the default hash: its hash is a bijection of the integer,
  // so equal hashes of two such keys mean equal keys and no read is needed to confirm them.
  bool IsExact(std::string_view key) const;

  // Locations whose key has the same hash as `key`: the live row of `key`, if any, is among
  // them, and so may be rows of other keys.
  std::vector<RowLocation> Candidates(std::string_view key) const;
  // Exact lookup of `keys`: the location of each key's live row, or nullopt. Reads the stored
  // keys of all candidates with one call of `reader`.
  Result<std::vector<std::optional<RowLocation>>> Find(const std::vector<std::string>& keys,
                                                       const KeyReader& reader) const;

  // Every live location of each key (tables whose identity is the whole row keep duplicates).
  Result<std::vector<std::vector<RowLocation>>> FindAll(const std::vector<std::string>& keys,
                                                        const KeyReader& reader) const;

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  // Bytes held: the slot table and the file names.
  size_t MemoryBytes() const;

 private:
  // Calls on_match(key index, location) for each live location of each key: exact matches
  // in probe order while probing, then the candidates `reader` confirms, in probe order.
  template <typename OnMatch>
  Status Match(const std::vector<std::string>& keys, const KeyReader& reader,
               OnMatch&& on_match) const;

  struct Entry {
    uint64_t hash = 0;
    uint32_t file = kEmpty;
    uint32_t row = 0;
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static bool IsEmpty(const Entry& entry) { return entry.file == kEmpty; }
  // Set in Entry::file when the entry's key is a single integer (IsExact).
  static constexpr uint32_t kExactBit = 1u << 31;

  uint64_t Hash(std::string_view key) const;

  size_t Home(uint64_t hash) const;
  void Grow();
  void EraseSlot(size_t slot);

  HashFunction hash_;
  probing::SlotVector<Entry> slots_;
  size_t size_ = 0;
  std::vector<std::string> files_;
  std::unordered_map<std::string, uint32_t> file_ids_;
};

// Builds the index of `snapshot` on `key_columns` (logical names, not partition columns):
// reads each live file's key columns, cast to the table's types, and file_row_number.
Result<KeyIndex> BuildKeyIndex(FileSystem& fs, engine::Connection& connection,
                               const Snapshot& snapshot,
                               const std::vector<std::string>& key_columns,
                               KeyIndex::HashFunction hash = HashKey);

// Adds the live rows of the data file `add` (its deletion vector applied) to `index`.
Status IndexDataFile(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                     const AddFile& add, const std::vector<std::string>& key_columns,
                     KeyIndex& index);

// A KeyReader over the data files of `snapshot` (the files `index` names must be live there or
// written since; paths are resolved against the table root).
KeyIndex::KeyReader DataFileKeyReader(engine::Connection& connection, const Snapshot& snapshot,
                                      const KeyIndex& index,
                                      const std::vector<std::string>& key_columns);

}  // namespace freshet::lake
