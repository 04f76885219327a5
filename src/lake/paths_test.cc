#include "lake/paths.h"

#include <gtest/gtest.h>

namespace freshet::lake {
namespace {

TEST(Paths, DecodesAddPathsExactlyOnce) {
  EXPECT_EQ(*ResolveDataPath("/t", "_2=bar+%2521/part-0.parquet"), "/t/_2=bar+%21/part-0.parquet");
  EXPECT_EQ(*ResolveDataPath("/t", "file:///abs/x%20y.parquet"), "/abs/x y.parquet");
  EXPECT_EQ(*ResolveDataPath("/t", "file:/abs/z.parquet"), "/abs/z.parquet");
  EXPECT_TRUE(ResolveDataPath("/t", "s3://bucket/x").status().Is(Code::kNotSupported));
  EXPECT_TRUE(PercentDecode("bad%2").status().Is(Code::kCorruption));
  EXPECT_TRUE(PercentDecode("bad%zz").status().Is(Code::kCorruption));
}

TEST(Paths, EscapesPartitionDirectoriesLikeHive) {
  EXPECT_EQ(HivePartitionDirectory("ts", "2021-09-08 11:11:11"), "ts=2021-09-08 11%3A11%3A11");
  EXPECT_EQ(HivePartitionDirectory("p", std::nullopt), "p=__HIVE_DEFAULT_PARTITION__");
  EXPECT_EQ(HivePartitionDirectory("p", "a/b%"), "p=a%2Fb%25");
  EXPECT_EQ(PercentEncodePath("p=a%2Fb/f 1.parquet"), "p=a%252Fb/f%201.parquet");
}

TEST(Paths, ClassifiesLogFileNames) {
  EXPECT_EQ(ParseLogFileName("00000000000000000007.json").kind, LogFileName::Kind::kCommit);
  EXPECT_EQ(ParseLogFileName("00000000000000000007.json").version, 7);
  EXPECT_EQ(ParseLogFileName("00000000000000000010.checkpoint.parquet").kind,
            LogFileName::Kind::kClassicCheckpoint);
  LogFileName part =
      ParseLogFileName("00000000000000000001.checkpoint.0000000002.0000000003.parquet");
  EXPECT_EQ(part.kind, LogFileName::Kind::kMultiPartCheckpoint);
  EXPECT_EQ(part.part, 2);
  EXPECT_EQ(part.parts, 3);
  EXPECT_EQ(
      ParseLogFileName("00000000000000000002.checkpoint.6374b053-df23-479b-b2cf-c9c550132b49.json")
          .kind,
      LogFileName::Kind::kUuidCheckpoint);
  EXPECT_EQ(ParseLogFileName(".00000000000000000000.json.crc").kind, LogFileName::Kind::kOther);
  EXPECT_EQ(ParseLogFileName("00000000000000000000.crc").kind, LogFileName::Kind::kOther);
  EXPECT_EQ(ParseLogFileName("_last_checkpoint").kind, LogFileName::Kind::kOther);
}

}  // namespace
}  // namespace freshet::lake
