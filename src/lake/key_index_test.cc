#include "lake/key_index.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/table_writer.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

using engine::Value;

uint64_t ConstantHash(std::string_view) { return 42; }
uint64_t TwoBucketHash(std::string_view key) { return key.size() % 2; }

// The stored keys of a model table: location -> key, read back by the index's lookups.
struct ModelRows {
  std::map<std::pair<uint32_t, uint32_t>, std::string> rows;
  int reads = 0;

  KeyIndex::KeyReader Reader() {
    return [this](const std::vector<RowLocation>& locations) -> Result<std::vector<std::string>> {
      ++reads;
      std::vector<std::string> out;
      for (const RowLocation& location : locations) {
        auto it = rows.find({location.file, location.row});
        if (it == rows.end()) return Status::NotFound("no row {}", location.row);
        out.push_back(it->second);
      }
      return out;
    };
  }
};

TEST(EncodeKeyTest, DifferentKeysGiveDifferentBytes) {
  EXPECT_NE(EncodeKey({Value::Int(1)}), EncodeKey({Value::String("1")}));
  EXPECT_NE(EncodeKey({Value::String("a"), Value::String("bc")}),
            EncodeKey({Value::String("ab"), Value::String("c")}));
  EXPECT_NE(EncodeKey({Value::Null()}), EncodeKey({Value::Int(0)}));
  EXPECT_NE(EncodeKey({Value::Int(1), Value::Null()}), EncodeKey({Value::Null(), Value::Int(1)}));
  EXPECT_EQ(EncodeKey({Value::Int(7), Value::String("x")}),
            EncodeKey({Value::Int(7), Value::String("x")}));
  Value list{Value::Kind::kList, engine::ValueList{Value::Int(1), Value::Int(2)}};
  Value other{Value::Kind::kList, engine::ValueList{Value::Int(1)}};
  EXPECT_NE(EncodeKey({list}), EncodeKey({other}));
  EXPECT_NE(HashKey(EncodeKey({Value::Int(1)})), HashKey(EncodeKey({Value::Int(2)})));
}

// A random sequence of inserts, moves (update: erase + insert elsewhere, or Move in place) and
// deletes, checked against a std::map after every step, with every key in one or two hash
// buckets.
void RunModel(KeyIndex::HashFunction hash, int steps, int keys) {
  KeyIndex index(hash);
  ModelRows stored;
  std::map<std::string, RowLocation> model;
  std::mt19937_64 random(7);
  uint32_t file = index.InternFile("part-0.parquet");
  uint32_t next_row = 0;
  for (int step = 0; step < steps; ++step) {
    std::string key = EncodeKey({Value::Int(static_cast<int64_t>(random() % keys)),
                                 Value::String(std::string(random() % 3, 'k'))});
    auto found = index.Find({key}, stored.Reader());
    ASSERT_TRUE(found.ok()) << found.status();
    auto it = model.find(key);
    ASSERT_EQ((*found)[0].has_value(), it != model.end()) << "step " << step;
    if (it != model.end()) {
      ASSERT_EQ(*(*found)[0], it->second);
      if (random() % 2 == 0) {  // an update moved in place
        RowLocation moved{file, next_row++};
        ASSERT_FALSE(index.Move(key, moved, moved));  // no entry there
        ASSERT_TRUE(index.Move(key, it->second, moved));
        stored.rows[{moved.file, moved.row}] = key;
        it->second = moved;
        ASSERT_EQ(index.size(), model.size());
        continue;
      }
      ASSERT_TRUE(index.Erase(key, it->second));
      ASSERT_FALSE(index.Erase(key, it->second));
      model.erase(it);
      if (random() % 3 == 0) continue;  // a delete
    }
    RowLocation location{file, next_row++};
    stored.rows[{location.file, location.row}] = key;
    index.Insert(key, location);
    model[key] = location;
    ASSERT_EQ(index.size(), model.size());
  }
  std::vector<std::string> all;
  for (const auto& [key, location] : model) all.push_back(key);
  all.push_back(EncodeKey({Value::String("absent")}));
  auto found = index.Find(all, stored.Reader());
  ASSERT_TRUE(found.ok());
  size_t position = 0;
  for (const auto& [key, location] : model) EXPECT_EQ((*found)[position++], location);
  EXPECT_FALSE((*found)[position].has_value());
}

TEST(KeyIndexTest, ExactWhenEveryKeyHasTheSameHash) { RunModel(ConstantHash, 3000, 300); }
TEST(KeyIndexTest, ExactWithTwoHashBuckets) { RunModel(TwoBucketHash, 5000, 700); }
TEST(KeyIndexTest, ExactWithTheDefaultHash) { RunModel(HashKey, 100000, 10000); }

// Keys of one integer column are exact by their hash alone: a random model of inserts, moves
// and deletes over the whole int64 range never reads a stored key, and string and NULL keys in
// the same index are still confirmed by reading.
TEST(KeyIndexTest, SingleIntegerKeysNeedNoReads) {
  KeyIndex index;
  ModelRows stored;
  std::map<std::string, RowLocation> model;
  std::mt19937_64 random(11);
  uint32_t file = index.InternFile("part-0.parquet");
  uint32_t next_row = 0;
  std::vector<int64_t> values = {INT64_MIN, INT64_MAX, 0, -1, 1};
  for (int i = 0; i < 5000; ++i) values.push_back(static_cast<int64_t>(random()));
  for (int step = 0; step < 50000; ++step) {
    std::string key = EncodeKey({Value::Int(values[random() % values.size()])});
    auto found = index.Find({key}, stored.Reader());
    ASSERT_TRUE(found.ok()) << found.status();
    auto it = model.find(key);
    ASSERT_EQ((*found)[0].has_value(), it != model.end()) << "step " << step;
    if (it != model.end()) {
      ASSERT_EQ(*(*found)[0], it->second);
      ASSERT_TRUE(index.Erase(key, it->second));
      model.erase(it);
      if (random() % 3 == 0) continue;
    }
    RowLocation location{file, next_row++};
    stored.rows[{location.file, location.row}] = key;
    index.Insert(key, location);
    model[key] = location;
  }
  EXPECT_EQ(stored.reads, 0);
  EXPECT_EQ(index.size(), model.size());

  for (const std::string& other : {EncodeKey({Value::String("7")}), EncodeKey({Value::Null()})}) {
    RowLocation location{file, next_row++};
    stored.rows[{location.file, location.row}] = other;
    index.Insert(other, location);
    auto found = index.Find({other, EncodeKey({Value::String("absent")})}, stored.Reader());
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ((*found)[0], location);
    EXPECT_FALSE((*found)[1].has_value());
  }
  EXPECT_GE(stored.reads, 2);
  auto first = model.begin();
  auto found = index.Find({first->first}, stored.Reader());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)[0], first->second);
}

TEST(KeyIndexTest, FindReadsAllCandidatesInOneCall) {
  KeyIndex index(ConstantHash);
  ModelRows stored;
  uint32_t file = index.InternFile("a.parquet");
  for (uint32_t row = 0; row < 50; ++row) {
    std::string key = EncodeKey({Value::Int(row)});
    stored.rows[{file, row}] = key;
    index.Insert(key, {file, row});
  }
  EXPECT_EQ(index.Candidates(EncodeKey({Value::Int(3)})).size(), 50u);
  auto found =
      index.Find({EncodeKey({Value::Int(3)}), EncodeKey({Value::Int(49)})}, stored.Reader());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(stored.reads, 1);
  EXPECT_EQ((*found)[0], (RowLocation{file, 3}));
  EXPECT_EQ((*found)[1], (RowLocation{file, 49}));
}

TEST(KeyIndexTest, EraseFileDropsItsEntriesOnly) {
  KeyIndex index(TwoBucketHash);
  uint32_t a = index.InternFile("a.parquet");
  uint32_t b = index.InternFile("b.parquet");
  EXPECT_EQ(index.InternFile("a.parquet"), a);
  EXPECT_EQ(index.FileId("b.parquet"), b);
  for (uint32_t row = 0; row < 1000; ++row) {
    index.Insert(EncodeKey({Value::Int(row)}), {row % 3 == 0 ? a : b, row});
  }
  EXPECT_EQ(index.EraseFile(a), 334u);
  EXPECT_EQ(index.size(), 666u);
  for (uint32_t row = 0; row < 1000; ++row) {
    auto candidates = index.Candidates(EncodeKey({Value::Int(row)}));
    for (const RowLocation& location : candidates) EXPECT_EQ(location.file, b);
  }
}

// At most 40 bytes per live row at every size up to 10M rows (sampled), measured from the
// index's own allocation.
TEST(KeyIndexTest, MemoryPerRowStaysUnderFortyBytes) {
  constexpr uint32_t kRows = 10'000'000;
  KeyIndex index;
  uint32_t file = index.InternFile("part-00000.parquet");
  std::string key;
  double worst = 0;
  auto start = std::chrono::steady_clock::now();
  for (uint32_t row = 0; row < kRows; ++row) {
    key.clear();
    AppendKeyValue(Value::Int(row), key);
    index.Insert(key, {file, row});
    if (row >= 1000 && row % 997 == 0) {
      worst = std::max(worst, static_cast<double>(index.MemoryBytes()) / index.size());
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double at_end = static_cast<double>(index.MemoryBytes()) / index.size();
  std::printf("KeyIndex: %.1f bytes/row at %u rows (worst sampled %.1f), %.2f s to insert\n",
              at_end, kRows, worst, seconds);
  EXPECT_EQ(index.size(), kRows);
  EXPECT_LE(at_end, 40.0);
  EXPECT_LE(worst, 40.0);
  key.clear();
  AppendKeyValue(Value::Int(kRows - 1), key);
  EXPECT_EQ(index.Candidates(key).size(), 1u);
}

using KeyIndexTableTest = testing::LakeTableTest;

TEST_F(KeyIndexTableTest, BuildsFromASnapshotSkippingDeletedRows) {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"region","type":"string","nullable":false,"metadata":{}},
    {"name":"v","type":"double","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE(CreateTable(fs_, table_, {*schema}).ok());
  for (int batch = 0; batch < 2; ++batch) {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    auto added = txn->Append(
        fmt::format("SELECT (i % 500)::BIGINT AS id, 'r' || (i // 500) AS region, i * 0.5 AS v "
                    "FROM range({}, {}) t(i)",
                    batch * 1000, batch * 1000 + 1000));
    ASSERT_TRUE(added.ok()) << added.status();
    ASSERT_TRUE(txn->Commit().ok());
  }
  // Delete rows 0..9 of the first file.
  {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok());
    const std::string first = txn->read_snapshot().files()[0].path;
    std::vector<uint64_t> rows;
    for (uint64_t row = 0; row < 10; ++row) rows.push_back(row);
    ASSERT_TRUE(txn->DeleteRows(first, rows).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  std::vector<std::string> key_columns{"id", "region"};
  for (KeyIndex::HashFunction hash : {&HashKey, &TwoBucketHash}) {
    auto index = BuildKeyIndex(fs_, *connection_, *snapshot, key_columns, hash);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ(index->size(), 1990u);
    auto all = connection_->Query("SELECT id, region, v FROM (" +
                                  *ScanSql(fs_, *connection_, *snapshot) + ") ORDER BY v");
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->rows.size(), 1990u);
    std::vector<std::string> keys;
    for (const auto& row : all->rows) keys.push_back(EncodeKey({row[0], row[1]}));
    keys.push_back(EncodeKey({Value::Int(3), Value::String("r9")}));
    // Row 0 of the first file is deleted: key (0, r0) or (0, r2), by which file sorts first.
    keys.push_back(EncodeKey({Value::Int(0), Value::String("r0")}));
    keys.push_back(EncodeKey({Value::Int(0), Value::String("r2")}));
    auto found = index->Find(keys, DataFileKeyReader(*connection_, *snapshot, *index, key_columns));
    ASSERT_TRUE(found.ok()) << found.status();
    std::set<std::pair<uint32_t, uint32_t>> distinct;
    for (size_t row = 0; row < all->rows.size(); ++row) {
      ASSERT_TRUE((*found)[row].has_value()) << row;
      distinct.insert({(*found)[row]->file, (*found)[row]->row});
    }
    EXPECT_EQ(distinct.size(), 1990u);
    EXPECT_FALSE((*found)[1990].has_value());
    EXPECT_NE((*found)[1991].has_value(), (*found)[1992].has_value());
  }
  EXPECT_TRUE(BuildKeyIndex(fs_, *connection_, *snapshot, {"nope"}).status().Is(Code::kNotFound));
}

}  // namespace
}  // namespace freshet::lake
