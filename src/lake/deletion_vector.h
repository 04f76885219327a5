#pragma once

// Deletion vectors (PROTOCOL.md "Deletion Vectors" and "Deletion Vector Format"): the set of
// row indexes a DV marks deleted, loaded from its descriptor (storage types u, p and i) with
// size, checksum and cardinality verified, and written back in the same format.
//
// The bitmap is a 64-bit RoaringBitmapArray: a little-endian magic number 1681511377, the
// bucket count (8 bytes) and per bucket a 4-byte key and a portable 32-bit RoaringBitmap
// (CRoaring reads and writes those). In a DV file, the bitmap sits behind a big-endian 4-byte
// size at `offset`, and a big-endian CRC-32 of the bitmap follows it.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "lake/actions.h"
#include "lake/fs/file_system.h"

struct roaring_bitmap_s;

namespace freshet::lake {

constexpr uint32_t kDeletionVectorMagic = 1681511377;

// A set of row indexes in the shape of a deletion vector: one 32-bit roaring bitmap per high 32
// bits. Adding rows costs what is added and encoding costs the bitmap's containers (a dense
// file's vector is an 8 kB bitmap per 65,536 rows), where a sorted vector of every row costs
// passes over all of them: a writer keeps each file's deleted rows in one across its commits.
class RowSet {
 public:
  RowSet();
  ~RowSet();
  RowSet(RowSet&&) noexcept;
  RowSet& operator=(RowSet&&) noexcept;

  static RowSet Of(const std::vector<uint64_t>& rows);  // any order, duplicates allowed
  // Adds `rows` (sorted); returns how many were not in the set yet.
  uint64_t Add(const std::vector<uint64_t>& rows);
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The largest row; REQUIRES: !empty().
  uint64_t Max() const;
  std::vector<uint64_t> ToVector() const;
  // The serialised RoaringBitmapArray (magic included). Converts containers to runs where
  // that is smaller, as writers do, so it is not const.
  std::string Serialize();

 private:
  struct Deleter {
    void operator()(roaring_bitmap_s* bitmap) const noexcept;
  };
  std::vector<std::pair<uint32_t, std::unique_ptr<roaring_bitmap_s, Deleter>>> buckets_;
  uint64_t size_ = 0;
};

// Z85 (ZeroMQ RFC 32). Decode fails on a length that is not a multiple of 5 or a character
// outside the alphabet; Encode requires a length that is a multiple of 4.
Result<std::string> Z85Decode(std::string_view text);
std::string Z85Encode(std::string_view bytes);

// Canonical UUID text ("d2c639aa-8816-431a-aaf6-d3fe2512ff61") of 16 bytes.
std::string UuidText(const std::array<uint8_t, 16>& bytes);

// The DV file path of a `u` or `p` descriptor, for a table at `table_path`.
Result<std::string> DeletionVectorPath(const std::string& table_path,
                                       const DeletionVectorDescriptor& dv);

// Parses a serialised RoaringBitmapArray (magic included) into sorted row indexes. Corruption
// when it holds more than `max_rows` rows (checked before any row is materialised).
Result<std::vector<uint64_t>> ParseRoaringBitmapArray(std::string_view data,
                                                      uint64_t max_rows = uint64_t{1} << 32);
// Serialises sorted, distinct row indexes (each below 2^63) as a RoaringBitmapArray.
std::string SerializeRoaringBitmapArray(const std::vector<uint64_t>& rows);

// Loads the deleted row indexes of `dv`, sorted. Corruption, naming the DV file, on a size,
// checksum or cardinality mismatch; NotFound when the DV file is missing.
Result<std::vector<uint64_t>> LoadDeletionVector(FileSystem& fs, const std::string& table_path,
                                                 const DeletionVectorDescriptor& dv);

// The bytes of a DV file holding bitmaps one after another (version byte, then per bitmap its
// size, the bitmap and its CRC-32), and the descriptor fields of each: its offset (of the size
// field) and the bitmap's size. One file serves every deletion vector of a commit.
struct EncodedDeletionVectors {
  std::string file_bytes;
  std::vector<int32_t> offsets;
  std::vector<int32_t> sizes_in_bytes;
};
EncodedDeletionVectors EncodeDeletionVectorsFile(const std::vector<RowSet*>& bitmaps);
EncodedDeletionVectors EncodeDeletionVectorsFile(const std::vector<std::vector<uint64_t>>& bitmaps);

}  // namespace freshet::lake
