#include "lake/key_index.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "lake/deletion_vector.h"
#include "lake/linear_probing.h"
#include "lake/paths.h"

namespace freshet::lake {
namespace {

using engine::Value;

void AppendFixed(uint64_t value, std::string& out) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out.append(bytes, 8);
}

void AppendBytes(std::string_view bytes, std::string& out) {
  AppendFixed(bytes.size(), out);
  out.append(bytes);
}

// The key columns of `snapshot` as SQL expressions over a data file, cast to the table types.
Result<std::string> KeyColumnsSql(const Snapshot& snapshot,
                                  const std::vector<std::string>& key_columns) {
  if (key_columns.empty()) return Status::InvalidArgument("a key needs at least one column");
  const auto& partitions = snapshot.metadata().partition_columns;
  std::string sql;
  for (const std::string& name : key_columns) {
    auto field = std::find_if(snapshot.schema().fields.begin(), snapshot.schema().fields.end(),
                              [&](const StructField& f) { return f.name == name; });
    if (field == snapshot.schema().fields.end()) {
      return Status::NotFound("key column {} is not in the schema of {}", name,
                              snapshot.table_path());
    }
    if (std::find(partitions.begin(), partitions.end(), name) != partitions.end()) {
      return Status::NotSupported("key column {} of {} is a partition column", name,
                                  snapshot.table_path());
    }
    sql += fmt::format("{}CAST({} AS {})", sql.empty() ? "" : ", ",
                       QuoteIdentifier(field->PhysicalName(snapshot.column_mapping_mode())),
                       field->type.DuckDbType());
  }
  return sql;
}

}  // namespace

void AppendKeyValue(const Value& value, std::string& out) {
  out.push_back(static_cast<char>(value.kind));
  switch (value.kind) {
    case Value::Kind::kNull:
      return;
    case Value::Kind::kBool:
    case Value::Kind::kInt:
    case Value::Kind::kDate:
    case Value::Kind::kTime:
    case Value::Kind::kTimestamp:
    case Value::Kind::kTimestampTz:
      AppendFixed(static_cast<uint64_t>(value.integer()), out);
      return;
    case Value::Kind::kUInt:
      AppendFixed(value.unsigned_integer(), out);
      return;
    case Value::Kind::kDouble: {
      double real = value.real();
      if (std::isnan(real)) real = std::numeric_limits<double>::quiet_NaN();
      if (real == 0) real = 0;  // -0.0 and 0.0 are one key, as in SQL equality
      AppendFixed(std::bit_cast<uint64_t>(real), out);
      return;
    }
    case Value::Kind::kString:
    case Value::Kind::kBlob:
      AppendBytes(value.string(), out);
      return;
    case Value::Kind::kDecimal:
    case Value::Kind::kHugeInt: {
      const auto& decimal = value.decimal();
      auto unscaled = static_cast<engine::UInt128>(decimal.unscaled);
      AppendFixed(static_cast<uint64_t>(unscaled), out);
      AppendFixed(static_cast<uint64_t>(unscaled >> 64), out);
      out.push_back(static_cast<char>(decimal.scale));
      return;
    }
    case Value::Kind::kList:
      AppendFixed(value.list().size(), out);
      for (const Value& element : value.list()) AppendKeyValue(element, out);
      return;
    case Value::Kind::kStruct:
    case Value::Kind::kMap:
      AppendFixed(value.fields().size(), out);
      for (const auto& [name, field] : value.fields()) {
        AppendBytes(name, out);
        AppendKeyValue(field, out);
      }
      return;
  }
}

std::string EncodeKey(const std::vector<Value>& values) {
  std::string out;
  for (const Value& value : values) AppendKeyValue(value, out);
  return out;
}

uint64_t HashKey(std::string_view encoded) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (encoded.size() * 0xff51afd7ed558ccdULL);
  size_t pos = 0;
  for (; pos + 8 <= encoded.size(); pos += 8) {
    uint64_t word;
    std::memcpy(&word, encoded.data() + pos, 8);
    h = MixBits(h ^ word) + 0x632be59bd9b4e019ULL;
  }
  uint64_t tail = 0;
  if (pos < encoded.size()) std::memcpy(&tail, encoded.data() + pos, encoded.size() - pos);
  return MixBits(h ^ tail ^ (uint64_t{encoded.size() - pos} << 56));
}

KeyIndex::KeyIndex(HashFunction hash) : hash_(hash), slots_(16) {}

uint32_t KeyIndex::InternFile(const std::string& path) {
  auto [it, inserted] = file_ids_.emplace(path, static_cast<uint32_t>(files_.size()));
  if (inserted) files_.push_back(path);
  return it->second;
}

std::optional<uint32_t> KeyIndex::FileId(const std::string& path) const {
  auto it = file_ids_.find(path);
  if (it == file_ids_.end()) return std::nullopt;
  return it->second;
}

size_t KeyIndex::Home(uint64_t hash) const {
  // Multiply-shift range reduction: any capacity, not only powers of two.
  return static_cast<size_t>((static_cast<engine::UInt128>(MixBits(hash)) * slots_.size()) >> 64);
}

void KeyIndex::Grow() {
  probing::Rehash(slots_, slots_.size() + slots_.size() / 2, IsEmpty,
                  [this](uint64_t hash) { return Home(hash); });
}

bool KeyIndex::IsExact(std::string_view key) const {
  return hash_ == &HashKey && key.size() == 9 && key[0] == static_cast<char>(Value::Kind::kInt);
}

uint64_t KeyIndex::Hash(std::string_view key) const {
  if (!IsExact(key)) return hash_(key);
  uint64_t payload = 0;
  for (int i = 0; i < 8; ++i) payload |= uint64_t{static_cast<uint8_t>(key[1 + i])} << (8 * i);
  return MixBits(payload);  // a bijection: distinct integers never share a hash
}

void KeyIndex::Insert(std::string_view key, RowLocation location) {
  if ((size_ + 1) * 5 > slots_.size() * 4) Grow();
  uint64_t hash = Hash(key);
  size_t slot = probing::FreeSlotFrom(slots_, Home(hash), IsEmpty);
  slots_[slot] = Entry{hash, location.file | (IsExact(key) ? kExactBit : 0), location.row};
  ++size_;
}

void KeyIndex::EraseSlot(size_t slot) {
  probing::EraseSlot(slots_, slot, IsEmpty, [this](uint64_t hash) { return Home(hash); });
  --size_;
}

bool KeyIndex::Erase(std::string_view key, RowLocation location) {
  uint64_t hash = Hash(key);
  for (size_t slot = Home(hash); slots_[slot].file != kEmpty;
       slot = slot + 1 == slots_.size() ? 0 : slot + 1) {
    const Entry& entry = slots_[slot];
    if (entry.hash == hash && (entry.file & ~kExactBit) == location.file &&
        entry.row == location.row) {
      EraseSlot(slot);
      return true;
    }
  }
  return false;
}

bool KeyIndex::Move(std::string_view key, RowLocation from, RowLocation to) {
  uint64_t hash = Hash(key);
  for (size_t slot = Home(hash); slots_[slot].file != kEmpty;
       slot = slot + 1 == slots_.size() ? 0 : slot + 1) {
    Entry& entry = slots_[slot];
    if (entry.hash == hash && (entry.file & ~kExactBit) == from.file && entry.row == from.row) {
      entry.file = to.file | (entry.file & kExactBit);
      entry.row = to.row;
      return true;
    }
  }
  return false;
}

size_t KeyIndex::EraseFile(uint32_t file) {
  size_t erased = 0;
  for (size_t slot = 0; slot < slots_.size();) {
    if (slots_[slot].file != kEmpty && (slots_[slot].file & ~kExactBit) == file) {
      EraseSlot(slot);  // may shift another entry of this file into `slot`: look again
      ++erased;
    } else {
      ++slot;
    }
  }
  return erased;
}

std::vector<std::pair<uint64_t, RowLocation>> KeyIndex::Entries() const {
  std::vector<std::pair<uint64_t, RowLocation>> out;
  out.reserve(size_);
  for (const Entry& entry : slots_) {
    if (!IsEmpty(entry)) out.push_back({entry.hash, {entry.file & ~kExactBit, entry.row}});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.file, a.second.row) <
           std::tie(b.first, b.second.file, b.second.row);
  });
  return out;
}

std::vector<RowLocation> KeyIndex::Candidates(std::string_view key) const {
  std::vector<RowLocation> out;
  uint64_t hash = Hash(key);
  for (size_t slot = Home(hash); slots_[slot].file != kEmpty;
       slot = slot + 1 == slots_.size() ? 0 : slot + 1) {
    if (slots_[slot].hash == hash)
      out.push_back({slots_[slot].file & ~kExactBit, slots_[slot].row});
  }
  return out;
}

template <typename OnMatch>
Status KeyIndex::Match(const std::vector<std::string>& keys, const KeyReader& reader,
                       OnMatch&& on_match) const {
  // Candidates that need their stored key read: (key index, location).
  std::vector<std::pair<size_t, RowLocation>> unconfirmed;
  constexpr size_t kAhead = 16;  // lookups between a slot's prefetch and its probe
  for (size_t key_idx = 0; key_idx < keys.size(); ++key_idx) {
    if (key_idx + kAhead < keys.size()) Prefetch(keys[key_idx + kAhead]);
    const std::string& key = keys[key_idx];
    bool exact = IsExact(key);
    uint64_t hash = Hash(key);
    for (size_t slot = Home(hash); slots_[slot].file != kEmpty;
         slot = slot + 1 == slots_.size() ? 0 : slot + 1) {
      const Entry& entry = slots_[slot];
      if (entry.hash != hash) continue;
      RowLocation location{entry.file & ~kExactBit, entry.row};
      // Two integer keys with one hash are one key; any other pairing is checked.
      if (exact && (entry.file & kExactBit) != 0) {
        on_match(key_idx, location);
      } else {
        unconfirmed.emplace_back(key_idx, location);
      }
    }
  }
  if (unconfirmed.empty()) return Status::Ok();
  std::vector<RowLocation> wanted;
  wanted.reserve(unconfirmed.size());
  for (const auto& [key_idx, location] : unconfirmed) wanted.push_back(location);
  FRESHET_ASSIGN_OR_RETURN(std::vector<std::string> stored, reader(wanted));
  if (stored.size() != wanted.size()) {
    return Status::Internal("key reader returned {} keys for {} locations", stored.size(),
                            wanted.size());
  }
  for (size_t pos = 0; pos < unconfirmed.size(); ++pos) {
    const auto& [key_idx, location] = unconfirmed[pos];
    if (stored[pos] == keys[key_idx]) on_match(key_idx, location);
  }
  return Status::Ok();
}

Result<std::vector<std::vector<RowLocation>>> KeyIndex::FindAll(
    const std::vector<std::string>& keys, const KeyReader& reader) const {
  std::vector<std::vector<RowLocation>> out(keys.size());
  FRESHET_RETURN_IF_ERROR(Match(keys, reader, [&](size_t key_idx, RowLocation location) {
    out[key_idx].push_back(location);
  }));
  return out;
}

Result<std::vector<std::optional<RowLocation>>> KeyIndex::Find(const std::vector<std::string>& keys,
                                                               const KeyReader& reader) const {
  // As FindAll(...).front() per key, without a vector per key: the first exact match in probe
  // order, else the first candidate whose stored key is confirmed equal.
  std::vector<std::optional<RowLocation>> out(keys.size());
  FRESHET_RETURN_IF_ERROR(Match(keys, reader, [&](size_t key_idx, RowLocation location) {
    if (!out[key_idx]) out[key_idx] = location;
  }));
  return out;
}

size_t KeyIndex::MemoryBytes() const {
  size_t bytes = slots_.capacity() * sizeof(Entry);
  for (const std::string& file : files_) bytes += sizeof(std::string) + file.capacity() * 2 + 48;
  return bytes;
}

Status IndexDataFile(FileSystem& fs, engine::Connection& connection, const Snapshot& snapshot,
                     const AddFile& add, const std::vector<std::string>& key_columns,
                     KeyIndex& index) {
  FRESHET_ASSIGN_OR_RETURN(std::string columns, KeyColumnsSql(snapshot, key_columns));
  FRESHET_ASSIGN_OR_RETURN(std::string path, ResolveDataPath(snapshot.table_path(), add.path));
  std::vector<uint64_t> deleted;
  if (add.deletion_vector) {
    auto rows = LoadDeletionVector(fs, snapshot.table_path(), *add.deletion_vector);
    if (!rows.ok()) return rows.status().WithContext("deletion vector of " + path);
    deleted = std::move(rows).value();
  }
  // Streamed chunk by chunk: a whole file's keys as rows of values would take far more memory
  // than the index entries they become.
  auto statement = connection.Prepare(
      fmt::format("SELECT file_row_number, {} FROM read_parquet({}, file_row_number = true)",
                  columns, QuoteLiteral(path)));
  if (!statement.ok()) return statement.status().WithContext("key columns of " + path);
  auto stream = statement->Execute();
  if (!stream.ok()) return stream.status().WithContext("key columns of " + path);
  uint32_t file = index.InternFile(add.path);
  std::string key;
  std::vector<engine::Row> rows;
  while (true) {
    rows.clear();
    auto more = stream->Next(&rows);
    if (!more.ok()) return more.status().WithContext("key columns of " + path);
    if (!*more) break;
    for (const engine::Row& row : rows) {
      auto position = static_cast<uint64_t>(row[0].integer());
      if (position > UINT32_MAX - 1) {
        return Status::NotSupported("{} has more than 2^32 rows", path);
      }
      if (std::binary_search(deleted.begin(), deleted.end(), position)) continue;
      key.clear();
      for (size_t column = 1; column < row.size(); ++column) AppendKeyValue(row[column], key);
      index.Insert(key, RowLocation{file, static_cast<uint32_t>(position)});
    }
  }
  return Status::Ok();
}

Result<KeyIndex> BuildKeyIndex(FileSystem& fs, engine::Connection& connection,
                               const Snapshot& snapshot,
                               const std::vector<std::string>& key_columns,
                               KeyIndex::HashFunction hash) {
  FRESHET_RETURN_IF_ERROR(KeyColumnsSql(snapshot, key_columns).status());
  KeyIndex index(hash);
  for (const AddFile& add : snapshot.files()) {
    FRESHET_RETURN_IF_ERROR(IndexDataFile(fs, connection, snapshot, add, key_columns, index));
  }
  return index;
}

KeyIndex::KeyReader DataFileKeyReader(engine::Connection& connection, const Snapshot& snapshot,
                                      const KeyIndex& index,
                                      const std::vector<std::string>& key_columns) {
  return [&connection, &snapshot, &index, key_columns](
             const std::vector<RowLocation>& locations) -> Result<std::vector<std::string>> {
    FRESHET_ASSIGN_OR_RETURN(std::string columns, KeyColumnsSql(snapshot, key_columns));
    std::map<uint32_t, std::set<uint32_t>> by_file;
    for (const RowLocation& location : locations) by_file[location.file].insert(location.row);
    std::map<std::pair<uint32_t, uint32_t>, std::string> keys;
    for (const auto& [file, rows] : by_file) {
      FRESHET_ASSIGN_OR_RETURN(std::string path,
                               ResolveDataPath(snapshot.table_path(), index.FilePath(file)));
      std::string list;
      for (uint32_t row : rows) list += (list.empty() ? "" : ",") + std::to_string(row);
      auto result = connection.Query(fmt::format(
          "SELECT file_row_number, {} FROM read_parquet({}, file_row_number = true) WHERE "
          "file_row_number IN ({})",
          columns, QuoteLiteral(path), list));
      if (!result.ok()) return result.status().WithContext("key columns of " + path);
      for (const engine::Row& row : result->rows) {
        std::string key;
        for (size_t column = 1; column < row.size(); ++column) AppendKeyValue(row[column], key);
        keys[{file, static_cast<uint32_t>(row[0].integer())}] = std::move(key);
      }
    }
    std::vector<std::string> out;
    out.reserve(locations.size());
    for (const RowLocation& location : locations) {
      auto it = keys.find({location.file, location.row});
      if (it == keys.end()) {
        return Status::Corruption("{} has no row {}", index.FilePath(location.file), location.row);
      }
      out.push_back(it->second);
    }
    return out;
  };
}

}  // namespace freshet::lake
