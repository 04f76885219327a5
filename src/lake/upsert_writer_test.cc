#include "lake/upsert_writer.h"

#include <map>
#include <random>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lake/deletion_vector.h"
#include "lake/optimize.h"
#include "lake/scan.h"
#include "lake/table_test_fixture.h"
#include "lake/test_util.h"

namespace freshet::lake {
namespace {

using engine::Value;

// The model: id -> (s, n).
using Model = std::map<int64_t, std::pair<std::string, int64_t>>;

Schema KeyedSchema() {
  return *ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"n","type":"long","nullable":true,"metadata":{}}]})json");
}

RowChange Change(ChangeOp op, std::vector<Value> row, std::vector<bool> unchanged = {},
                 std::vector<Value> old_row = {}) {
  RowChange change;
  change.op = op;
  change.row = std::move(row);
  change.unchanged = std::move(unchanged);
  change.old_row = std::move(old_row);
  return change;
}
RowChange Insert(int64_t id, const std::string& s, int64_t n) {
  return Change(ChangeOp::kInsert, {Value::Int(id), Value::String(s), Value::Int(n)});
}
RowChange Update(int64_t id, const std::string& s, int64_t n) {
  return Change(ChangeOp::kUpdate, {Value::Int(id), Value::String(s), Value::Int(n)});
}
// An update that leaves `s` unchanged.
RowChange UpdateN(int64_t id, int64_t n) {
  return Change(ChangeOp::kUpdate, {Value::Int(id), Value::Null(), Value::Int(n)},
                {false, true, false});
}
RowChange Delete(int64_t id) {
  return Change(ChangeOp::kDelete, {}, {}, {Value::Int(id), Value::Null(), Value::Null()});
}

class UpsertWriterTest : public testing::LakeTableTest {
 protected:
  void SetUp() override {
    LakeTableTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(CreateTable(fs_, table_, {KeyedSchema()}).ok());
  }

  // The table's contents at `version`, as a model.
  Model Contents(std::optional<Version> version = std::nullopt) { return KeyedRows(version); }
};

TEST_F(UpsertWriterTest, SeveralChangesToOneKeyInOneBatchLastWins) {
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ChangeBatch first{{Insert(1, "a", 1), Insert(2, "b", 2), Insert(3, "c", 3)}};
  ASSERT_EQ(*writer->Apply(first), 1);
  RowChange update = Update(1, "a2", 10);
  RowChange update_again = Update(1, "a3", 11);
  // Key change: 2 becomes 20.
  RowChange rekey = Change(ChangeOp::kUpdate, {Value::Int(20), Value::String("b"), Value::Int(2)},
                           {}, {Value::Int(2), Value::Null(), Value::Null()});
  ChangeBatch second{{update, Delete(3), Insert(3, "c-again", 30), update_again, rekey,
                      Insert(4, "d", 4), Delete(4)}};
  ApplyStats stats;
  auto version = writer->Apply(second, &stats);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(stats.rows_deleted, 3);
  EXPECT_EQ(stats.rows_written, 3);
  EXPECT_EQ(Contents(), (Model{{1, {"a3", 11}}, {3, {"c-again", 30}}, {20, {"b", 2}}}));
  EXPECT_EQ(Contents(1), (Model{{1, {"a", 1}}, {2, {"b", 2}}, {3, {"c", 3}}}));
  EXPECT_EQ(writer->index().size(), 3u);
  // A batch that changes nothing writes nothing.
  EXPECT_EQ(*writer->Apply(ChangeBatch{{Delete(99)}}), 2);
}

TEST_F(UpsertWriterTest, RecordsTheAppTransactionEvenWithoutRowChanges) {
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ChangeBatch batch{{Insert(1, "a", 1)}};
  batch.app_id = "freshet-shop";
  batch.app_version = 1000;
  ASSERT_EQ(*writer->Apply(batch), 1);
  // Nothing to change, but the progress is recorded in a commit of its own.
  ChangeBatch no_rows{{Delete(99)}, "freshet-shop", 2000};
  ASSERT_EQ(*writer->Apply(no_rows), 2);
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->AppVersion("freshet-shop"), 2000);
  auto first = Snapshot::Load(fs_, *connection_, table_, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->AppVersion("freshet-shop"), 1000);
  EXPECT_EQ(Contents(), (Model{{1, {"a", 1}}}));
}

TEST_F(UpsertWriterTest, UnchangedValuesComeFromTheCurrentVersion) {
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok());
  std::string toasted(5000, 'x');
  for (size_t i = 0; i < toasted.size(); i += 7) toasted[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(writer->Apply({{Insert(1, toasted, 1)}}).ok());
  RowChange update = UpdateN(1, 2);
  ASSERT_TRUE(writer->Apply({{update}}).ok());
  EXPECT_EQ(Contents(), (Model{{1, {toasted, 2}}}));
  // Twice in one batch: the second fill takes the batch's own version.
  ASSERT_TRUE(writer->Apply({{update, Update(1, "short", 3), UpdateN(1, 4)}}).ok());
  EXPECT_EQ(Contents(), (Model{{1, {"short", 4}}}));
  EXPECT_TRUE(writer->Apply({{UpdateN(9, 4)}}).status().Is(Code::kInvalidArgument));
}

// Random inserts, updates (some changing the key, some leaving `s` unchanged) and deletes in
// random batch sizes, checked against a model at every version, time travel included.
TEST_F(UpsertWriterTest, RandomChangesMatchTheModelAtEveryVersion) {
  UpsertOptions options{{"id"}, false, {}};
  options.compact_file_count = 0;
  options.compact_deleted_share = 0;
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(writer.ok());
  std::mt19937_64 random(11);
  Model model;
  std::map<Version, Model> history;
  constexpr int kKeys = 400;
  for (int batch_idx = 0; batch_idx < 25; ++batch_idx) {
    ChangeBatch batch;
    int size = 1 + static_cast<int>(random() % 300);
    for (int change_idx = 0; change_idx < size; ++change_idx) {
      int64_t id = static_cast<int64_t>(random() % kKeys);
      auto it = model.find(id);
      if (it == model.end()) {
        std::string s = fmt::format("s{}-{}", id, random() % 1000);
        auto n = static_cast<int64_t>(random() % 100000);
        batch.changes.push_back(Insert(id, s, n));
        model[id] = {s, n};
      } else if (random() % 4 == 0) {
        batch.changes.push_back(Delete(id));
        model.erase(it);
      } else {
        auto n = static_cast<int64_t>(random() % 100000);
        RowChange change = UpdateN(id, n);
        std::string s = it->second.first;
        if (random() % 3 != 0) {
          s = fmt::format("u{}", random() % 1000);
          change.row[1] = Value::String(s);
          change.unchanged.clear();
        }
        int64_t new_id = id;
        if (random() % 8 == 0) {
          int64_t candidate = static_cast<int64_t>(random() % kKeys);
          if (model.count(candidate) == 0) new_id = candidate;
        }
        if (new_id != id) {
          change.row[0] = Value::Int(new_id);
          change.old_row = {Value::Int(id), Value::Null(), Value::Null()};
          model.erase(id);
        }
        model[new_id] = {s, n};
        batch.changes.push_back(std::move(change));
      }
    }
    auto version = writer->Apply(batch);
    ASSERT_TRUE(version.ok()) << version.status();
    history[*version] = model;
    ASSERT_EQ(writer->index().size(), model.size());
    ASSERT_EQ(Contents(), model) << "version " << *version;
    if (batch_idx % 6 == 5) {  // compaction in between never changes contents
      auto optimized = Optimize(fs_, *connection_, table_);
      ASSERT_TRUE(optimized.ok()) << optimized.status();
      ASSERT_EQ(optimized->version, *version + 1);
      EXPECT_GT(optimized->files_removed, 1);
      history[optimized->version] = model;
      ASSERT_EQ(Contents(), model) << "optimized version " << optimized->version;
      auto snapshot = Snapshot::Load(fs_, *connection_, table_);
      ASSERT_TRUE(snapshot.ok());
      ASSERT_EQ(snapshot->files().size(), 1u);
      EXPECT_FALSE(snapshot->files()[0].deletion_vector.has_value());
      EXPECT_FALSE(snapshot->files()[0].data_change);
      EXPECT_EQ(snapshot->commit_info()->operation, "OPTIMIZE");
    }
  }
  for (const auto& [version, expected] : history) {
    EXPECT_EQ(Contents(version), expected) << "version " << version;
  }
  // A second writer opening the table builds the same index.
  auto reopened = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->index().size(), model.size());
  auto snapshot = Snapshot::Load(fs_, *connection_, table_);
  ASSERT_TRUE(snapshot.ok());
  int with_dv = 0;
  for (const AddFile& add : snapshot->files()) with_dv += add.deletion_vector ? 1 : 0;
  EXPECT_GT(with_dv, 0);
  // A table with nothing to compact is left alone.
  auto once = Optimize(fs_, *connection_, table_);
  ASSERT_TRUE(once.ok());
  auto twice = Optimize(fs_, *connection_, table_);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->version, once->version);
  EXPECT_EQ(twice->files_removed, 0);
  EXPECT_EQ(Contents(), model);
}

// A text key is not exact by its hash: the writer settles it with a complete row cache (no
// reads), else by reading candidates from the data files. Random batches (inserts, updates,
// deletes, key changes) give the model's contents with the cache complete, partial and off.
TEST_F(UpsertWriterTest, TextKeysMatchTheModelWithAndWithoutTheRowCache) {
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"k","type":"string","nullable":false,"metadata":{}},
    {"name":"v","type":"long","nullable":true,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok());
  struct Setup {
    const char* name;
    size_t cache_bytes;
  };
  for (Setup setup :
       {Setup{"complete", size_t{64} << 20}, Setup{"partial", size_t{1} << 20}, Setup{"off", 0}}) {
    SCOPED_TRACE(setup.name);
    std::string table = table_ + "-" + setup.name;
    CreateTableOptions create{*schema};
    create.configuration["delta.enableChangeDataFeed"] = "true";  // whole rows are read
    ASSERT_TRUE(CreateTable(fs_, table, create).ok());
    UpsertOptions options{{"k"}, false, {}};
    options.row_cache_bytes = setup.cache_bytes;
    auto writer = UpsertWriter::Open(fs_, *connection_, table, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::mt19937_64 random(5);
    std::map<std::string, int64_t> model;
    int64_t rows_read = 0;
    // Long keys: a partial cache of 1 MB holds only some of them.
    auto key_of = [](uint64_t n) { return fmt::format("{:0>400}", n); };
    for (int batch_idx = 0; batch_idx < 20; ++batch_idx) {
      ChangeBatch batch;
      for (int change_idx = 0; change_idx < 400; ++change_idx) {
        std::string key = key_of(random() % 3000);
        auto v = static_cast<int64_t>(random() % 1000);
        auto it = model.find(key);
        RowChange change;
        if (it == model.end()) {
          change = Change(ChangeOp::kInsert, {Value::String(key), Value::Int(v)});
          model[key] = v;
        } else if (random() % 5 == 0) {
          change = Change(ChangeOp::kDelete, {}, {}, {Value::String(key), Value::Null()});
          model.erase(it);
        } else {
          std::string target = key_of(random() % 3000);
          if (random() % 6 != 0 || model.count(target) > 0) target = key;
          change = Change(ChangeOp::kUpdate, {Value::String(target), Value::Int(v)}, {},
                          {Value::String(key), Value::Null()});
          model.erase(key);
          model[target] = v;
        }
        batch.changes.push_back(std::move(change));
      }
      ApplyStats stats;
      auto version = writer->Apply(batch, &stats);
      ASSERT_TRUE(version.ok()) << version.status();
      rows_read += stats.rows_read;
      auto snapshot = Snapshot::Load(fs_, *connection_, table);
      ASSERT_TRUE(snapshot.ok());
      auto sql = ScanSql(fs_, *connection_, *snapshot);
      ASSERT_TRUE(sql.ok());
      auto result = connection_->Query("SELECT k, v FROM (" + *sql + ") ORDER BY k");
      ASSERT_TRUE(result.ok()) << result.status();
      std::map<std::string, int64_t> contents;
      for (const auto& row : result->rows) contents[row[0].string()] = row[1].integer();
      ASSERT_EQ(result->rows.size(), contents.size()) << "duplicate keys";
      ASSERT_EQ(contents, model) << "batch " << batch_idx;
    }
    if (setup.cache_bytes > (size_t{1} << 20)) {
      EXPECT_EQ(rows_read, 0);
    } else {
      EXPECT_GT(rows_read, 0);
    }
  }
}

// A table without key whose identity is the whole row: duplicates stay duplicates, and an
// update or delete removes one of several equal rows.
TEST_F(UpsertWriterTest, FullRowIdentityKeepsDuplicates) {
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{}, false, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::mt19937_64 random(5);
  std::multiset<std::tuple<int64_t, std::string, int64_t>> model;
  auto values = [](const std::tuple<int64_t, std::string, int64_t>& row) {
    return std::vector<Value>{Value::Int(std::get<0>(row)), Value::String(std::get<1>(row)),
                              Value::Int(std::get<2>(row))};
  };
  std::map<Version, std::multiset<std::tuple<int64_t, std::string, int64_t>>> history;
  for (int batch_idx = 0; batch_idx < 12; ++batch_idx) {
    ChangeBatch batch;
    for (int change_idx = 0; change_idx < 60; ++change_idx) {
      // Few distinct rows, so that duplicates are common.
      std::tuple<int64_t, std::string, int64_t> row{static_cast<int64_t>(random() % 4), "x",
                                                    static_cast<int64_t>(random() % 3)};
      uint64_t op = model.empty() ? 0 : random() % 3;
      if (op == 0) {
        batch.changes.push_back(Change(ChangeOp::kInsert, values(row)));
        model.insert(row);
        continue;
      }
      auto victim = std::next(model.begin(), static_cast<long>(random() % model.size()));
      auto old_row = *victim;
      model.erase(victim);
      if (op == 1) {
        batch.changes.push_back(Change(ChangeOp::kDelete, {}, {}, values(old_row)));
      } else {
        // Leave `s` unchanged: it comes from the old image.
        std::vector<Value> new_values = values(row);
        new_values[1] = Value::Null();
        batch.changes.push_back(
            Change(ChangeOp::kUpdate, new_values, {false, true, false}, values(old_row)));
        std::get<1>(row) = std::get<1>(old_row);
        model.insert(row);
      }
    }
    auto version = writer->Apply(batch);
    ASSERT_TRUE(version.ok()) << version.status();
    history[*version] = model;
  }
  for (const auto& [version, expected] : history) {
    auto snapshot = Snapshot::Load(fs_, *connection_, table_, version);
    ASSERT_TRUE(snapshot.ok());
    auto result =
        connection_->Query("SELECT id, s, n FROM (" + *ScanSql(fs_, *connection_, *snapshot) + ")");
    ASSERT_TRUE(result.ok()) << result.status();
    std::multiset<std::tuple<int64_t, std::string, int64_t>> contents;
    for (const auto& row : result->rows) {
      contents.insert({row[0].integer(), row[1].string(), row[2].integer()});
    }
    EXPECT_EQ(contents, expected) << "version " << version;
  }
  EXPECT_EQ(writer->index().size(), model.size());
}

TEST_F(UpsertWriterTest, AppendOnlyKeepsEveryChangeWithItsOperationAndLsn) {
  std::string history_table = dir_ / "history";
  auto schema = ParseSchema(R"json({"type":"struct","fields":[
    {"name":"id","type":"long","nullable":false,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"_freshet_op","type":"string","nullable":false,"metadata":{}},
    {"name":"_freshet_lsn","type":"long","nullable":false,"metadata":{}}]})json");
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE(CreateTable(fs_, history_table, {*schema}).ok());
  auto writer = UpsertWriter::Open(fs_, *connection_, history_table, {{"id"}, true, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  RowChange insert = Change(ChangeOp::kInsert, {Value::Int(1), Value::String("a")});
  insert.lsn = 100;
  RowChange update = Change(ChangeOp::kUpdate, {Value::Int(1), Value::String("b")});
  update.lsn = 200;
  RowChange remove = Change(ChangeOp::kDelete, {}, {}, {Value::Int(1), Value::Null()});
  remove.lsn = 300;
  ASSERT_TRUE(writer->Apply({{insert, update}}).ok());
  ASSERT_TRUE(writer->Apply({{remove}}).ok());
  auto snapshot = Snapshot::Load(fs_, *connection_, history_table);
  ASSERT_TRUE(snapshot.ok());
  auto result =
      connection_->Query("SELECT id, coalesce(s, '-'), _freshet_op, _freshet_lsn FROM (" +
                         *ScanSql(fs_, *connection_, *snapshot) + ") ORDER BY _freshet_lsn");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 3u);
  EXPECT_EQ(result->rows[0][1].string(), "a");
  EXPECT_EQ(result->rows[0][2].string(), "insert");
  EXPECT_EQ(result->rows[1][1].string(), "b");
  EXPECT_EQ(result->rows[1][2].string(), "update");
  EXPECT_EQ(result->rows[2][1].string(), "-");
  EXPECT_EQ(result->rows[2][2].string(), "delete");
  EXPECT_EQ(result->rows[2][3].integer(), 300);
  // A table without the two columns is refused.
  EXPECT_TRUE(UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, true, {}})
                  .status()
                  .Is(Code::kInvalidArgument));
}

TEST_F(UpsertWriterTest, CompactsAutomaticallyPastTheThresholds) {
  UpsertOptions options{{"id"}, false, {}};
  options.compact_file_count = 3;
  options.compact_deleted_share = 0;
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(writer.ok());
  Model model;
  Version compacted = -1;
  for (int64_t batch_idx = 0; batch_idx < 4; ++batch_idx) {
    ApplyStats stats;
    ASSERT_TRUE(writer->Apply({{Insert(batch_idx, "x", batch_idx)}}, &stats).ok());
    model[batch_idx] = {"x", batch_idx};
    if (stats.compacted_version >= 0) compacted = stats.compacted_version;
  }
  EXPECT_EQ(compacted, 5);  // four inserts made four files; compaction followed the fourth
  EXPECT_EQ(Contents(), model);
  // Deleted share: one of two rows deleted is more than 30%.
  // Two of four rows deleted is over 30% but below the default minimum of deleted rows: no
  // compaction yet.
  options.compact_file_count = 0;
  options.compact_deleted_share = 0.3;
  {
    auto small = UpsertWriter::Open(fs_, *connection_, table_, options);
    ASSERT_TRUE(small.ok());
    ApplyStats stats;
    ASSERT_TRUE(small->Apply({{Delete(0), Delete(1)}}, &stats).ok());
    EXPECT_EQ(stats.compacted_version, -1);
    model.erase(0);
    model.erase(1);
  }
  options.compact_min_deleted_rows = 1;
  auto second = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(second.ok());
  ApplyStats stats;
  ASSERT_TRUE(second->Apply({{Update(2, "y", 2)}}, &stats).ok());
  model[2] = {"y", 2};
  EXPECT_EQ(stats.compacted_version, 8);  // 3 of 5 rows deleted
  EXPECT_EQ(Contents(), model);
  ASSERT_TRUE(second->Apply({{Update(3, "z", 3)}}).ok());
  model[3] = {"z", 3};
  EXPECT_EQ(Contents(), model);
  EXPECT_EQ(second->index().size(), model.size());
}

TEST_F(UpsertWriterTest, TruncateEmptiesTheTableForTheRestOfTheBatch) {
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, {{"id"}, false, {}});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->Apply({{Insert(1, "a", 1), Insert(2, "b", 2)}}).ok());
  RowChange truncate;
  truncate.op = ChangeOp::kTruncate;
  auto version =
      writer->Apply({{Insert(3, "c", 3), truncate, Insert(4, "d", 4), Update(4, "e", 5)}});
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(Contents(), (Model{{4, {"e", 5}}}));
  EXPECT_EQ(Contents(*version - 1), (Model{{1, {"a", 1}}, {2, {"b", 2}}}));
  EXPECT_EQ(writer->index().size(), 1u);
  ASSERT_TRUE(writer->Apply({{Delete(4), Insert(1, "z", 0)}}).ok());
  EXPECT_EQ(Contents(), (Model{{1, {"z", 0}}}));
  ASSERT_TRUE(writer->Apply({{truncate}}).ok());
  EXPECT_EQ(Contents(), Model{});
}

// The KeyIndex learns each new data file from the rows the writer staged instead of reading it
// back; with keys touched several times per batch (so the file's row order, which with the
// feed follows the changes, differs from first-touch order) it equals an index built from the
// files, with and without the change data feed.
TEST_F(UpsertWriterTest, IndexFromStagedRowsEqualsAnIndexBuiltFromTheFiles) {
  for (bool feed : {false, true}) {
    std::string table = dir_ / (feed ? "with_feed" : "without_feed");
    std::map<std::string, std::string> configuration;
    if (feed) configuration["delta.enableChangeDataFeed"] = "true";
    ASSERT_TRUE(CreateTable(fs_, table, {KeyedSchema(), {}, configuration}).ok());
    UpsertOptions options{{"id"}, false, {}};
    options.compact_file_count = 0;
    options.compact_deleted_share = 0;
    auto writer = UpsertWriter::Open(fs_, *connection_, table, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::mt19937_64 random(feed ? 7 : 8);
    std::set<int64_t> live;
    constexpr int kKeys = 300;
    for (int batch_idx = 0; batch_idx < 12; ++batch_idx) {
      ChangeBatch batch;
      for (int change_idx = 0; change_idx < 400; ++change_idx) {
        auto id = static_cast<int64_t>(random() % kKeys);
        auto n = static_cast<int64_t>(random());
        if (live.count(id) == 0) {
          batch.changes.push_back(Insert(id, fmt::format("i{}", n), n));
          live.insert(id);
        } else if (random() % 5 == 0) {
          batch.changes.push_back(Delete(id));
          live.erase(id);
        } else {
          batch.changes.push_back(Update(id, fmt::format("u{}", n), n));
        }
      }
      auto version = writer->Apply(batch);
      ASSERT_TRUE(version.ok()) << version.status();
      auto snapshot = Snapshot::Load(fs_, *connection_, table);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      auto built = BuildKeyIndex(fs_, *connection_, *snapshot, {"id"});
      ASSERT_TRUE(built.ok()) << built.status();
      ASSERT_EQ(writer->index().size(), live.size());
      ASSERT_EQ(built->size(), live.size());
      std::vector<std::string> keys;
      for (int64_t id = 0; id < kKeys; ++id) keys.push_back(EncodeKey({Value::Int(id)}));
      auto ours = writer->index().Find(
          keys, DataFileKeyReader(*connection_, *snapshot, writer->index(), {"id"}));
      auto theirs = built->Find(keys, DataFileKeyReader(*connection_, *snapshot, *built, {"id"}));
      ASSERT_TRUE(ours.ok() && theirs.ok());
      for (int64_t id = 0; id < kKeys; ++id) {
        const auto& mine = (*ours)[static_cast<size_t>(id)];
        const auto& file = (*theirs)[static_cast<size_t>(id)];
        ASSERT_EQ(mine.has_value(), file.has_value()) << "key " << id;
        ASSERT_EQ(mine.has_value(), live.count(id) > 0) << "key " << id;
        if (!mine) continue;
        EXPECT_EQ(writer->index().FilePath(mine->file), built->FilePath(file->file))
            << "key " << id << " batch " << batch_idx;
        EXPECT_EQ(mine->row, file->row) << "key " << id << " batch " << batch_idx;
      }
    }
  }
}

// The deletion vectors a writer keeps from its own commits equal the ones on disk after every
// batch; when another writer changes a vector, the next batch drops them and merges into the
// vector as it is on disk.
TEST_F(UpsertWriterTest, KeptDeletionVectorsEqualTheFilesAndAreDroppedForOtherWriters) {
  UpsertOptions options{{"id"}, false, {}};
  options.compact_file_count = 0;
  options.compact_deleted_share = 0;
  auto writer = UpsertWriter::Open(fs_, *connection_, table_, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  Model model;
  // Every vector kept equals the file's; `all`: every file's vector is kept, else `path`'s.
  auto check = [&](int batch_idx, bool all, const std::string& path = "") {
    auto snapshot = Snapshot::Load(fs_, *connection_, table_);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    int vectors = 0;
    for (const AddFile& add : snapshot->files()) {
      if (!add.deletion_vector) continue;
      auto on_disk = LoadDeletionVector(fs_, table_, *add.deletion_vector);
      ASSERT_TRUE(on_disk.ok()) << on_disk.status();
      std::optional<std::vector<uint64_t>> kept = writer->TEST_DeletionVector(add.path);
      if (all || add.path == path) {
        ASSERT_TRUE(kept.has_value()) << add.path << " batch " << batch_idx;
      }
      if (kept) {
        EXPECT_EQ(*kept, *on_disk) << add.path << " batch " << batch_idx;
      }
      ++vectors;
    }
    EXPECT_GT(vectors, 0) << "batch " << batch_idx;
    EXPECT_EQ(Contents(), model) << "batch " << batch_idx;
  };
  ChangeBatch load;
  for (int64_t id = 0; id < 300; ++id) {
    load.changes.push_back(Insert(id, "s", id));
    model[id] = {"s", id};
  }
  ASSERT_TRUE(writer->Apply(load).ok());
  std::mt19937_64 random(5);
  auto random_batch = [&]() {
    ChangeBatch batch;
    for (int change_idx = 0; change_idx < 60; ++change_idx) {
      auto id = static_cast<int64_t>(random() % 300);
      auto n = static_cast<int64_t>(random() % 1000);
      if (model.count(id) == 0) {
        batch.changes.push_back(Insert(id, "i", n));
        model[id] = {"i", n};
      } else if (random() % 4 == 0) {
        batch.changes.push_back(Delete(id));
        model.erase(id);
      } else {
        batch.changes.push_back(UpdateN(id, n));
        model[id].second = n;
      }
    }
    return batch;
  };
  for (int batch_idx = 0; batch_idx < 6; ++batch_idx) {
    ASSERT_TRUE(writer->Apply(random_batch()).ok());
    check(batch_idx, true);
  }

  // Another writer deletes one more row of the first file, which has a vector already.
  int64_t victim = model.begin()->first;
  auto found = writer->index().Find({EncodeKey({Value::Int(victim)})}, nullptr);
  ASSERT_TRUE(found.ok() && (*found)[0].has_value());
  std::string path = writer->index().FilePath((*found)[0]->file);
  {
    auto other = Transaction::Begin(fs_, *connection_, table_);
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_TRUE(other->DeleteRows(path, {(*found)[0]->row}).ok());
    ASSERT_TRUE(other->Commit("DELETE").ok());
  }
  model.erase(victim);
  // Every live key of that file but one is updated, so the batch merges into its changed
  // vector (and the file stays).
  ChangeBatch batch;
  for (auto& [id, row] : model) {
    auto location = writer->index().Find({EncodeKey({Value::Int(id)})}, nullptr);
    ASSERT_TRUE(location.ok() && (*location)[0].has_value());
    if (writer->index().FilePath((*location)[0]->file) != path) continue;
    batch.changes.push_back(UpdateN(id, row.second + 1));
    ++row.second;
  }
  ASSERT_GT(batch.changes.size(), 1u);
  --model[batch.changes.back().row[0].integer()].second;
  batch.changes.pop_back();
  ASSERT_TRUE(writer->Apply(batch).ok());
  check(100, false, path);
  ASSERT_TRUE(writer->Apply(random_batch()).ok());
  check(101, false);
}

TEST(ValueSqlLiteralTest, RendersValues) {
  EXPECT_EQ(ValueSqlLiteral(Value::Null()), "NULL");
  EXPECT_EQ(ValueSqlLiteral(Value::String("it's")), "'it''s'");
  EXPECT_EQ(ValueSqlLiteral(Value{Value::Kind::kDecimal, engine::Decimal{-5, 10, 3}}), "'-0.005'");
  EXPECT_EQ(ValueSqlLiteral(Value{Value::Kind::kDecimal, engine::Decimal{12345, 10, 2}}),
            "'123.45'");
}

}  // namespace
}  // namespace freshet::lake
