#include "lake/optimize.h"

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/upsert_writer.h"

namespace freshet::lake {
namespace {

using engine::Value;

Schema KeyedSchema() {
  return *ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"n","type":"long","nullable":true,"metadata":{}}]})json");
}

RowChange Upsert(ChangeOp op, int64_t id, int64_t n) {
  RowChange change;
  change.op = op;
  if (op == ChangeOp::kDelete) {
    change.old_row = {Value::Int(id), Value::Null(), Value::Null()};
  } else {
    change.row = {Value::Int(id), Value::String(fmt::format("v{}-{}", id, n)), Value::Int(n)};
  }
  return change;
}

class OptimizeTest : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(CreateTable(fs_, table_, {KeyedSchema()}).ok());
  }

  // Appends ids [first, first + count) as one file.
  void AppendFile(int64_t first, int64_t count) {
    auto txn = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(txn.ok()) << txn.status();
    auto added = txn->Append(
        fmt::format("SELECT i AS id, 'v' || i || '-0' AS s, 0::BIGINT AS n FROM range({}, {}) t(i)",
                    first, first + count));
    ASSERT_TRUE(added.ok()) << added.status();
    ASSERT_TRUE(txn->Commit().ok());
  }

  // The table's rows as id -> (s, n).
  std::map<int64_t, std::pair<std::string, int64_t>> Contents() { return KeyedRows(); }

  // Deleted share of each live file, by path.
  std::map<std::string, double> DeletedShares() {
    std::map<std::string, double> out;
    auto snapshot = Snapshot::Load(fs_, *connection_, table_);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return out;
    for (const AddFile& add : snapshot->files()) {
      double deleted = add.deletion_vector ? add.deletion_vector->cardinality : 0;
      out[add.path] = deleted / static_cast<double>(add.NumRecords().value_or(1));
    }
    return out;
  }

  // A writer with automatic compaction off, for deleting rows.
  UpsertWriter Writer() {
    UpsertOptions options{{"id"}, false, {}};
    options.compact_file_count = 0;
    options.compact_deleted_share = 0;
    auto writer = UpsertWriter::Open(fs_, *connection_, table_, options);
    EXPECT_TRUE(writer.ok()) << writer.status();
    return std::move(writer).value();
  }

  // Deletes the ids in [first, first + count) that are multiples of `step`.
  void DeleteEvery(UpsertWriter& writer, int64_t first, int64_t count, int64_t step) {
    ChangeBatch batch;
    for (int64_t id = first; id < first + count; id += step) {
      batch.changes.push_back(Upsert(ChangeOp::kDelete, id, 0));
    }
    auto version = writer.Apply(batch);
    ASSERT_TRUE(version.ok()) << version.status();
  }
};

// Files are not small here (small_file_share 0): only those past the per-file deleted share
// are rewritten; the default (share 0) still takes every file with a deleted row.
TEST_F(OptimizeTest, TakesOnlyFilesPastTheirOwnDeletedShare) {
  AppendFile(0, 1000);
  AppendFile(1000, 1000);
  AppendFile(2000, 1000);
  UpsertWriter writer = Writer();
  DeleteEvery(writer, 0, 1000, 2);      // half of the first file
  DeleteEvery(writer, 1000, 1000, 10);  // a tenth of the second
  auto before = Contents();
  ASSERT_EQ(before.size(), 2400u);
  auto shares = DeletedShares();

  OptimizeOptions options;
  options.small_file_share = 0;
  options.min_file_deleted_share = 0.2;
  auto result = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->files_removed, 1);
  EXPECT_EQ(result->files_added, 1);
  EXPECT_EQ(result->deleted_rows_dropped, 500);
  ASSERT_EQ(result->rewrites.size(), 1u);
  EXPECT_EQ(shares.at(result->rewrites[0].inputs.at(0)), 0.5);
  EXPECT_EQ(Contents(), before);
  // Left: the second file with its vector, the third as it was, and the new one.
  std::vector<double> left;
  for (const auto& [path, share] : DeletedShares()) left.push_back(share);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<double>{0, 0, 0.1}));

  // Nothing more is due at 0.2; with the default every file with deleted rows goes.
  options.min_file_deleted_share = 0.2;
  result = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->files_removed, 0);
  options.min_file_deleted_share = 0;
  result = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->files_removed, 1);
  EXPECT_EQ(result->deleted_rows_dropped, 100);
  EXPECT_EQ(Contents(), before);
}

// max_input_bytes bounds one run: the files with the largest deleted share go first, the rest
// in later runs, and the contents never change.
TEST_F(OptimizeTest, BoundsTheInputOfOneRun) {
  for (int64_t file = 0; file < 4; ++file) AppendFile(file * 1000, 1000);
  UpsertWriter writer = Writer();
  // Deleted shares 1/2, 1/3, 1/4, 1/5.
  for (int64_t file = 0; file < 4; ++file) DeleteEvery(writer, file * 1000, 1000, file + 2);
  auto before = Contents();
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok());
  int64_t largest = 0;
  for (const AddFile& add : snapshot->files()) largest = std::max(largest, add.size);

  OptimizeOptions options;
  options.small_file_share = 0;
  options.max_input_bytes = largest * 2;  // two files at most
  std::vector<double> first_shares;
  auto shares = DeletedShares();
  auto result = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->files_removed, 2);
  EXPECT_LE(result->bytes_read, options.max_input_bytes);
  for (const std::string& input : result->rewrites.at(0).inputs) {
    first_shares.push_back(shares.at(input));
  }
  std::sort(first_shares.begin(), first_shares.end());
  EXPECT_NEAR(first_shares.at(0), 1.0 / 3, 0.01);
  EXPECT_NEAR(first_shares.at(1), 1.0 / 2, 0.01);
  EXPECT_EQ(Contents(), before);

  // The next run takes the other two; then nothing is left with deleted rows.
  result = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->files_removed, 2);
  EXPECT_EQ(Contents(), before);
  for (const auto& [path, share] : DeletedShares()) EXPECT_EQ(share, 0) << path;
  result = Optimize(fs_, *connection_, table_, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->files_removed, 0);
}

// Automatic compaction past the table's deleted share: bounded steps follow each other until
// the table is below the threshold, then stop; a threshold met only by files the options leave
// alone starts no compaction at all (no OPTIMIZE commit after every batch).
TEST_F(OptimizeTest, AutomaticCompactionStopsWhenNothingIsLeftToTake) {
  for (int64_t file = 0; file < 4; ++file) AppendFile(file * 1000, 1000);
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok());
  int64_t largest = 0;
  for (const AddFile& add : snapshot->files()) largest = std::max(largest, add.size);

  UpsertOptions options{{"id"}, false, {}};
  options.compact_file_count = 0;
  options.compact_deleted_share = 0.3;
  options.compact_min_deleted_rows = 1;
  options.optimize.small_file_share = 0;
  options.optimize.min_file_deleted_share = 0.2;
  options.optimize.max_input_bytes = largest;  // one file per step
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // 40% of every file deleted in one batch: the table passes 0.3.
  ChangeBatch deletes;
  for (int64_t id = 0; id < 4000; ++id) {
    if (id % 5 < 2) deletes.changes.push_back(Upsert(ChangeOp::kDelete, id, 0));
  }
  ApplyStats stats;
  ASSERT_TRUE(writer->Apply(deletes, &stats).ok());
  int compactions = stats.compacted_version >= 0 ? 1 : 0;
  auto model = Contents();
  ASSERT_EQ(model.size(), 2400u);
  for (int64_t batch_idx = 0; batch_idx < 8; ++batch_idx) {
    int64_t id = 10'000 + batch_idx;
    ASSERT_TRUE(writer->Apply({{Upsert(ChangeOp::kInsert, id, 1)}}, &stats).ok());
    model[id] = {fmt::format("v{}-1", id), 1};
    compactions += stats.compacted_version >= 0 ? 1 : 0;
  }
  // 4 files at 40%: after two steps the table is at 0.2 of its rows (< 0.3); no more.
  EXPECT_EQ(compactions, 2);
  EXPECT_EQ(Contents(), model);

  // Per-file share above the table threshold: files at 0.2-0.4 pass the table's 0.1 but
  // none its own 0.5, so no batch compacts (each writes exactly one version).
  options.compact_deleted_share = 0.1;
  options.optimize.min_file_deleted_share = 0.5;
  options.optimize.max_input_bytes = 0;
  auto strict = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(strict.ok());
  for (int64_t batch_idx = 0; batch_idx < 3; ++batch_idx) {
    Version before = strict->version();
    auto version = strict->Apply({{Upsert(ChangeOp::kUpdate, 2, batch_idx)}}, &stats);
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(*version, before + 1);
    EXPECT_EQ(stats.compacted_version, -1);
  }
}

// Sorted (hash, path, row) of every entry: comparable across indexes with other file ids.
std::vector<std::tuple<uint64_t, std::string, uint32_t>> IndexEntries(const KeyIndex& index) {
  std::vector<std::tuple<uint64_t, std::string, uint32_t>> out;
  for (const auto& [hash, location] : index.Entries()) {
    out.emplace_back(hash, index.FilePath(location.file), location.row);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// UpsertWriter::Compact moves the index entries of the rewritten rows instead of reading the
// files back: the result equals an index built from the compacted files, and the row cache
// still holds exactly the table's rows. Files of several row groups, with deleted rows spread
// over them, check that a compacted file keeps its inputs' order. It runs on another thread's
// connection, as a pipeline's maintenance thread calls it.
TEST_F(OptimizeTest, WriterCompactionLeavesTheIndexAndRowCacheCurrent) {
  AppendFile(0, 300'000);
  AppendFile(300'000, 150'000);
  UpsertOptions options{{"id"}, false, {}};
  options.compact_file_count = 0;
  options.compact_deleted_share = 0;
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::mt19937_64 random(11);
  std::set<int64_t> live;
  for (int64_t id = 0; id < 450'000; ++id) live.insert(id);
  int64_t next_id = 450'000;
  for (int batch_idx = 0; batch_idx < 6; ++batch_idx) {
    ChangeBatch batch;
    for (int change_idx = 0; change_idx < 3000; ++change_idx) {
      uint64_t dice = random() % 10;
      auto id = static_cast<int64_t>(random() % static_cast<uint64_t>(next_id));
      if (dice < 2) {
        batch.changes.push_back(Upsert(ChangeOp::kInsert, next_id, batch_idx));
        live.insert(next_id++);
      } else if (live.count(id) > 0 && dice < 9) {
        batch.changes.push_back(Upsert(ChangeOp::kUpdate, id, batch_idx));
      } else if (live.count(id) > 0) {
        batch.changes.push_back(Upsert(ChangeOp::kDelete, id, batch_idx));
        live.erase(id);
      }
    }
    ASSERT_TRUE(writer->Apply(batch).ok());
  }

  auto check = [&](const std::string& when) {
    auto snapshot = Snapshot::Load(fs_, *connection_, table_);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ(snapshot->version(), writer->version()) << when;
    auto built = BuildKeyIndex(fs_, *connection_, *snapshot, {"id"});
    ASSERT_TRUE(built.ok()) << built.status();
    ASSERT_EQ(writer->index().size(), live.size()) << when;
    EXPECT_TRUE(IndexEntries(writer->index()) == IndexEntries(*built)) << when;
    // Every cached row is the table's row of its key.
    auto sql = ScanSql(fs_, *connection_, *snapshot);
    ASSERT_TRUE(sql.ok());
    auto rows = connection_->Query(*sql);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->rows.size(), live.size());
    size_t cached = 0;
    for (const auto& row : rows->rows) {
      auto hit = writer->row_cache().Get(EncodeKey({row[0]}));
      if (!hit) continue;
      ++cached;
      ASSERT_EQ(*hit, row) << when << " key " << row[0].integer();
    }
    EXPECT_EQ(cached, writer->row_cache().size()) << when;
  };
  check("before");

  auto other_connection = database_->Connect();
  ASSERT_TRUE(other_connection.ok());
  OptimizeOptions optimize;  // every file with deleted rows, and small ones
  Result<OptimizeResult> result = Status::Internal("not run");
  std::thread maintenance([&] { result = writer->Compact(*other_connection, optimize); });
  maintenance.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->files_removed, 8);  // the two loads and six batch files
  EXPECT_EQ(writer->version(), result->version);
  check("after compaction");

  // Batches go on from the moved index; a second compaction moves rows of moved rows.
  ChangeBatch batch;
  for (int64_t id = 0; id < 450'000; id += 997) {
    if (live.count(id) == 0) continue;
    batch.changes.push_back(Upsert(ChangeOp::kUpdate, id, 99));
  }
  ASSERT_TRUE(writer->Apply(batch).ok());
  check("after a batch");
  result = writer->Compact(*connection_, optimize);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->files_removed, 2);
  check("after the second compaction");
  // Nothing due: no commit.
  Version version = writer->version();
  result = writer->Compact(*connection_, optimize);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->files_removed, 0);
  EXPECT_EQ(writer->version(), version);
}

// A compaction staged on an older snapshot (as the pipeline's maintenance thread does, without
// the writer lock) commits on the writer's latest one: rows the writer deleted from its input
// files meanwhile stay deleted, and the index moves. When an input is gone (another writer
// compacted it), nothing is committed and the staged files are deleted.
TEST_F(OptimizeTest, AStagedCompactionCarriesOverRowsDeletedSince) {
  AppendFile(0, 20'000);
  AppendFile(20'000, 10'000);
  UpsertWriter writer = Writer();
  std::mt19937_64 random(3);
  std::map<int64_t, int64_t> model;  // id -> n
  for (int64_t id = 0; id < 30'000; ++id) model[id] = 0;
  auto random_batch = [&](int64_t n) {
    ChangeBatch batch;
    for (int change_idx = 0; change_idx < 2000; ++change_idx) {
      auto id = static_cast<int64_t>(random() % 30'000);
      if (model.count(id) == 0) continue;
      if (random() % 3 == 0) {
        batch.changes.push_back(Upsert(ChangeOp::kDelete, id, n));
        model.erase(id);
      } else {
        batch.changes.push_back(Upsert(ChangeOp::kUpdate, id, n));
        model[id] = n;
      }
    }
    ASSERT_TRUE(writer.Apply(batch).ok());
  };
  auto check = [&](const std::string& when) {
    auto snapshot = Snapshot::Load(fs_, *connection_, table_);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ(snapshot->version(), writer.version()) << when;
    auto built = BuildKeyIndex(fs_, *connection_, *snapshot, {"id"});
    ASSERT_TRUE(built.ok()) << built.status();
    EXPECT_TRUE(IndexEntries(writer.index()) == IndexEntries(*built)) << when;
    std::map<int64_t, int64_t> contents;
    for (const auto& [id, row] : Contents()) contents[id] = row.second;
    EXPECT_EQ(contents, model) << when;
  };
  random_batch(1);
  auto other = database_->Connect();
  ASSERT_TRUE(other.ok());
  OptimizeOptions optimize;  // every file with deleted rows, and small ones
  auto stage = [&]() {
    auto snapshot = Snapshot::Load(fs_, *other, table_);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    auto txn = Transaction::Begin(fs_, *other, *snapshot);
    EXPECT_TRUE(txn.ok()) << txn.status();
    auto staged = StageOptimize(fs_, *other, *txn, optimize);
    EXPECT_TRUE(staged.ok()) << staged.status();
    return std::make_pair(std::move(txn).value(), std::move(staged).value());
  };
  auto [staged, rewritten] = stage();
  EXPECT_EQ(rewritten.files_removed, 3);  // the two loads and the batch's file
  random_batch(2);                        // deletes rows of the staged inputs
  random_batch(3);
  auto committed = writer.CommitStagedCompaction(*other, staged, rewritten);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->files_removed, 3);
  check("after the staged compaction");
  random_batch(4);
  check("after a batch");

  auto [again, again_rewritten] = stage();
  ASSERT_GT(again_rewritten.files_removed, 0);
  ASSERT_TRUE(Optimize(fs_, *connection_, table_, optimize).ok());  // another writer's
  auto discarded = writer.CommitStagedCompaction(*other, again, again_rewritten);
  ASSERT_TRUE(discarded.ok()) << discarded.status();
  EXPECT_EQ(discarded->files_removed, 0);
  for (const AddFile& add : again.staged_adds()) {
    EXPECT_FALSE(std::filesystem::exists(table_ + "/" + add.path)) << add.path;
  }
  check("after a discarded compaction");
  random_batch(5);
  check("after another batch");
}

}  // namespace
}  // namespace freshet::lake
