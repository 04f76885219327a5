#include "lake/row_cache.h"

#include <limits>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "lake/key_index.h"

namespace freshet::lake {
namespace {

using engine::Value;

Value Of(Value::Kind kind, int64_t integer) { return Value{kind, integer}; }

TEST(RowCacheTest, EveryValueKindRoundTrips) {
  engine::Decimal decimal{static_cast<engine::Int128>(-123456789012345678) * 1000000000, 38, 9};
  engine::Row row = {
      Value::Null(),
      Value::Bool(true),
      Value::Int(std::numeric_limits<int64_t>::min()),
      Value::Int(std::numeric_limits<int64_t>::max()),
      Value::Int(-1),
      Value{Value::Kind::kUInt, std::numeric_limits<uint64_t>::max()},
      Value{Value::Kind::kDouble, -0.0},
      Value{Value::Kind::kDouble, std::numeric_limits<double>::infinity()},
      Value::String(std::string("a\0b", 3) + std::string(300, 'x')),
      Value{Value::Kind::kBlob, std::string("\xff\x00", 2)},
      Of(Value::Kind::kDate, -719162),
      Of(Value::Kind::kTime, 86399999999),
      Of(Value::Kind::kTimestamp, -62135596800000000),
      Of(Value::Kind::kTimestampTz, 1763700000000000),
      Value{Value::Kind::kDecimal, decimal},
      Value{Value::Kind::kHugeInt, engine::Decimal{-1, 0, 0}},
      Value{Value::Kind::kList, engine::ValueList{Value::Int(1), Value::Null(),
                                                  Value{Value::Kind::kList, engine::ValueList{}}}},
      Value{Value::Kind::kStruct,
            engine::ValueFields{{"a", Value::Int(1)}, {"", Value::String("é")}}},
      Value{Value::Kind::kMap, engine::ValueFields{{"k", Value{Value::Kind::kList,
                                                               engine::ValueList{Value::Int(2)}}}}},
  };
  std::string bytes;
  EncodeRow(row, bytes);
  EXPECT_EQ(DecodeRow(bytes), row);
  EXPECT_TRUE(DecodeRow([] {
                std::string empty;
                EncodeRow({}, empty);
                return empty;
              }())
                  .empty());
}

// A random sequence of puts and erases over a few thousand keys, checked against a std::map
// after every step; the arena is compacted many times on the way.
TEST(RowCacheTest, MatchesAModelThroughPutsErasesAndCompactions) {
  RowCache cache(size_t{64} << 20);
  std::map<std::string, engine::Row> model;
  std::mt19937_64 random(3);
  for (int step = 0; step < 200000; ++step) {
    std::string key = EncodeKey({Value::Int(static_cast<int64_t>(random() % 3000))});
    if (random() % 4 == 0) {
      cache.Erase(key);
      model.erase(key);
    } else {
      engine::Row row = {Value::Int(step), Value::String(std::string(random() % 40, 'v'))};
      cache.Put(key, row);
      model[key] = row;
    }
    if (step % 997 == 0) {
      for (int probe = 0; probe < 3000; probe += 7) {
        std::string probe_key = EncodeKey({Value::Int(probe)});
        auto cached = cache.Get(probe_key);
        auto it = model.find(probe_key);
        ASSERT_EQ(cached.has_value(), it != model.end()) << "step " << step;
        if (cached) {
          ASSERT_EQ(*cached, it->second);
        }
      }
    }
  }
  EXPECT_EQ(cache.size(), model.size());
  // Replaced and erased records were reclaimed: the cache holds about what is live.
  EXPECT_LT(cache.MemoryBytes(), size_t{2} << 20);
}

TEST(RowCacheTest, TakesNoNewKeyPastItsBudgetButStaysExact) {
  constexpr size_t kBudget = size_t{4} << 20;
  RowCache cache(kBudget);
  engine::Row row = {Value::String(std::string(100000, 'r'))};
  int taken = 0;
  for (int key = 0; key < 200; ++key) {
    bool put = cache.Put(EncodeKey({Value::Int(key)}), row);
    bool held = cache.Get(EncodeKey({Value::Int(key)})).has_value();
    EXPECT_EQ(put, held) << key;
    taken += held ? 1 : 0;
  }
  EXPECT_GT(taken, 20);
  EXPECT_LT(taken, 60);
  EXPECT_LE(cache.MemoryBytes(), kBudget);
  // A held key is still replaced and erased past the budget.
  engine::Row updated = {Value::String("new")};
  EXPECT_TRUE(cache.Put(EncodeKey({Value::Int(0)}), updated));
  EXPECT_EQ(cache.Get(EncodeKey({Value::Int(0)})), updated);
  cache.Erase(EncodeKey({Value::Int(0)}));
  EXPECT_FALSE(cache.Contains(EncodeKey({Value::Int(0)})));

  RowCache off(0);
  EXPECT_FALSE(off.Put(EncodeKey({Value::Int(1)}), row));
  EXPECT_FALSE(off.Get(EncodeKey({Value::Int(1)})).has_value());
  EXPECT_EQ(off.size(), 0u);
}

TEST(RowCacheTest, CachesSharingABudgetStopTakingKeysTogether) {
  constexpr int64_t kShared = int64_t{4} << 20;
  auto shared = std::make_shared<RowCacheBudget>(kShared);
  engine::Row row = {Value::String(std::string(100000, 'r'))};
  {
    RowCache first(size_t{64} << 20, shared);
    RowCache second(size_t{64} << 20, shared);
    for (int key = 0; key < 200; ++key) {
      first.Put(EncodeKey({Value::Int(key)}), row);
      second.Put(EncodeKey({Value::Int(key)}), row);
    }
    EXPECT_LT(first.size() + second.size(), 80u);
    EXPECT_GT(second.size(), 0u);
    EXPECT_EQ(shared->left.load(),
              kShared - static_cast<int64_t>(first.MemoryBytes() + second.MemoryBytes()));
    RowCache moved = std::move(first);
    first.Clear();  // a moved-from cache gives nothing back twice
    EXPECT_EQ(shared->left.load(),
              kShared - static_cast<int64_t>(moved.MemoryBytes() + second.MemoryBytes()));
  }
  EXPECT_EQ(shared->left.load(), kShared);  // both gave their bytes back
}

}  // namespace
}  // namespace freshet::lake
