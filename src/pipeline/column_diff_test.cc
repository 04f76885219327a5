#include "pipeline/column_diff.h"

#include <gtest/gtest.h>

namespace freshet::pipeline {
namespace {

using Kind = lake::DataType::Kind;

LakeColumn Column(const std::string& name, Kind kind) {
  return {name, lake::DataType::Primitive(kind)};
}

// The source attnums, counting how often they were asked for.
struct Attnums {
  std::vector<int> values;
  int calls = 0;
  std::function<Result<std::vector<int>>()> Get() {
    return [this]() -> Result<std::vector<int>> {
      ++calls;
      return values;
    };
  }
};

const std::vector<LakeColumn> kLake = {Column("id", Kind::kInteger), Column("y", Kind::kString),
                                       Column("z", Kind::kString), Column("n", Kind::kShort)};
const std::map<std::string, int> kLakeAttnums = {{"id", 1}, {"y", 2}, {"z", 3}, {"n", 4}};

TEST(DiffColumns, SameColumnsNeedNothingAndNoCatalog) {
  Attnums attnums;
  auto diff = DiffColumns(kLake, kLakeAttnums, kLake, attnums.Get());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_TRUE(diff->empty());
  EXPECT_EQ(attnums.calls, 0);
}

TEST(DiffColumns, DropAndRenameTogetherAreToldApartByAttnum) {
  // DROP COLUMN y; RENAME COLUMN z TO w: PostgreSQL's positional guess would see two drops and
  // an add.
  Attnums attnums{{1, 3, 4}};
  auto diff = DiffColumns(
      kLake, kLakeAttnums,
      {Column("id", Kind::kInteger), Column("w", Kind::kString), Column("n", Kind::kShort)},
      attnums.Get());
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->renamed, (std::vector<std::pair<std::string, std::string>>{{"z", "w"}}));
  EXPECT_EQ(diff->dropped, std::vector<std::string>{"y"});
  EXPECT_TRUE(diff->added.empty());
  EXPECT_EQ(attnums.calls, 1);
}

TEST(DiffColumns, DropAndAddOfTheSameTypeStayDropAndAdd) {
  Attnums attnums{{1, 2, 4, 5}};  // z dropped, v added with a new attnum
  auto diff = DiffColumns(kLake, kLakeAttnums,
                          {Column("id", Kind::kInteger), Column("y", Kind::kString),
                           Column("n", Kind::kShort), Column("v", Kind::kString)},
                          attnums.Get());
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->renamed.empty());
  EXPECT_EQ(diff->dropped, std::vector<std::string>{"z"});
  EXPECT_EQ(diff->added, std::vector<size_t>{3});
}

TEST(DiffColumns, WithoutRecordedAttnumsRenamesFollowPosition) {
  Attnums attnums{{0, 0, 0, 0}};
  auto diff = DiffColumns(kLake, {},
                          {Column("id", Kind::kInteger), Column("y", Kind::kString),
                           Column("zz", Kind::kString), Column("n", Kind::kShort)},
                          attnums.Get());
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->renamed, (std::vector<std::pair<std::string, std::string>>{{"z", "zz"}}));
  EXPECT_TRUE(diff->dropped.empty());
  EXPECT_TRUE(diff->added.empty());
}

TEST(DiffColumns, IntegerTypesWidenOthersAreIncompatible) {
  Attnums attnums;
  auto widened = DiffColumns(kLake, kLakeAttnums,
                             {Column("id", Kind::kLong), Column("y", Kind::kString),
                              Column("z", Kind::kString), Column("n", Kind::kInteger)},
                             attnums.Get());
  ASSERT_TRUE(widened.ok());
  ASSERT_EQ(widened->widened.size(), 2U);
  EXPECT_EQ(widened->widened[0].first, 0U);
  EXPECT_EQ(widened->widened[0].second.kind, Kind::kLong);
  EXPECT_EQ(widened->widened[1].first, 3U);
  EXPECT_FALSE(widened->incompatible);

  // A narrower integer keeps the lake's wider column (a replayed older relation, or a source
  // that narrowed it: the values fit).
  auto narrowed = DiffColumns(kLake, kLakeAttnums,
                              {Column("id", Kind::kShort), Column("y", Kind::kString),
                               Column("z", Kind::kString), Column("n", Kind::kShort)},
                              attnums.Get());
  ASSERT_TRUE(narrowed.ok());
  EXPECT_TRUE(narrowed->empty());

  auto retyped = DiffColumns(kLake, kLakeAttnums,
                             {Column("id", Kind::kInteger), Column("y", Kind::kInteger),
                              Column("z", Kind::kString), Column("n", Kind::kShort)},
                             attnums.Get());
  ASSERT_TRUE(retyped.ok());
  ASSERT_TRUE(retyped->incompatible);
  EXPECT_EQ(retyped->incompatible->column, "y");
  EXPECT_EQ(retyped->incompatible->from.kind, Kind::kString);
  EXPECT_EQ(retyped->incompatible->to.kind, Kind::kInteger);
}

TEST(DiffColumns, RenamedAndRetypedColumnWidensUnderItsNewName) {
  Attnums attnums{{1, 2, 3, 4}};
  auto diff = DiffColumns(kLake, kLakeAttnums,
                          {Column("id", Kind::kInteger), Column("y", Kind::kString),
                           Column("z", Kind::kString), Column("count", Kind::kLong)},
                          attnums.Get());
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->renamed, (std::vector<std::pair<std::string, std::string>>{{"n", "count"}}));
  ASSERT_EQ(diff->widened.size(), 1U);
  EXPECT_EQ(diff->widened[0].first, 3U);
}

TEST(DiffColumns, AColumnAddedAgainUnderItsNameWithAnotherTypeIsDropAndAdd) {
  // DROP COLUMN y; ADD COLUMN y int: same name, new attnum.
  const std::vector<LakeColumn> source = {Column("id", Kind::kInteger), Column("z", Kind::kString),
                                          Column("n", Kind::kShort), Column("y", Kind::kInteger)};
  Attnums attnums{{1, 3, 4, 5}};
  auto diff = DiffColumns(kLake, kLakeAttnums, source, attnums.Get());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_FALSE(diff->incompatible);
  EXPECT_EQ(diff->dropped, std::vector<std::string>{"y"});
  EXPECT_EQ(diff->added, std::vector<size_t>{3});
  EXPECT_TRUE(diff->renamed.empty());
  EXPECT_EQ(attnums.calls, 1);

  // The same attnum is a type change of the same column; an unknown one cannot tell.
  for (int attnum : {2, 0}) {
    Attnums same{{1, 3, 4, attnum}};
    auto retyped = DiffColumns(kLake, kLakeAttnums, source, same.Get());
    ASSERT_TRUE(retyped.ok());
    ASSERT_TRUE(retyped->incompatible) << attnum;
    EXPECT_EQ(retyped->incompatible->column, "y");
  }
}

TEST(DiffColumns, CatalogErrorsReachTheCaller) {
  auto diff = DiffColumns(
      kLake, kLakeAttnums, {Column("id", Kind::kInteger)},
      []() -> Result<std::vector<int>> { return Status::Unavailable("source went away"); });
  // No new column: no rename possible, so the catalog is not asked.
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->dropped, (std::vector<std::string>{"y", "z", "n"}));
  auto asked = DiffColumns(
      kLake, kLakeAttnums, {Column("id2", Kind::kInteger)},
      []() -> Result<std::vector<int>> { return Status::Unavailable("source went away"); });
  EXPECT_TRUE(asked.status().Is(Code::kUnavailable)) << asked.status();
}

}  // namespace
}  // namespace freshet::pipeline
