#include "pg/relation_cache.h"

#include <gtest/gtest.h>

namespace freshet::pg {
namespace {

Relation Orders(std::vector<Column> columns, char identity = 'd') {
  return Relation{.oid = 100,
                  .schema = "public",
                  .name = "orders",
                  .replica_identity = identity,
                  .columns = std::move(columns)};
}

std::vector<std::string> Describe(const std::vector<SchemaEvent>& events) {
  std::vector<std::string> out;
  for (const SchemaEvent& event : events) out.push_back(event.Describe());
  return out;
}

TEST(RelationCache, FirstSightIsTableAddedAndRepeatsAreSilent) {
  RelationCache cache;
  EXPECT_EQ(Describe(cache.Put(Orders({{"id", 23, -1, true}}))),
            (std::vector<std::string>{"public.orders: table added"}));
  EXPECT_TRUE(cache.Put(Orders({{"id", 23, -1, true}})).empty());
  auto got = cache.Get(100);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->name, "orders");
}

TEST(RelationCache, UnknownRelationIsNotFoundNamingTheOid) {
  RelationCache cache;
  auto missing = cache.Get(4242);
  EXPECT_TRUE(missing.status().Is(Code::kNotFound));
  EXPECT_NE(missing.status().message().find("4242"), std::string::npos);
}

TEST(RelationCache, ReportsAddedDroppedRenamedAndRetypedColumns) {
  RelationCache cache;
  (void)cache.Put(Orders({{"id", 23, -1, true}, {"note", 25}, {"qty", 23}}));
  EXPECT_EQ(
      Describe(cache.Put(Orders({{"id", 23, -1, true}, {"note", 25}, {"qty", 23}, {"at", 1184}}))),
      (std::vector<std::string>{"public.orders: column added at"}));
  EXPECT_EQ(Describe(cache.Put(Orders({{"id", 23, -1, true}, {"qty", 23}, {"at", 1184}}))),
            (std::vector<std::string>{"public.orders: column dropped note"}));
  EXPECT_EQ(Describe(cache.Put(Orders({{"id", 23, -1, true}, {"quantity", 23}, {"at", 1184}}))),
            (std::vector<std::string>{"public.orders: column qty renamed to quantity"}));
  auto retyped = cache.Put(Orders({{"id", 20, -1, true}, {"quantity", 23}, {"at", 1184}}));
  ASSERT_EQ(retyped.size(), 1u);
  EXPECT_EQ(retyped[0].kind, SchemaEventKind::kColumnRetyped);
  EXPECT_EQ(retyped[0].old_type_oid, 23u);
  EXPECT_EQ(retyped[0].new_type_oid, 20u);
  // A typmod change (varchar(10) → varchar(20)) is a retype too.
  (void)cache.Put(Orders({{"id", 20, -1, true}, {"code", 1043, 14}}));
  auto widened = cache.Put(Orders({{"id", 20, -1, true}, {"code", 1043, 24}}));
  ASSERT_EQ(widened.size(), 1u);
  EXPECT_EQ(widened[0].kind, SchemaEventKind::kColumnRetyped);
}

TEST(RelationCache, ReportsTableRenamesAndKeyChanges) {
  RelationCache cache;
  (void)cache.Put(Orders({{"id", 23, -1, true}}));
  Relation renamed = Orders({{"id", 23, -1, true}});
  renamed.name = "purchases";
  EXPECT_EQ(Describe(cache.Put(renamed)),
            (std::vector<std::string>{"public.purchases: renamed from public.orders"}));
  renamed.replica_identity = 'f';
  renamed.columns[0].key = true;
  auto events = cache.Put(renamed);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, SchemaEventKind::kKeyChanged);
}

TEST(RelationCache, DropAndAddOfDifferentTypesAreNotARename) {
  RelationCache cache;
  (void)cache.Put(Orders({{"id", 23, -1, true}, {"a", 25}}));
  EXPECT_EQ(Describe(cache.Put(Orders({{"id", 23, -1, true}, {"b", 16}}))),
            (std::vector<std::string>{"public.orders: column dropped a",
                                      "public.orders: column added b"}));
}

}  // namespace
}  // namespace freshet::pg
