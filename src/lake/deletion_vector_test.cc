#include "lake/deletion_vector.h"

#include <gtest/gtest.h>

#include "lake/test_util.h"

namespace freshet::lake {
namespace {

TEST(DeletionVector, DerivesTheFilePathFromTheSpecExample) {
  DeletionVectorDescriptor dv{"u", "ab^-aqEH.-t@S}K{vb[*k^", 4, 40, 6};
  auto path = DeletionVectorPath("s3dir/mytable", dv);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, "s3dir/mytable/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
}

TEST(DeletionVector, ReadsAnInlineVector) {
  // The spec's inline example predates the portable format it specifies (its bytes start with
  // 1681511376 big-endian), so this builds an inline DV the way the spec text describes.
  std::vector<uint64_t> rows = {3, 4, 7, 11, 18, 29};
  std::string bitmap = SerializeRoaringBitmapArray(rows);
  auto size = static_cast<int32_t>(bitmap.size());
  bitmap.resize((bitmap.size() + 3) / 4 * 4, '\0');
  DeletionVectorDescriptor dv{"i", Z85Encode(bitmap), {}, size, 6};
  LocalFileSystem fs;
  auto loaded = LoadDeletionVector(fs, "/nowhere", dv);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, rows);
  dv.cardinality = 5;
  EXPECT_TRUE(LoadDeletionVector(fs, "/nowhere", dv).status().Is(Code::kCorruption));
}

TEST(DeletionVector, Z85RoundTrips) {
  std::string bytes("\x86\x4f\xd2\x6f\xb5\x59\xf7\x5b", 8);
  EXPECT_EQ(Z85Encode(bytes), "HelloWorld");  // the example of ZeroMQ RFC 32
  EXPECT_EQ(*Z85Decode("HelloWorld"), bytes);
  EXPECT_TRUE(Z85Decode("abc").status().Is(Code::kCorruption));
  EXPECT_TRUE(Z85Decode("abc d").status().Is(Code::kCorruption));
}

TEST(DeletionVector, FileRoundTripsWithRowsAboveFourBillion) {
  testing::ScratchDir dir;
  std::vector<uint64_t> rows = {0, 1, 2, 100000, (uint64_t{1} << 32) + 5};
  EncodedDeletionVectors encoded = EncodeDeletionVectorsFile({rows});
  LocalFileSystem fs;
  ASSERT_TRUE(fs.Put(dir / "dv.bin", encoded.file_bytes).ok());
  DeletionVectorDescriptor dv{"p", "file://" + (dir / "dv.bin"), encoded.offsets[0],
                              encoded.sizes_in_bytes[0], 5};
  auto loaded = LoadDeletionVector(fs, dir.path(), dv);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, rows);
}

TEST(DeletionVector, SeveralVectorsShareOneFile) {
  testing::ScratchDir dir;
  std::vector<std::vector<uint64_t>> bitmaps = {{3}, {0, 7, 9000}, {}, {5, 6}};
  EncodedDeletionVectors encoded = EncodeDeletionVectorsFile(bitmaps);
  ASSERT_EQ(encoded.offsets.size(), bitmaps.size());
  EXPECT_EQ(encoded.offsets[0], 1);  // after the version byte
  LocalFileSystem fs;
  ASSERT_TRUE(fs.Put(dir / "dvs.bin", encoded.file_bytes).ok());
  for (size_t i = 0; i < bitmaps.size(); ++i) {
    DeletionVectorDescriptor dv{"p", dir / "dvs.bin", encoded.offsets[i], encoded.sizes_in_bytes[i],
                                static_cast<int64_t>(bitmaps[i].size())};
    auto loaded = LoadDeletionVector(fs, dir.path(), dv);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(*loaded, bitmaps[i]) << "vector " << i;
  }
}

TEST(DeletionVector, ChecksumAndCardinalityMismatchesNameTheFile) {
  testing::ScratchDir dir;
  EncodedDeletionVectors encoded = EncodeDeletionVectorsFile({{1, 2, 3}});
  std::string corrupt = encoded.file_bytes;
  corrupt[10] = static_cast<char>(corrupt[10] ^ 0x40);
  LocalFileSystem fs;
  ASSERT_TRUE(fs.Put(dir / "bad.bin", corrupt).ok());
  ASSERT_TRUE(fs.Put(dir / "good.bin", encoded.file_bytes).ok());
  int32_t size = encoded.sizes_in_bytes[0];
  DeletionVectorDescriptor bad{"p", dir / "bad.bin", 1, size, 3};
  auto rows = LoadDeletionVector(fs, dir.path(), bad);
  EXPECT_TRUE(rows.status().Is(Code::kCorruption));
  EXPECT_NE(rows.status().message().find("checksum mismatch"), std::string::npos);
  EXPECT_NE(rows.status().message().find("bad.bin"), std::string::npos);
  DeletionVectorDescriptor wrong_count{"p", dir / "good.bin", 1, size, 4};
  auto counted = LoadDeletionVector(fs, dir.path(), wrong_count);
  EXPECT_NE(counted.status().message().find("cardinality 4"), std::string::npos);
  DeletionVectorDescriptor wrong_size{"p", dir / "good.bin", 1, size + 1, 3};
  EXPECT_TRUE(LoadDeletionVector(fs, dir.path(), wrong_size).status().Is(Code::kCorruption));
  DeletionVectorDescriptor missing{"p", dir / "missing.bin", 1, 10, 3};
  EXPECT_TRUE(LoadDeletionVector(fs, dir.path(), missing).status().Is(Code::kNotFound));
}

TEST(DeletionVector, RejectsABadMagicNumber) {
  std::string data = SerializeRoaringBitmapArray({1});
  data[0] = 0;
  EXPECT_TRUE(ParseRoaringBitmapArray(data).status().Is(Code::kCorruption));
  EXPECT_TRUE(ParseRoaringBitmapArray("abc").status().Is(Code::kCorruption));
}

}  // namespace
}  // namespace freshet::lake
