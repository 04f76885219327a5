#include "lake/deletion_vector.h"

#include <zlib.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <roaring/roaring.h>

#include "lake/paths.h"

namespace freshet::lake {
namespace {

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

struct RoaringDeleter {
  void operator()(roaring_bitmap_t* bitmap) const noexcept { roaring_bitmap_free(bitmap); }
};
using RoaringOwner = std::unique_ptr<roaring_bitmap_t, RoaringDeleter>;

uint32_t LoadLe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}
uint64_t LoadLe64(const char* p) { return uint64_t{LoadLe32(p)} | uint64_t{LoadLe32(p + 4)} << 32; }
uint32_t LoadBe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} << 24 | uint32_t{u[1]} << 16 | uint32_t{u[2]} << 8 | uint32_t{u[3]};
}
void AppendLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void AppendLe64(std::string& out, uint64_t v) {
  AppendLe32(out, static_cast<uint32_t>(v));
  AppendLe32(out, static_cast<uint32_t>(v >> 32));
}
void AppendBe32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; DV bitmaps are far below 4 GiB, but loop to be safe.
  while (!data.empty()) {
    auto chunk = static_cast<uInt>(std::min<size_t>(data.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), chunk);
    data.remove_prefix(chunk);
  }
  return static_cast<uint32_t>(crc);
}

Status CheckCardinality(const std::vector<uint64_t>& rows, const DeletionVectorDescriptor& dv,
                        const std::string& where) {
  if (static_cast<int64_t>(rows.size()) != dv.cardinality) {
    return Status::Corruption(
        "deletion vector in {} holds {} rows but its descriptor says "
        "cardinality {}",
        where, rows.size(), dv.cardinality);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> Z85Decode(std::string_view text) {
  if (text.size() % 5 != 0) {
    return Status::Corruption("Z85 text of length {} is not a multiple of 5", text.size());
  }
  std::string out;
  out.reserve(text.size() / 5 * 4);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t value = 0;
    for (size_t j = 0; j < 5; ++j) {
      size_t digit = kZ85Alphabet.find(text[i + j]);
      if (digit == std::string_view::npos) {
        return Status::Corruption("'{}' is not a Z85 character", text[i + j]);
      }
      value = value * 85 + digit;
    }
    if (value > 0xffffffffULL) return Status::Corruption("Z85 group out of range");
    AppendBe32(out, static_cast<uint32_t>(value));
  }
  return out;
}

std::string Z85Encode(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    uint32_t value = LoadBe32(bytes.data() + i);
    char group[5];
    for (int j = 4; j >= 0; --j) {
      group[j] = kZ85Alphabet[value % 85];
      value /= 85;
    }
    out.append(group, 5);
  }
  return out;
}

std::string UuidText(const std::array<uint8_t, 16>& b) {
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}"
      "{:02x}{:02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
      b[15]);
}

Result<std::string> DeletionVectorPath(const std::string& table_path,
                                       const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "p") return PathFromUri(dv.path_or_inline_dv);
  if (dv.storage_type != "u") {
    return Status::InvalidArgument("an inline deletion vector has no file");
  }
  const std::string& encoded = dv.path_or_inline_dv;
  if (encoded.size() < 20) {
    return Status::Corruption(
        "deletion vector pathOrInlineDv '{}' is shorter than the 20 "
        "characters of a Z85 UUID",
        encoded);
  }
  std::string prefix = encoded.substr(0, encoded.size() - 20);
  FRESHET_ASSIGN_OR_RETURN(std::string raw, Z85Decode(encoded.substr(encoded.size() - 20)));
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(raw[i]);
  std::string name = "deletion_vector_" + UuidText(bytes) + ".bin";
  return prefix.empty() ? JoinPath(table_path, name) : JoinPath(JoinPath(table_path, prefix), name);
}

Result<std::vector<uint64_t>> ParseRoaringBitmapArray(std::string_view data, uint64_t max_rows) {
  if (data.size() < 12) return Status::Corruption("deletion vector bitmap is truncated");
  if (LoadLe32(data.data()) != kDeletionVectorMagic) {
    return Status::Corruption("deletion vector bitmap has magic number {}, expected {}",
                              LoadLe32(data.data()), kDeletionVectorMagic);
  }
  uint64_t buckets = LoadLe64(data.data() + 4);
  size_t pos = 12;
  std::vector<uint64_t> rows;
  int64_t last_key = -1;
  for (uint64_t bucket = 0; bucket < buckets; ++bucket) {
    if (data.size() - pos < 4) return Status::Corruption("deletion vector bitmap is truncated");
    uint32_t key = LoadLe32(data.data() + pos);
    pos += 4;
    if (static_cast<int64_t>(key) <= last_key || (key & 0x80000000u) != 0) {
      return Status::Corruption("deletion vector bucket keys are not ascending and below 2^31");
    }
    last_key = key;
    size_t size = roaring_bitmap_portable_deserialize_size(data.data() + pos, data.size() - pos);
    if (size == 0) return Status::Corruption("deletion vector bucket {} is malformed", bucket);
    RoaringOwner bitmap(
        roaring_bitmap_portable_deserialize_safe(data.data() + pos, data.size() - pos));
    if (!bitmap) return Status::Corruption("deletion vector bucket {} is malformed", bucket);
    pos += size;
    uint64_t count = roaring_bitmap_get_cardinality(bitmap.get());
    if (count > max_rows - rows.size()) {
      return Status::Corruption("deletion vector bitmap holds more than the {} rows expected",
                                max_rows);
    }
    size_t start = rows.size();
    rows.resize(start + count);
    std::vector<uint32_t> low(count);
    roaring_bitmap_to_uint32_array(bitmap.get(), low.data());
    for (uint64_t i = 0; i < count; ++i) rows[start + i] = uint64_t{key} << 32 | low[i];
  }
  if (pos != data.size()) {
    return Status::Corruption("deletion vector bitmap has {} bytes after its last bucket",
                              data.size() - pos);
  }
  return rows;
}

void RowSet::Deleter::operator()(roaring_bitmap_s* bitmap) const noexcept {
  roaring_bitmap_free(bitmap);
}
RowSet::RowSet() = default;
RowSet::~RowSet() = default;
RowSet::RowSet(RowSet&&) noexcept = default;
RowSet& RowSet::operator=(RowSet&&) noexcept = default;

RowSet RowSet::Of(const std::vector<uint64_t>& rows) {
  std::vector<uint64_t> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  RowSet set;
  set.Add(sorted);
  return set;
}

uint64_t RowSet::Add(const std::vector<uint64_t>& rows) {
  uint64_t before = size_;
  std::vector<uint32_t> low;
  for (size_t begin = 0; begin < rows.size();) {
    auto key = static_cast<uint32_t>(rows[begin] >> 32);
    size_t end = begin;
    low.clear();
    for (; end < rows.size() && static_cast<uint32_t>(rows[end] >> 32) == key; ++end) {
      low.push_back(static_cast<uint32_t>(rows[end]));
    }
    auto bucket = std::lower_bound(buckets_.begin(), buckets_.end(), key,
                                   [](const auto& entry, uint32_t k) { return entry.first < k; });
    if (bucket == buckets_.end() || bucket->first != key) {
      bucket = buckets_.emplace(bucket, key, roaring_bitmap_create());
    }
    roaring_bitmap_t* bitmap = bucket->second.get();
    uint64_t had = roaring_bitmap_get_cardinality(bitmap);
    roaring_bitmap_add_many(bitmap, low.size(), low.data());
    size_ += roaring_bitmap_get_cardinality(bitmap) - had;
    begin = end;
  }
  return size_ - before;
}

uint64_t RowSet::Max() const {
  const auto& [key, bitmap] = buckets_.back();
  return uint64_t{key} << 32 | roaring_bitmap_maximum(bitmap.get());
}

std::vector<uint64_t> RowSet::ToVector() const {
  std::vector<uint64_t> rows;
  rows.reserve(size_);
  std::vector<uint32_t> low;
  for (const auto& [key, bitmap] : buckets_) {
    low.resize(roaring_bitmap_get_cardinality(bitmap.get()));
    roaring_bitmap_to_uint32_array(bitmap.get(), low.data());
    for (uint32_t row : low) rows.push_back(uint64_t{key} << 32 | row);
  }
  return rows;
}

std::string RowSet::Serialize() {
  std::string out;
  AppendLe32(out, kDeletionVectorMagic);
  AppendLe64(out, buckets_.size());
  for (auto& [key, bitmap] : buckets_) {
    AppendLe32(out, key);
    roaring_bitmap_run_optimize(bitmap.get());
    size_t size = roaring_bitmap_portable_size_in_bytes(bitmap.get());
    size_t start = out.size();
    out.resize(start + size);
    roaring_bitmap_portable_serialize(bitmap.get(), out.data() + start);
  }
  return out;
}

std::string SerializeRoaringBitmapArray(const std::vector<uint64_t>& rows) {
  return RowSet::Of(rows).Serialize();
}

Result<std::vector<uint64_t>> LoadDeletionVector(FileSystem& fs, const std::string& table_path,
                                                 const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "i") {
    FRESHET_ASSIGN_OR_RETURN(std::string raw, Z85Decode(dv.path_or_inline_dv));
    if (dv.size_in_bytes < 0 || static_cast<size_t>(dv.size_in_bytes) > raw.size()) {
      return Status::Corruption("inline deletion vector is shorter than its sizeInBytes {}",
                                dv.size_in_bytes);
    }
    auto rows = ParseRoaringBitmapArray(std::string_view(raw).substr(0, dv.size_in_bytes),
                                        static_cast<uint64_t>(dv.cardinality));
    if (!rows.ok()) return rows.status().WithContext("inline deletion vector");
    FRESHET_RETURN_IF_ERROR(CheckCardinality(*rows, dv, "the log (inline)"));
    return rows;
  }
  FRESHET_ASSIGN_OR_RETURN(std::string path, DeletionVectorPath(table_path, dv));
  int64_t offset = dv.offset.value_or(1);
  // One read covers the size field, the bitmap and the checksum.
  auto bytes = fs.GetRange(path, offset, int64_t{dv.size_in_bytes} + 8);
  if (!bytes.ok()) return bytes.status().WithContext("reading deletion vector");
  uint32_t stored_size = LoadBe32(bytes->data());
  if (stored_size != static_cast<uint32_t>(dv.size_in_bytes)) {
    return Status::Corruption(
        "deletion vector in {} at offset {}: stored size {} differs from "
        "the descriptor's sizeInBytes {}",
        path, offset, stored_size, dv.size_in_bytes);
  }
  std::string_view bitmap = std::string_view(*bytes).substr(4, stored_size);
  uint32_t stored_crc = LoadBe32(bytes->data() + 4 + stored_size);
  uint32_t crc = Crc32(bitmap);
  if (crc != stored_crc) {
    return Status::Corruption(
        "deletion vector in {} at offset {}: checksum mismatch (stored "
        "{:08x}, computed {:08x})",
        path, offset, stored_crc, crc);
  }
  auto rows = ParseRoaringBitmapArray(bitmap, static_cast<uint64_t>(dv.cardinality));
  if (!rows.ok()) return rows.status().WithContext(path);
  FRESHET_RETURN_IF_ERROR(CheckCardinality(*rows, dv, path));
  return rows;
}

EncodedDeletionVectors EncodeDeletionVectorsFile(const std::vector<RowSet*>& bitmaps) {
  EncodedDeletionVectors out;
  out.file_bytes.push_back(1);  // format version
  for (RowSet* rows : bitmaps) {
    std::string bitmap = rows->Serialize();
    out.offsets.push_back(static_cast<int32_t>(out.file_bytes.size()));
    out.sizes_in_bytes.push_back(static_cast<int32_t>(bitmap.size()));
    AppendBe32(out.file_bytes, static_cast<uint32_t>(bitmap.size()));
    out.file_bytes += bitmap;
    AppendBe32(out.file_bytes, Crc32(bitmap));
  }
  return out;
}

EncodedDeletionVectors EncodeDeletionVectorsFile(
    const std::vector<std::vector<uint64_t>>& bitmaps) {
  std::vector<RowSet> sets;
  std::vector<RowSet*> pointers;
  sets.reserve(bitmaps.size());
  for (const auto& rows : bitmaps) pointers.push_back(&sets.emplace_back(RowSet::Of(rows)));
  return EncodeDeletionVectorsFile(pointers);
}

}  // namespace freshet::lake
