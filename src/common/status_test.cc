#include "common/status.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "common/result.h"

namespace freshet {
namespace {

TEST(Status, DefaultIsOkAndHasNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, FactoriesFormatTheirMessage) {
  Status s = Status::NotFound("table {} has no version {}", "orders", 7);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.Is(Code::kNotFound));
  EXPECT_EQ(s.message(), "table orders has no version 7");
  EXPECT_EQ(s.ToString(), "NotFound: table orders has no version 7");
}

TEST(Status, WithContextPrefixesAndLeavesOkAlone) {
  Status s = Status::Corruption("bad line 3").WithContext("reading 00.json");
  EXPECT_EQ(s.message(), "reading 00.json: bad line 3");
  EXPECT_TRUE(s.Is(Code::kCorruption));
  EXPECT_TRUE(Status::Ok().WithContext("anything").ok());
}

TEST(Status, CopiesAreIndependent) {
  Status a = Status::IOError("disk");
  Status b = a;
  b = std::move(b).WithContext("write");
  EXPECT_EQ(a.message(), "disk");
  EXPECT_EQ(b.message(), "write: disk");
  EXPECT_NE(a, b);
}

TEST(Status, OnlyUnavailableAndTimeoutAreRetryable) {
  EXPECT_TRUE(Status::Unavailable("x").IsRetryable());
  EXPECT_TRUE(Status::Timeout("x").IsRetryable());
  EXPECT_FALSE(Status::PermissionDenied("x").IsRetryable());
  EXPECT_FALSE(Status::Conflict("x").IsRetryable());
}

TEST(Status, FromErrnoMapsCommonErrors) {
  EXPECT_TRUE(Status::FromErrno(ENOENT, "open a").Is(Code::kNotFound));
  EXPECT_TRUE(Status::FromErrno(EEXIST, "link b").Is(Code::kAlreadyExists));
  Status io = Status::FromErrno(EIO, "read c");
  EXPECT_TRUE(io.Is(Code::kIOError));
  EXPECT_EQ(io.message(), "read c: Input/output error");
}

Result<int> ParsePositive(int x) {
  if (x <= 0) return Status::InvalidArgument("{} is not positive", x);
  return x;
}

Result<int> Doubled(int x) {
  FRESHET_ASSIGN_OR_RETURN(int v, ParsePositive(x));
  return v * 2;
}

Status CheckBoth(int a, int b) {
  FRESHET_RETURN_IF_ERROR(ParsePositive(a));
  FRESHET_RETURN_IF_ERROR(ParsePositive(b).status().WithContext("second"));
  return Status::Ok();
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = Doubled(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 8);
  Result<int> bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "-1 is not positive");
  EXPECT_EQ(bad.value_or(5), 5);
}

TEST(Result, MacrosPropagateTheFirstError) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(0, 2).message(), "0 is not positive");
  EXPECT_EQ(CheckBoth(1, 0).message(), "second: 0 is not positive");
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 3);
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  Result<int> bad = Status::NotFound("gone");
  EXPECT_DEATH((void)bad.value(), "value\\(\\) of a failed Result: NotFound: gone");
}

TEST(ResultDeathTest, BuildingFromOkStatusAborts) {
  EXPECT_DEATH(
      {
        Result<int> r = Status::Ok();
        (void)r;
      },
      "OK Status");
}

}  // namespace
}  // namespace freshet
