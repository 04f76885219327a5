#include "lake/fs/file_system.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lake/test_util.h"

namespace freshet::lake {
namespace {

// Every implementation must pass the same contract; each fixture owns its store.
struct LocalFixture {
  LocalFileSystem fs;
  FileSystem& get() { return fs; }
};
struct DeferredSyncFixture {
  LocalFileSystem fs{LocalFileSystemOptions{.defer_data_sync = true}};
  FileSystem& get() { return fs; }
};
struct FaultyOverLocalFixture {
  LocalFileSystem local;
  FaultyFileSystem fs{local};
  FileSystem& get() { return fs; }
};

template <typename Fixture>
class FileSystemContract : public ::testing::Test {
 protected:
  FileSystem& fs() { return fixture_.get(); }
  testing::ScratchDir dir_;
  Fixture fixture_;
};

using Implementations = ::testing::Types<LocalFixture, DeferredSyncFixture, FaultyOverLocalFixture>;
TYPED_TEST_SUITE(FileSystemContract, Implementations);

TYPED_TEST(FileSystemContract, PutThenGetReturnsTheBytes) {
  std::string path = this->dir_ / "a/b/c.bin";
  std::string data("x\0y", 3);
  ASSERT_TRUE(this->fs().Put(path, data).ok());
  auto got = this->fs().Get(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
}

TYPED_TEST(FileSystemContract, PutReplacesAnExistingObject) {
  std::string path = this->dir_ / "f";
  ASSERT_TRUE(this->fs().Put(path, "old").ok());
  ASSERT_TRUE(this->fs().Put(path, "new!").ok());
  EXPECT_EQ(*this->fs().Get(path), "new!");
  EXPECT_EQ(this->fs().Head(path)->size_bytes, 4);
}

TYPED_TEST(FileSystemContract, GetOfAMissingObjectIsNotFound) {
  EXPECT_TRUE(this->fs().Get(this->dir_ / "missing").status().Is(Code::kNotFound));
  EXPECT_TRUE(this->fs().Head(this->dir_ / "missing").status().Is(Code::kNotFound));
  EXPECT_TRUE(this->fs().List(this->dir_ / "missing").status().Is(Code::kNotFound));
  EXPECT_TRUE(this->fs().Delete(this->dir_ / "missing").Is(Code::kNotFound));
}

TYPED_TEST(FileSystemContract, GetRangeReadsASliceAndReportsShortReads) {
  std::string path = this->dir_ / "r";
  ASSERT_TRUE(this->fs().Put(path, "0123456789").ok());
  EXPECT_EQ(*this->fs().GetRange(path, 3, 4), "3456");
  EXPECT_EQ(*this->fs().GetRange(path, 10, 0), "");
  auto short_read = this->fs().GetRange(path, 8, 5);
  EXPECT_TRUE(short_read.status().Is(Code::kCorruption)) << short_read.status();
  EXPECT_NE(short_read.status().message().find(path), std::string::npos);
}

TYPED_TEST(FileSystemContract, PutIfAbsentNeverOverwrites) {
  std::string path = this->dir_ / "log/00000000000000000000.json";
  ASSERT_TRUE(this->fs().PutIfAbsent(path, "first").ok());
  Status second = this->fs().PutIfAbsent(path, "second");
  EXPECT_TRUE(second.Is(Code::kAlreadyExists)) << second;
  EXPECT_EQ(*this->fs().Get(path), "first");
}

TYPED_TEST(FileSystemContract, ListIsSortedAndLeavesNoTemporaryFiles) {
  ASSERT_TRUE(this->fs().Put(this->dir_ / "b", "2").ok());
  ASSERT_TRUE(this->fs().PutIfAbsent(this->dir_ / "a", "1").ok());
  ASSERT_TRUE(this->fs().Put(this->dir_ / "sub/c", "3").ok());
  auto listed = this->fs().List(this->dir_.path());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].name, "a");
  EXPECT_EQ((*listed)[1].name, "b");
  EXPECT_EQ((*listed)[1].size_bytes, 1);
  EXPECT_EQ((*listed)[2].name, "sub");
  EXPECT_TRUE((*listed)[2].is_directory);
  EXPECT_GT((*listed)[0].modification_time_ms, 0);
}

TYPED_TEST(FileSystemContract, ListNamesMatchesListWithoutDetails) {
  ASSERT_TRUE(this->fs().Put(this->dir_ / "b", "2").ok());
  ASSERT_TRUE(this->fs().Put(this->dir_ / "a", "1").ok());
  ASSERT_TRUE(this->fs().Put(this->dir_ / "sub/c", "3").ok());
  auto names = this->fs().ListNames(this->dir_.path());
  ASSERT_TRUE(names.ok()) << names.status();
  ASSERT_EQ(names->size(), 3u);
  EXPECT_EQ((*names)[0].name, "a");
  EXPECT_EQ((*names)[0].path, this->dir_ / "a");
  EXPECT_FALSE((*names)[1].is_directory);
  EXPECT_TRUE((*names)[2].is_directory);
  EXPECT_TRUE(this->fs().ListNames(this->dir_ / "missing").status().Is(Code::kNotFound));
}

TYPED_TEST(FileSystemContract, DeleteRemovesTheObject) {
  std::string path = this->dir_ / "d";
  ASSERT_TRUE(this->fs().Put(path, "x").ok());
  ASSERT_TRUE(this->fs().Delete(path).ok());
  EXPECT_TRUE(this->fs().Get(path).status().Is(Code::kNotFound));
}

TYPED_TEST(FileSystemContract, RacingPutIfAbsentHasExactlyOneWinner) {
  std::string path = this->dir_ / "race";
  std::atomic<int> winners{0};
  std::atomic<int> losers{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status s = this->fs().PutIfAbsent(path, std::string(100, static_cast<char>('a' + i)));
      if (s.ok()) ++winners;
      if (s.Is(Code::kAlreadyExists)) ++losers;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), 7);
  auto listed = this->fs().List(this->dir_.path());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);  // no temporary files left behind
}

TEST(LocalFileSystem, DataFilesWaitForTheCommitThatReferencesThem) {
  testing::ScratchDir dir;
  LocalFileSystem fs{LocalFileSystemOptions{.defer_data_sync = true}};
  std::string table = dir / "t";
  ASSERT_TRUE(fs.PutIfAbsent(table + "/part-0.parquet", "rows").ok());
  ASSERT_TRUE(fs.PutIfAbsent(table + "/_change_data/cdc-0.parquet", "feed").ok());
  // Visible at once, durable later: both wait for the commit.
  EXPECT_EQ(*fs.Get(table + "/part-0.parquet"), "rows");
  EXPECT_EQ(fs.DeferredCount(), 2u);
  // A file that is not a PutIfAbsent outside the log (a watermark) is durable on return.
  ASSERT_TRUE(fs.Put(dir / "watermarks/1.json", "{}").ok());
  EXPECT_EQ(fs.DeferredCount(), 2u);
  // The commit makes them durable before it is written; so does a copy's commit.
  LocalFileSystem copy = fs;
  ASSERT_TRUE(copy.PutIfAbsent(table + "/_delta_log/00000000000000000000.json", "{}").ok());
  EXPECT_EQ(fs.DeferredCount(), 0u);
  ASSERT_TRUE(fs.PutIfAbsent(table + "/part-1.parquet", "more").ok());
  EXPECT_EQ(fs.DeferredCount(), 1u);
  // Another table's commit (or checkpoint) leaves this table's files to this table's commit.
  std::string other = dir / "t2";
  ASSERT_TRUE(fs.PutIfAbsent(other + "/part-0.parquet", "other").ok());
  ASSERT_TRUE(fs.Put(other + "/_delta_log/_last_checkpoint", "{}").ok());
  EXPECT_EQ(fs.DeferredCount(), 1u);
  ASSERT_TRUE(fs.SyncDeferred().ok());
  EXPECT_EQ(fs.DeferredCount(), 0u);
  // Without the option nothing waits.
  LocalFileSystem plain;
  ASSERT_TRUE(plain.PutIfAbsent(table + "/part-2.parquet", "x").ok());
  EXPECT_EQ(plain.DeferredCount(), 0u);
  // No temporary file is left behind.
  auto listed = fs.List(table);
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (const FileInfo& info : *listed) EXPECT_NE(info.name.front(), '.') << info.name;
}

TEST(LocalFileSystem, ManyDeferredFilesAreSyncedWithoutACommit) {
  testing::ScratchDir dir;
  LocalFileSystem fs{LocalFileSystemOptions{.defer_data_sync = true}};
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(fs.PutIfAbsent(dir / ("t/part-" + std::to_string(i)), "x").ok());
  }
  // The descriptors kept open are bounded (256 at most).
  EXPECT_EQ(fs.DeferredCount(), 300u - 256u);
}

TEST(FaultyFileSystem, AnArmedFaultFiresOnceThenClears) {
  testing::ScratchDir dir;
  LocalFileSystem local;
  FaultyFileSystem fs(local);
  fs.FailNext(FaultyFileSystem::Op::kPutIfAbsent, Status::IOError("disk full"), "commit");
  EXPECT_TRUE(fs.Put(dir / "commit-a", "x").ok());       // other op: unaffected
  EXPECT_TRUE(fs.PutIfAbsent(dir / "other", "x").ok());  // other path: unaffected
  EXPECT_EQ(fs.PendingFaults(), 1u);
  Status failed = fs.PutIfAbsent(dir / "commit-b", "x");
  EXPECT_TRUE(failed.Is(Code::kIOError)) << failed;
  EXPECT_TRUE(fs.Get(dir / "commit-b").status().Is(Code::kNotFound));  // nothing written
  EXPECT_EQ(fs.PendingFaults(), 0u);
  EXPECT_TRUE(fs.PutIfAbsent(dir / "commit-b", "x").ok());
}

TEST(FaultyFileSystem, EveryOperationCanFail) {
  testing::ScratchDir dir;
  LocalFileSystem local;
  FaultyFileSystem fs(local);
  ASSERT_TRUE(fs.Put(dir / "f", "data").ok());
  using Op = FaultyFileSystem::Op;
  for (Op op :
       {Op::kGet, Op::kGetRange, Op::kHead, Op::kPut, Op::kPutIfAbsent, Op::kList, Op::kDelete}) {
    fs.FailNext(op, Status::Unavailable("injected"));
  }
  EXPECT_TRUE(fs.Get(dir / "f").status().Is(Code::kUnavailable));
  EXPECT_TRUE(fs.GetRange(dir / "f", 0, 1).status().Is(Code::kUnavailable));
  EXPECT_TRUE(fs.Head(dir / "f").status().Is(Code::kUnavailable));
  EXPECT_TRUE(fs.Put(dir / "f", "x").Is(Code::kUnavailable));
  EXPECT_TRUE(fs.PutIfAbsent(dir / "g", "x").Is(Code::kUnavailable));
  EXPECT_TRUE(fs.List(dir.path()).status().Is(Code::kUnavailable));
  EXPECT_TRUE(fs.Delete(dir / "f").Is(Code::kUnavailable));
  EXPECT_EQ(*fs.Get(dir / "f"), "data");
}

}  // namespace
}  // namespace freshet::lake
