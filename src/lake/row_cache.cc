#include "lake/row_cache.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "lake/key_index.h"
#include "lake/linear_probing.h"

namespace freshet::lake {
namespace {

using engine::Value;

void PutVarint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

uint64_t GetVarint(std::string_view bytes, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = static_cast<uint8_t>(bytes[pos++]);
    value |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) return value;
  }
}

void PutFixed(uint64_t value, std::string& out) {
  char bytes[8];
  std::memcpy(bytes, &value, 8);
  out.append(bytes, 8);
}

uint64_t GetFixed(std::string_view bytes, size_t& pos) {
  uint64_t value;
  std::memcpy(&value, bytes.data() + pos, 8);
  pos += 8;
  return value;
}

std::string GetBytes(std::string_view bytes, size_t& pos) {
  size_t size = GetVarint(bytes, pos);
  std::string out(bytes.substr(pos, size));
  pos += size;
  return out;
}

void EncodeValue(const Value& value, std::string& out) {
  out.push_back(static_cast<char>(value.kind));
  switch (value.kind) {
    case Value::Kind::kNull:
      return;
    case Value::Kind::kBool:
    case Value::Kind::kInt:
    case Value::Kind::kDate:
    case Value::Kind::kTime:
    case Value::Kind::kTimestamp:
    case Value::Kind::kTimestampTz: {
      // Zig-zag varint: small integers and dates take one to three bytes.
      int64_t integer = value.integer();
      PutVarint((static_cast<uint64_t>(integer) << 1) ^ static_cast<uint64_t>(integer >> 63), out);
      return;
    }
    case Value::Kind::kUInt:
      PutVarint(value.unsigned_integer(), out);
      return;
    case Value::Kind::kDouble: {
      uint64_t bits;
      double real = value.real();
      std::memcpy(&bits, &real, 8);
      PutFixed(bits, out);
      return;
    }
    case Value::Kind::kString:
    case Value::Kind::kBlob:
      PutVarint(value.string().size(), out);
      out.append(value.string());
      return;
    case Value::Kind::kDecimal:
    case Value::Kind::kHugeInt: {
      const engine::Decimal& decimal = value.decimal();
      auto unscaled = static_cast<engine::UInt128>(decimal.unscaled);
      PutFixed(static_cast<uint64_t>(unscaled), out);
      PutFixed(static_cast<uint64_t>(unscaled >> 64), out);
      out.push_back(static_cast<char>(decimal.width));
      out.push_back(static_cast<char>(decimal.scale));
      return;
    }
    case Value::Kind::kList:
      PutVarint(value.list().size(), out);
      for (const Value& element : value.list()) EncodeValue(element, out);
      return;
    case Value::Kind::kStruct:
    case Value::Kind::kMap:
      PutVarint(value.fields().size(), out);
      for (const auto& [name, field] : value.fields()) {
        PutVarint(name.size(), out);
        out.append(name);
        EncodeValue(field, out);
      }
      return;
  }
}

Value DecodeValue(std::string_view bytes, size_t& pos) {
  Value value;
  value.kind = static_cast<Value::Kind>(bytes[pos++]);
  switch (value.kind) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kBool:
    case Value::Kind::kInt:
    case Value::Kind::kDate:
    case Value::Kind::kTime:
    case Value::Kind::kTimestamp:
    case Value::Kind::kTimestampTz: {
      uint64_t zigzag = GetVarint(bytes, pos);
      value.data = static_cast<int64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
      break;
    }
    case Value::Kind::kUInt:
      value.data = GetVarint(bytes, pos);
      break;
    case Value::Kind::kDouble: {
      uint64_t bits = GetFixed(bytes, pos);
      double real;
      std::memcpy(&real, &bits, 8);
      value.data = real;
      break;
    }
    case Value::Kind::kString:
    case Value::Kind::kBlob:
      value.data = GetBytes(bytes, pos);
      break;
    case Value::Kind::kDecimal:
    case Value::Kind::kHugeInt: {
      engine::UInt128 low = GetFixed(bytes, pos);
      engine::UInt128 high = GetFixed(bytes, pos);
      engine::Decimal decimal;
      decimal.unscaled = static_cast<engine::Int128>(low | (high << 64));
      decimal.width = static_cast<uint8_t>(bytes[pos++]);
      decimal.scale = static_cast<uint8_t>(bytes[pos++]);
      value.data = decimal;
      break;
    }
    case Value::Kind::kList: {
      engine::ValueList list(GetVarint(bytes, pos));
      for (Value& element : list) element = DecodeValue(bytes, pos);
      value.data = std::move(list);
      break;
    }
    case Value::Kind::kStruct:
    case Value::Kind::kMap: {
      engine::ValueFields fields(GetVarint(bytes, pos));
      for (auto& [name, field] : fields) {
        name = GetBytes(bytes, pos);
        field = DecodeValue(bytes, pos);
      }
      value.data = std::move(fields);
      break;
    }
  }
  return value;
}

}  // namespace

void EncodeRow(const engine::Row& row, std::string& out) {
  PutVarint(row.size(), out);
  for (const Value& value : row) EncodeValue(value, out);
}

engine::Row DecodeRow(std::string_view bytes) {
  size_t pos = 0;
  engine::Row row(GetVarint(bytes, pos));
  for (Value& value : row) value = DecodeValue(bytes, pos);
  return row;
}

// A record in a block: varint size of the rest, varint key size, key bytes, encoded row.

RowCache::RowCache(RowCache&& other) noexcept
    : budget_bytes_(other.budget_bytes_),
      shared_(std::move(other.shared_)),
      charged_(std::exchange(other.charged_, 0)),
      slots_(std::move(other.slots_)),
      size_(std::exchange(other.size_, 0)),
      blocks_(std::move(other.blocks_)),
      block_bytes_(std::exchange(other.block_bytes_, 0)),
      used_bytes_(std::exchange(other.used_bytes_, 0)),
      garbage_(std::exchange(other.garbage_, 0)) {}

RowCache& RowCache::operator=(RowCache&& other) noexcept {
  if (this != &other) {
    Clear();
    budget_bytes_ = other.budget_bytes_;
    shared_ = std::move(other.shared_);
    charged_ = std::exchange(other.charged_, 0);
    slots_ = std::move(other.slots_);
    size_ = std::exchange(other.size_, 0);
    blocks_ = std::move(other.blocks_);
    block_bytes_ = std::exchange(other.block_bytes_, 0);
    used_bytes_ = std::exchange(other.used_bytes_, 0);
    garbage_ = std::exchange(other.garbage_, 0);
  }
  return *this;
}

RowCache::~RowCache() { Clear(); }

bool RowCache::HasRoom(size_t record_bytes) const {
  bool fits = !blocks_.empty() && blocks_.back().size() + record_bytes <= blocks_.back().capacity();
  size_t growth = fits ? 0 : NextBlockBytes(record_bytes);
  if (MemoryBytes() + growth > budget_bytes_) return false;
  return shared_ == nullptr || shared_->left.load(std::memory_order_relaxed) > 0;
}

void RowCache::Charge() {
  if (shared_ == nullptr) return;
  auto held = static_cast<int64_t>(MemoryBytes());
  shared_->left.fetch_sub(held - charged_, std::memory_order_relaxed);
  charged_ = held;
}

size_t RowCache::Home(uint64_t hash) const {
  return static_cast<size_t>((static_cast<engine::UInt128>(hash) * slots_.size()) >> 64);
}

std::string_view RowCache::Record(uint64_t offset) const {
  const Block& block = blocks_[offset >> 32];
  auto pos = static_cast<size_t>(offset & 0xffffffffu);
  std::string_view view(block.data(), block.size());
  size_t start = pos;
  size_t size = GetVarint(view, pos);
  return view.substr(start, pos - start + size);
}

std::string_view RowCache::RecordKey(uint64_t offset) const {
  std::string_view record = Record(offset);
  size_t pos = 0;
  GetVarint(record, pos);
  size_t key_size = GetVarint(record, pos);
  return record.substr(pos, key_size);
}

std::optional<size_t> RowCache::FindSlot(std::string_view key, uint64_t hash) const {
  if (slots_.empty()) return std::nullopt;
  bool exact = IsExactKey(key);
  for (size_t slot = Home(hash); slots_[slot].offset != kEmpty;
       slot = slot + 1 == slots_.size() ? 0 : slot + 1) {
    const Slot& entry = slots_[slot];
    if (entry.hash != hash) continue;
    // Two integer keys with one hash are one key; any other pairing is checked.
    if (exact && (entry.offset & kExactBit) != 0) return slot;
    if (RecordKey(OffsetOf(entry)) == key) return slot;
  }
  return std::nullopt;
}

bool RowCache::IsExactKey(std::string_view key) {
  return key.size() == 9 && key[0] == static_cast<char>(Value::Kind::kInt);
}

uint64_t RowCache::Hash(std::string_view key) {
  if (!IsExactKey(key)) return HashKey(key);
  uint64_t x = 0;
  std::memcpy(&x, key.data() + 1, 8);
  return MixBits(x);  // as KeyIndex hashes it
}

size_t RowCache::ReplacedBytes(const Slot& slot, size_t estimate) const {
  // An integer key's slot is matched without its record: rather than read it (a cache miss)
  // to learn its size, count a like-sized record. garbage_ only decides when to compact, and
  // compaction counts the live bytes afresh.
  if ((slot.offset & kExactBit) != 0) return estimate;
  return Record(OffsetOf(slot)).size();
}

bool RowCache::Contains(std::string_view key) const { return FindSlot(key, Hash(key)).has_value(); }

std::optional<engine::Row> RowCache::Get(std::string_view key) const {
  auto slot = FindSlot(key, Hash(key));
  if (!slot) return std::nullopt;
  std::string_view record = Record(OffsetOf(slots_[*slot]));
  size_t pos = 0;
  GetVarint(record, pos);
  size_t key_size = GetVarint(record, pos);
  return DecodeRow(record.substr(pos + key_size));
}

size_t RowCache::NextBlockBytes(size_t record_bytes) const {
  size_t doublings = std::min<size_t>(blocks_.size(), 3);
  return std::max(record_bytes, std::min(kBlockBytes, kFirstBlockBytes << doublings));
}

uint64_t RowCache::Append(std::string_view record) {
  // Records never span blocks; a block holds at least one record, so one larger than a block
  // gets a block of its own.
  if (blocks_.empty() || blocks_.back().size() + record.size() > blocks_.back().capacity()) {
    blocks_.emplace_back();
    blocks_.back().reserve(NextBlockBytes(record.size()));
    block_bytes_ += blocks_.back().capacity();
  }
  Block& block = blocks_.back();
  uint64_t offset = (uint64_t{blocks_.size() - 1} << 32) | block.size();
  block.insert(block.end(), record.begin(), record.end());
  used_bytes_ += record.size();
  return offset;
}

void RowCache::EncodeRecord(std::string_view key, const engine::Row& row) {
  body_.clear();
  PutVarint(key.size(), body_);
  body_.append(key);
  EncodeRow(row, body_);
  record_.clear();
  PutVarint(body_.size(), record_);
  record_ += body_;
}

void RowCache::Prefetch(std::string_view key) const {
  if (slots_.empty()) return;
  __builtin_prefetch(&slots_[Home(Hash(key))]);
}

void RowCache::PrefetchRecord(std::string_view key) const {
  if (slots_.empty()) return;
  uint64_t hash = Hash(key);
  for (size_t slot = Home(hash); slots_[slot].offset != kEmpty;
       slot = slot + 1 == slots_.size() ? 0 : slot + 1) {
    if (slots_[slot].hash != hash) continue;
    uint64_t offset = OffsetOf(slots_[slot]);
    __builtin_prefetch(blocks_[offset >> 32].data() + (offset & 0xffffffffu));
    return;
  }
}

bool RowCache::Put(std::string_view key, const engine::Row& row) {
  uint64_t hash = Hash(key);
  uint64_t exact = IsExactKey(key) ? kExactBit : 0;
  EncodeRecord(key, row);
  const std::string& record = record_;
  if (auto slot = FindSlot(key, hash)) {
    garbage_ += ReplacedBytes(slots_[*slot], record.size());
    slots_[*slot].offset = Append(record) | exact;
  } else {
    if (!HasRoom(record.size())) return false;
    if (slots_.empty() || (size_ + 1) * 5 > slots_.size() * 4) Grow();
    slots_[probing::FreeSlotFrom(slots_, Home(hash), IsEmpty)] = Slot{hash, Append(record) | exact};
    ++size_;
  }
  if (garbage_ > used_bytes_ / 3 && garbage_ > kBlockBytes) CompactArena();
  Charge();
  return true;
}

void RowCache::Erase(std::string_view key) {
  auto slot = FindSlot(key, Hash(key));
  if (!slot) return;
  garbage_ += ReplacedBytes(slots_[*slot], size_ == 0 ? 0 : used_bytes_ / size_);
  EraseSlot(*slot);
  Charge();
}

void RowCache::Clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  blocks_.clear();
  blocks_.shrink_to_fit();
  block_bytes_ = 0;
  used_bytes_ = 0;
  size_ = 0;
  garbage_ = 0;
  Charge();
}

void RowCache::Grow() {
  probing::Rehash(slots_, std::max<size_t>(16, slots_.size() + slots_.size() / 2), IsEmpty,
                  [this](uint64_t hash) { return Home(hash); });
}

void RowCache::EraseSlot(size_t slot) {
  probing::EraseSlot(slots_, slot, IsEmpty, [this](uint64_t hash) { return Home(hash); });
  --size_;
}

void RowCache::CompactArena() {
  std::vector<Block> old = std::move(blocks_);
  blocks_.clear();
  block_bytes_ = 0;
  used_bytes_ = 0;
  garbage_ = 0;
  // Slot order visits the records at random: each is prefetched some slots ahead, so the
  // copy is not one cache miss after another (it took 150 ms per 100 MB arena).
  constexpr size_t kAhead = 16;
  for (size_t slot_idx = 0; slot_idx < slots_.size(); ++slot_idx) {
    if (slot_idx + kAhead < slots_.size() && slots_[slot_idx + kAhead].offset != kEmpty) {
      uint64_t ahead = OffsetOf(slots_[slot_idx + kAhead]);
      __builtin_prefetch(old[ahead >> 32].data() + (ahead & 0xffffffffu));
    }
    Slot& slot = slots_[slot_idx];
    if (slot.offset == kEmpty) continue;
    uint64_t exact = slot.offset & kExactBit;
    uint64_t offset = OffsetOf(slot);
    const Block& block = old[offset >> 32];
    std::string_view view(block.data(), block.size());
    auto pos = static_cast<size_t>(offset & 0xffffffffu);
    size_t start = pos;
    size_t size = GetVarint(view, pos);
    slot.offset = Append(view.substr(start, pos - start + size)) | exact;
  }
}

}  // namespace freshet::lake
