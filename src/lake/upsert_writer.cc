#include "lake/upsert_writer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "common/sql_quote.h"
#include "engine/appender.h"
#include "lake/change_feed.h"
#include "lake/deletion_vector.h"
#include "lake/export.h"
#include "lake/paths.h"
#include "lake/scan.h"

namespace freshet::lake {
namespace {

using engine::Row;
using engine::Value;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Int128Text(engine::Int128 value) {
  bool negative = value < 0;
  auto magnitude =
      negative ? -static_cast<engine::UInt128>(value) : static_cast<engine::UInt128>(value);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string DecimalText(const engine::Decimal& decimal) {
  std::string digits = Int128Text(decimal.unscaled);
  if (decimal.scale == 0) return digits;
  bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  if (digits.size() <= decimal.scale) digits.insert(0, decimal.scale - digits.size() + 1, '0');
  digits.insert(digits.size() - decimal.scale, ".");
  return (negative ? "-" : "") + digits;
}

// One key's state while a batch is simulated.
struct KeyState {
  std::optional<RowLocation> lake;  // its live row in the table before the batch
  bool lake_replaced = false;       // the batch deleted or replaced that row version
  const Row* lake_row = nullptr;    // that row, when taken from the row cache
  const Row* current = nullptr;     // the batch's version (when lake_replaced), if any
  size_t feed_index = 0;            // with the feed: the feed row that holds `current`
};

// The ids of a batch's keys: an open-addressing table of (hash, id) over `keys` (no node per
// key, as std::unordered_map would allocate), sized once for the batch.
class KeyIds {
 public:
  explicit KeyIds(size_t most_keys) {
    size_t capacity = 16;
    while (capacity < most_keys * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
  }
  // The id of `key` (its index in `keys`), appending it to `keys` when new.
  std::pair<uint32_t, bool> Intern(std::string key, std::vector<std::string>& keys) {
    uint64_t hash = HashKey(key);
    size_t slot = Probe(key, hash, keys);
    if (slots_[slot].id != kNone) return {slots_[slot].id, false};
    if ((keys.size() + 1) * 2 > slots_.size()) {
      Grow();
      slot = Probe(key, hash, keys);
    }
    auto id = static_cast<uint32_t>(keys.size());
    slots_[slot] = Slot{hash, id};
    keys.push_back(std::move(key));
    return {id, true};
  }
  std::optional<uint32_t> Find(std::string_view key, const std::vector<std::string>& keys) const {
    uint32_t id = slots_[Probe(key, HashKey(key), keys)].id;
    if (id == kNone) return std::nullopt;
    return id;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    uint64_t hash = 0;
    uint32_t id = kNone;
  };
  // The slot holding `key`, else the empty slot where it would go.
  size_t Probe(std::string_view key, uint64_t hash, const std::vector<std::string>& keys) const {
    size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      const Slot& entry = slots_[slot];
      if (entry.id == kNone || (entry.hash == hash && keys[entry.id] == key)) return slot;
    }
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const Slot& entry : old) {
      if (entry.id == kNone) continue;
      size_t slot = entry.hash & mask;
      while (slots_[slot].id != kNone) slot = (slot + 1) & mask;
      slots_[slot] = entry;
    }
  }
  std::vector<Slot> slots_;
};

// Days since 1970-01-01 as a civil date (proleptic Gregorian; H. Hinnant's algorithm).
std::string CivilDate(int64_t days) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  auto day_of_era = static_cast<uint64_t>(days - era * 146097);
  uint64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t year = static_cast<int64_t>(year_of_era) + era * 400;
  uint64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  uint64_t shifted_month = (5 * day_of_year + 2) / 153;
  uint64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  uint64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  if (month <= 2) ++year;
  return fmt::format("{:04d}-{:02d}-{:02d}", year, month, day);
}

// The literal of `value` for a staging INSERT: dates and timestamps as plain ISO strings
// (INSERT casts them to the column type), which DuckDB parses and binds much faster than the
// expressions ValueSqlLiteral builds; everything else as ValueSqlLiteral.
std::string StagingLiteral(const Value& value) {
  constexpr int64_t kMicrosPerDay = int64_t{86'400'000'000};
  switch (value.kind) {
    case Value::Kind::kDate:
      if (value.integer() < -700000 || value.integer() > 2900000) break;  // outside 0000-9999
      return "'" + CivilDate(value.integer()) + "'";
    case Value::Kind::kTimestamp:
    case Value::Kind::kTimestampTz: {
      int64_t micros = value.integer();
      int64_t days = micros / kMicrosPerDay;
      int64_t rest = micros % kMicrosPerDay;
      if (rest < 0) {
        rest += kMicrosPerDay;
        --days;
      }
      if (days < -700000 || days > 2900000) break;
      int64_t seconds = rest / 1'000'000;
      return fmt::format("'{} {:02d}:{:02d}:{:02d}.{:06d}{}'", CivilDate(days), seconds / 3600,
                         seconds / 60 % 60, seconds % 60, rest % 1'000'000,
                         value.kind == Value::Kind::kTimestampTz ? "+00" : "");
    }
    default:
      break;
  }
  return ValueSqlLiteral(value);
}

}  // namespace

std::string ValueSqlLiteral(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNull:
      return "NULL";
    case Value::Kind::kBool:
      return value.integer() != 0 ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(value.integer());
    case Value::Kind::kUInt:
      return std::to_string(value.unsigned_integer());
    case Value::Kind::kDouble: {
      double real = value.real();
      if (std::isnan(real)) return "'nan'::DOUBLE";
      if (std::isinf(real)) return real > 0 ? "'inf'::DOUBLE" : "'-inf'::DOUBLE";
      return fmt::format("{}::DOUBLE", real);
    }
    case Value::Kind::kString:
      return QuoteLiteral(value.string());
    case Value::Kind::kBlob: {
      std::string hex;
      for (unsigned char byte : value.string()) hex += fmt::format("{:02x}", byte);
      return fmt::format("from_hex('{}')", hex);
    }
    case Value::Kind::kDate:
      return fmt::format("(DATE '1970-01-01' + {}::INTEGER)", value.integer());
    case Value::Kind::kTime:
      return fmt::format("(TIME '00:00:00' + to_microseconds({}))", value.integer());
    case Value::Kind::kTimestamp:
      return fmt::format("(TIMESTAMP '1970-01-01 00:00:00' + to_microseconds({}))",
                         value.integer());
    case Value::Kind::kTimestampTz:
      return fmt::format("(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds({}))",
                         value.integer());
    case Value::Kind::kDecimal:
      return fmt::format("'{}'", DecimalText(value.decimal()));
    case Value::Kind::kHugeInt:
      return fmt::format("{}::HUGEINT", Int128Text(value.decimal().unscaled));
    case Value::Kind::kList: {
      std::string out;
      for (const Value& element : value.list()) {
        out += (out.empty() ? "" : ", ") + ValueSqlLiteral(element);
      }
      return "[" + out + "]";
    }
    case Value::Kind::kStruct: {
      std::string out;
      for (const auto& [name, field] : value.fields()) {
        out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", QuoteLiteral(name),
                           ValueSqlLiteral(field));
      }
      return "{" + out + "}";
    }
    case Value::Kind::kMap: {
      std::string out;
      for (const auto& [name, field] : value.fields()) {
        out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", QuoteLiteral(name),
                           ValueSqlLiteral(field));
      }
      return "MAP {" + out + "}";
    }
  }
  return "NULL";
}

Result<UpsertWriter> UpsertWriter::Open(FileSystem& fs, engine::Connection& connection,
                                        const std::string& table_path, UpsertOptions options) {
  UpsertWriter writer(fs, connection, table_path, std::move(options));
  // Without the checkpoint's tombstones: the writer's snapshot carries those since, for its
  // own checkpoints (Snapshot::Advance).
  FRESHET_ASSIGN_OR_RETURN(Snapshot snapshot, Snapshot::Load(fs, connection, table_path,
                                                             std::nullopt, /*tombstones=*/false));
  FRESHET_RETURN_IF_ERROR(writer.Rebuild(snapshot));
  return writer;
}

Status UpsertWriter::Rebuild(const Snapshot& snapshot, bool contents_changed) {
  if (contents_changed) cache_.Clear();
  const auto& fields = snapshot.schema().fields;
  version_ = snapshot.version();
  data_columns_.clear();
  for (size_t position = 0; position < fields.size(); ++position) {
    const std::string& name = fields[position].name;
    if (options_.append_only && (name == kChangeOpColumn || name == kChangeLsnColumn)) continue;
    data_columns_.push_back(position);
  }
  if (options_.append_only) {
    for (const char* column : {kChangeOpColumn, kChangeLsnColumn}) {
      if (snapshot.schema().Find(column) == nullptr) {
        return Status::InvalidArgument("append-only table {} has no column {}", table_path_,
                                       column);
      }
    }
    return Status::Ok();
  }
  key_positions_.clear();
  index_columns_ = options_.key_columns;
  if (index_columns_.empty()) {  // the whole row is the identity
    for (const StructField& field : fields) index_columns_.push_back(field.name);
  }
  for (const std::string& column : index_columns_) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const StructField& field) { return field.name == column; });
    if (it == fields.end()) {
      return Status::NotFound("key column {} is not in the schema of {}", column, table_path_);
    }
    key_positions_.push_back(static_cast<size_t>(it - fields.begin()));
  }
  FRESHET_ASSIGN_OR_RETURN(index_, BuildKeyIndex(*fs_, *connection_, snapshot, index_columns_));
  if (contents_changed) FRESHET_RETURN_IF_ERROR(WarmRowCache(snapshot));
  return Status::Ok();
}

Status UpsertWriter::WarmRowCache(const Snapshot& snapshot) {
  cache_complete_ = false;
  if (cache_.budget_bytes() == 0) return Status::Ok();
  // Decoded rows take more room than their Parquet files; a table whose files take more than
  // half the budget is left to fill the cache as batches touch it.
  int64_t file_bytes = 0;
  for (const AddFile& add : snapshot.files()) file_bytes += add.size;
  if (static_cast<size_t>(file_bytes) * 2 > cache_.budget_bytes()) return Status::Ok();
  cache_complete_ = true;
  if (snapshot.files().empty()) return Status::Ok();
  FRESHET_ASSIGN_OR_RETURN(std::string sql, ScanSql(*fs_, *connection_, snapshot));
  FRESHET_ASSIGN_OR_RETURN(engine::PreparedStatement statement, connection_->Prepare(sql));
  FRESHET_ASSIGN_OR_RETURN(engine::RowStream stream, statement.Execute());
  std::vector<Row> rows;
  while (true) {
    rows.clear();
    FRESHET_ASSIGN_OR_RETURN(bool more, stream.Next(&rows));
    if (!more) break;
    for (const Row& row : rows) cache_complete_ &= cache_.Put(KeyOf(row), row);
  }
  return Status::Ok();
}

std::string UpsertWriter::KeyOf(const Row& row) const {
  std::string key;
  for (size_t position : key_positions_) AppendKeyValue(row[position], key);
  return key;
}

Status UpsertWriter::Validate(const ChangeBatch& batch, size_t width) const {
  for (size_t change_idx = 0; change_idx < batch.changes.size(); ++change_idx) {
    const RowChange& change = batch.changes[change_idx];
    if (change.op == ChangeOp::kTruncate) continue;
    bool needs_row = change.op != ChangeOp::kDelete;
    if (needs_row && change.row.size() != width) {
      return Status::InvalidArgument("change {} has {} values for {} columns of {}", change_idx,
                                     change.row.size(), width, table_path_);
    }
    if (!change.old_row.empty() && change.old_row.size() != width) {
      return Status::InvalidArgument("change {} has an old row of {} values for {} columns",
                                     change_idx, change.old_row.size(), width);
    }
    if (!change.unchanged.empty() && change.unchanged.size() != change.row.size()) {
      return Status::InvalidArgument("change {} has {} unchanged flags for {} values", change_idx,
                                     change.unchanged.size(), change.row.size());
    }
    if (!needs_row && change.old_row.empty()) {
      return Status::InvalidArgument("delete {} carries no old row", change_idx);
    }
  }
  return Status::Ok();
}

Result<Transaction> UpsertWriter::BeginTransaction() {
  std::optional<Snapshot> kept = std::move(snapshot_);
  snapshot_.reset();
  if (kept && kept->version() == version_) {
    // Commits are numbered densely, so the next version's commit file tells whether another
    // writer committed since this writer's last commit.
    auto next = fs_->Head(JoinPath(LogPath(table_path_), CommitFileName(version_ + 1)));
    if (!next.ok() && next.status().Is(Code::kNotFound)) {
      return Transaction::Begin(*fs_, *connection_, std::move(*kept), options_.writer);
    }
  }
  return Transaction::Begin(*fs_, *connection_, table_path_, options_.writer);
}

Result<Version> UpsertWriter::Apply(const ChangeBatch& batch, ApplyStats* stats) {
  ApplyStats local;
  Result<Version> applied = ApplyBatch(batch, local);
  if (stats != nullptr) *stats = local;
  return applied;
}

Result<Version> UpsertWriter::ApplyBatch(const ChangeBatch& batch, ApplyStats& stats) {
  auto start = Clock::now();
  FRESHET_ASSIGN_OR_RETURN(Transaction txn, BeginTransaction());
  const Snapshot& snapshot = txn.read_snapshot();
  if (snapshot.version() != version_) FRESHET_RETURN_IF_ERROR(Rebuild(snapshot));
  stats.begin_s = SecondsSince(start);
  start = Clock::now();
  FRESHET_RETURN_IF_ERROR(Validate(batch, data_columns_.size()));
  Plan plan;
  plan.record_feed = ChangeFeedEnabled(snapshot.metadata().configuration);
  if (!batch.app_id.empty()) {
    txn.SetAppTransaction(batch.app_id, batch.app_version);
    plan.app_transaction = true;
  }
  if (options_.append_only) {
    PlanAppendOnly(batch, snapshot, plan);
    stats.plan_s = SecondsSince(start);
    return CommitPlan(txn, plan, stats);
  }
  // A truncate empties the table: the commit removes every file, and only the changes after
  // the last truncate leave rows (the planners replay the whole batch, so the change feed
  // records the changes before it too).
  if (options_.key_columns.empty()) {
    FRESHET_RETURN_IF_ERROR(PlanFullIdentity(batch, snapshot, plan));
  } else {
    FRESHET_RETURN_IF_ERROR(PlanKeyed(batch, snapshot, plan));
  }
  if (plan.truncate) {
    for (const AddFile& add : snapshot.files()) FRESHET_RETURN_IF_ERROR(txn.Remove(add.path));
    plan.deleted.clear();
    plan.deleted_rewritten.clear();
    plan.deleted_row.clear();
    index_ = KeyIndex();  // the table is empty but for this commit's rows
    cache_.Clear();
    cache_complete_ = cache_.budget_bytes() > 0;
    version_ = -1;  // rebuilt on the next batch unless this commit lands
  }
  stats.plan_s = SecondsSince(start);
  FRESHET_ASSIGN_OR_RETURN(Version version, CommitPlan(txn, plan, stats));
  start = Clock::now();
  FRESHET_RETURN_IF_ERROR(MaybeCompact(txn, version, stats));
  stats.compact_s = SecondsSince(start);
  return version;
}

Status UpsertWriter::MaybeCompact(const Transaction& txn, Version version, ApplyStats& stats) {
  if (options_.compact_file_count <= 0 && options_.compact_deleted_share <= 0) {
    return Status::Ok();
  }
  // The table after this commit: the read snapshot with the commit's actions applied, unless
  // other writers committed in between (then it is loaded).
  std::optional<Snapshot> latest;
  std::map<std::string, const AddFile*> live;
  if (version == txn.read_snapshot().version() + 1) {
    for (const AddFile& add : txn.read_snapshot().files()) live[add.path] = &add;
    for (const RemoveFile& remove : txn.staged_removes()) live.erase(remove.path);
    for (const AddFile& add : txn.staged_adds()) live[add.path] = &add;
  } else {
    FRESHET_ASSIGN_OR_RETURN(latest, Snapshot::Load(*fs_, *connection_, table_path_, std::nullopt,
                                                    /*tombstones=*/false));
    for (const AddFile& add : latest->files()) live[add.path] = &add;
  }
  int64_t records = 0;
  int64_t deleted = 0;
  for (const auto& [path, add] : live) {
    records += add->NumRecords().value_or(0);
    if (add->deletion_vector) deleted += add->deletion_vector->cardinality;
  }
  bool too_many_files = options_.compact_file_count > 0 &&
                        static_cast<int64_t>(live.size()) > options_.compact_file_count;
  bool too_many_deleted =
      options_.compact_deleted_share > 0 && records > 0 &&
      deleted >= options_.compact_min_deleted_rows &&
      static_cast<double>(deleted) > options_.compact_deleted_share * static_cast<double>(records);
  if (!too_many_files && !too_many_deleted) return Status::Ok();
  OptimizeOptions optimize = options_.optimize;
  optimize.writer = options_.writer;
  std::vector<const AddFile*> files;
  files.reserve(live.size());
  for (const auto& [path, add] : live) files.push_back(add);
  if (PlanOptimize(files, optimize).empty()) return Status::Ok();
  FRESHET_ASSIGN_OR_RETURN(OptimizeResult result, CompactTable(optimize));
  if (result.files_removed > 0) stats.compacted_version = result.version;
  return Status::Ok();
}

Result<OptimizeResult> UpsertWriter::Compact(engine::Connection& connection,
                                             const OptimizeOptions& options) {
  engine::Connection* own = connection_;
  connection_ = &connection;
  Result<OptimizeResult> result = CompactTable(options);
  connection_ = own;
  return result;
}

Result<OptimizeResult> UpsertWriter::CompactTable(const OptimizeOptions& options) {
  FRESHET_ASSIGN_OR_RETURN(Transaction txn, BeginTransaction());
  if (txn.read_snapshot().version() != version_) {
    FRESHET_RETURN_IF_ERROR(Rebuild(txn.read_snapshot()));
  }
  Version read_version = txn.read_snapshot().version();
  FRESHET_ASSIGN_OR_RETURN(OptimizeResult result, Optimize(*fs_, *connection_, txn, options));
  if (result.files_removed == 0) {
    snapshot_ = txn.read_snapshot();
    return result;
  }
  FRESHET_RETURN_IF_ERROR(FollowCompaction(txn, read_version, result, 0));
  return result;
}

Status UpsertWriter::FollowCompaction(const Transaction& txn, Version read_version,
                                      const OptimizeResult& result, int64_t deleted_since) {
  if (result.version == read_version + 1 && deletion_vectors_version_ == read_version) {
    KeepDeletionVectors(txn, result.version);
  } else {
    deletion_vectors_.clear();
    deletion_vectors_version_ = -1;
  }
  std::optional<Snapshot> compacted;
  if (auto committed = txn.CommittedSnapshot(); committed.ok()) compacted = std::move(*committed);
  if (compacted && result.version == read_version + 1) {
    // Only this commit since the index was current: its rows moved, nothing else changed.
    version_ = result.version;
    if (!options_.append_only && !MoveCompactedRows(result, deleted_since)) {
      FRESHET_RETURN_IF_ERROR(Rebuild(*compacted, /*contents_changed=*/false));
    }
    snapshot_ = std::move(compacted);
    return Status::Ok();
  }
  // Other writers committed in between: their changes are not in the index.
  FRESHET_ASSIGN_OR_RETURN(Snapshot latest,
                           Snapshot::Load(*fs_, *connection_, table_path_, result.version,
                                          /*tombstones=*/false));
  FRESHET_RETURN_IF_ERROR(Rebuild(latest));
  snapshot_ = std::move(latest);
  return Status::Ok();
}

Result<OptimizeResult> UpsertWriter::CommitStagedCompaction(engine::Connection& connection,
                                                            const Transaction& staged,
                                                            OptimizeResult staged_result) {
  engine::Connection* own = connection_;
  connection_ = &connection;
  Result<OptimizeResult> result = CommitRebased(staged, std::move(staged_result));
  connection_ = own;
  return result;
}

Result<OptimizeResult> UpsertWriter::CommitRebased(const Transaction& staged,
                                                   OptimizeResult staged_result) {
  FRESHET_ASSIGN_OR_RETURN(Transaction txn, BeginTransaction());
  const Snapshot& snapshot = txn.read_snapshot();
  if (snapshot.version() != version_) FRESHET_RETURN_IF_ERROR(Rebuild(snapshot));
  OptimizeResult result = std::move(staged_result);
  result.version = snapshot.version();
  // Nothing committed: the writer keeps the snapshot it read, the new files go.
  auto discard = [&]() -> Result<OptimizeResult> {
    snapshot_ = snapshot;
    for (const AddFile& add : staged.staged_adds()) {
      auto path = ResolveDataPath(table_path_, add.path);
      if (path.ok()) (void)fs_->Delete(*path);  // an orphan otherwise, until vacuum
    }
    result.files_removed = 0;
    result.files_added = 0;
    result.rewrites.clear();
    return result;
  };
  if (result.files_removed == 0) return discard();
  if (!(snapshot.metadata() == staged.read_snapshot().metadata())) {
    return discard();  // the new files were written for the schema the staged snapshot had
  }
  // Each new file holds its inputs' rows that were live when staged, in input order; a row
  // deleted since then lands at (rows before its input) + row - (rows deleted before it then).
  int64_t deleted_since = 0;
  for (const OptimizeRewrite& rewrite : result.rewrites) {
    if (rewrite.outputs.size() > 1) return discard();
    std::vector<uint64_t> output_deleted;
    uint64_t offset = 0;
    for (size_t input = 0; input < rewrite.inputs.size(); ++input) {
      const std::string& path = rewrite.inputs[input];
      auto live = std::lower_bound(
          snapshot.files().begin(), snapshot.files().end(), path,
          [](const AddFile& add, const std::string& wanted) { return add.path < wanted; });
      const std::vector<uint64_t>& before = rewrite.deleted[input];
      if (live == snapshot.files().end() || live->path != path ||
          rewrite.input_records[input] < 0) {
        return discard();
      }
      std::vector<uint64_t> now;
      if (live->deletion_vector) {
        FRESHET_ASSIGN_OR_RETURN(now,
                                 LoadDeletionVector(*fs_, table_path_, *live->deletion_vector));
        std::sort(now.begin(), now.end());
      }
      if (!std::includes(now.begin(), now.end(), before.begin(), before.end())) {
        return discard();  // rows deleted when staged are live again: not the file it read
      }
      size_t skipped = 0;  // rows of `before` below the current row
      for (uint64_t row : now) {
        while (skipped < before.size() && before[skipped] < row) ++skipped;
        if (skipped < before.size() && before[skipped] == row) continue;
        output_deleted.push_back(offset + row - skipped);
      }
      offset += static_cast<uint64_t>(rewrite.input_records[input]) - before.size();
      FRESHET_RETURN_IF_ERROR(txn.Remove(path));
    }
    deleted_since += static_cast<int64_t>(output_deleted.size());
    if (!rewrite.outputs.empty()) {
      FRESHET_RETURN_IF_ERROR(txn.AddWrittenFile(rewrite.outputs.front(), output_deleted));
    }
  }
  txn.MarkNoDataChange();
  Version read_version = snapshot.version();
  FRESHET_ASSIGN_OR_RETURN(result.version, txn.Commit("OPTIMIZE"));
  FRESHET_RETURN_IF_ERROR(FollowCompaction(txn, read_version, result, deleted_since));
  return result;
}

void UpsertWriter::KeepDeletionVectors(const Transaction& txn, Version version) {
  std::set<std::string_view> added;
  for (const AddFile& add : txn.staged_adds()) added.insert(add.path);
  for (const RemoveFile& remove : txn.staged_removes()) {
    if (added.count(remove.path) == 0) deletion_vectors_.erase(remove.path);
  }
  deletion_vectors_version_ = version;
}

std::optional<std::vector<uint64_t>> UpsertWriter::TEST_DeletionVector(
    const std::string& path) const {
  if (deletion_vectors_version_ != version_) return std::nullopt;
  auto it = deletion_vectors_.find(path);
  if (it == deletion_vectors_.end()) return std::nullopt;
  return it->second.ToVector();
}

bool UpsertWriter::MoveCompactedRows(const OptimizeResult& result, int64_t deleted_since) {
  // Each new file holds its inputs' live rows in input order: row r of input i lands at
  // (rows before input i) + r - (deleted rows of input i before r). That position is tabled
  // per input row in one pass over its deleted rows, so each index entry moves by a lookup.
  struct Move {
    uint32_t output = 0;
    std::vector<uint32_t> positions;  // per input row; kDeleted for a deleted one
  };
  constexpr uint32_t kDeleted = UINT32_MAX;
  std::vector<std::pair<uint32_t, Move>> pending;
  int64_t moved_rows = 0;
  for (const OptimizeRewrite& rewrite : result.rewrites) {
    if (rewrite.outputs.size() > 1) return false;
    std::optional<uint32_t> output;
    if (!rewrite.outputs.empty()) output = index_.InternFile(rewrite.outputs.front().path);
    int64_t offset = 0;
    for (size_t input = 0; input < rewrite.inputs.size(); ++input) {
      int64_t records = rewrite.input_records[input];
      if (records < 0 || records > UINT32_MAX - 1) return false;
      const std::vector<uint64_t>& deleted = rewrite.deleted[input];
      auto live = records - static_cast<int64_t>(deleted.size());
      if (live > 0 && !output) return false;
      if (offset + live > UINT32_MAX - 1) return false;
      if (auto file = index_.FileId(rewrite.inputs[input])) {
        Move move;
        move.output = output.value_or(0);
        move.positions.resize(static_cast<size_t>(records));
        auto next = static_cast<uint32_t>(offset);
        size_t deleted_idx = 0;
        for (uint64_t row = 0; row < static_cast<uint64_t>(records); ++row) {
          if (deleted_idx < deleted.size() && deleted[deleted_idx] == row) {
            ++deleted_idx;
            move.positions[row] = kDeleted;
          } else {
            move.positions[row] = next++;
          }
        }
        pending.emplace_back(*file, std::move(move));
      }
      offset += live;
    }
    if (output && rewrite.outputs.front().NumRecords().value_or(-1) != offset) return false;
    moved_rows += offset;
  }
  std::vector<const Move*> moves(index_.file_count(), nullptr);
  for (const auto& [file, move] : pending) moves[file] = &move;
  size_t moved = index_.Relocate([&](RowLocation& location) {
    const Move* move = location.file < moves.size() ? moves[location.file] : nullptr;
    if (move == nullptr || location.row >= move->positions.size()) return false;
    uint32_t position = move->positions[location.row];
    if (position == kDeleted) return false;  // counted below: the index is rebuilt
    location = RowLocation{move->output, position};
    return true;
  });
  // Every live row of the inputs has one entry; anything else means the index and the files
  // disagree, and the caller rebuilds it.
  return static_cast<int64_t>(moved) == moved_rows - deleted_since;
}

void UpsertWriter::PlanAppendOnly(const ChangeBatch& batch, const Snapshot& snapshot,
                                  Plan& plan) const {
  const auto& fields = snapshot.schema().fields;
  for (const RowChange& change : batch.changes) {
    const Row& source = change.op == ChangeOp::kDelete ? change.old_row : change.row;
    Row row(fields.size());
    for (size_t column = 0; column < data_columns_.size() && column < source.size(); ++column) {
      bool unchanged = column < change.unchanged.size() && change.unchanged[column];
      // An unchanged value is not in the change; the history keeps it as NULL.
      row[data_columns_[column]] = unchanged ? Value::Null() : source[column];
    }
    for (size_t position = 0; position < fields.size(); ++position) {
      if (fields[position].name == kChangeOpColumn) {
        row[position] = Value::String(change.op == ChangeOp::kInsert   ? "insert"
                                      : change.op == ChangeOp::kUpdate ? "update"
                                      : change.op == ChangeOp::kDelete ? "delete"
                                                                       : "truncate");
      } else if (fields[position].name == kChangeLsnColumn) {
        row[position] = Value::Int(static_cast<int64_t>(change.lsn));
      }
    }
    plan.rows.push_back(plan.Keep(std::move(row)));
  }
}

Result<std::map<std::pair<uint32_t, uint32_t>, Row>> UpsertWriter::ReadRows(
    const Snapshot& snapshot, const std::set<std::pair<uint32_t, uint32_t>>& locations) {
  std::map<std::pair<uint32_t, uint32_t>, Row> out;
  if (locations.empty()) return out;
  std::map<uint32_t, std::vector<uint64_t>> rows_by_file;
  for (const auto& [file, row] : locations) rows_by_file[file].push_back(row);
  std::vector<FileRows> files;
  for (auto& [file, rows] : rows_by_file) {
    const std::string& path = index_.FilePath(file);
    auto add = std::lower_bound(snapshot.files().begin(), snapshot.files().end(), path,
                                [](const AddFile& candidate, const std::string& wanted) {
                                  return candidate.path < wanted;
                                });
    if (add == snapshot.files().end() || add->path != path) {
      return Status::Internal("{} is not a live file of version {} of {}", path, snapshot.version(),
                              table_path_);
    }
    files.push_back(FileRows{.path = path,
                             .partition_values = add->partition_values,
                             .rows = std::move(rows),
                             .tag = file});
  }
  auto result = ReadFileRows(*connection_, snapshot, files, &schema_cache_);
  if (!result.ok()) return result.status().WithContext("current rows of " + table_path_);
  size_t width = snapshot.schema().fields.size();
  for (Row& row : result->rows) {
    auto file = static_cast<uint32_t>(row[width].integer());
    auto position = static_cast<uint32_t>(row[width + 1].integer());
    row.resize(width);
    out[{file, position}] = std::move(row);
  }
  return out;
}

Result<std::vector<Row>> UpsertWriter::ReadAllRows(const Snapshot& snapshot) {
  FRESHET_ASSIGN_OR_RETURN(std::string sql, ScanSql(*fs_, *connection_, snapshot));
  auto result = connection_->Query(sql);
  if (!result.ok()) return result.status().WithContext("rows of " + table_path_);
  return std::move(result->rows);
}

Status UpsertWriter::PlanKeyed(const ChangeBatch& batch, const Snapshot& snapshot, Plan& plan) {
  const auto& fields = snapshot.schema().fields;
  const bool feed = plan.record_feed;
  // Every key the batch touches gets an id (its index in `keys` and `states`, in first-touch
  // order); each change names the ids of its key before (old_row, else row) and after (row).
  constexpr uint32_t kNoKey = UINT32_MAX;
  std::vector<std::string> keys;
  std::vector<KeyState> states;
  keys.reserve(batch.changes.size());
  states.reserve(batch.changes.size());
  KeyIds ids(batch.changes.size());
  auto id_of = [&](std::string key) {
    auto [id, inserted] = ids.Intern(std::move(key), keys);
    if (inserted) states.emplace_back();
    return id;
  };
  std::vector<uint32_t> old_ids(batch.changes.size(), kNoKey);
  std::vector<uint32_t> new_ids(batch.changes.size(), kNoKey);
  for (size_t change_idx = 0; change_idx < batch.changes.size(); ++change_idx) {
    const RowChange& change = batch.changes[change_idx];
    if (change.op == ChangeOp::kTruncate) continue;
    bool has_row = change.op != ChangeOp::kDelete;
    std::string new_key = has_row ? KeyOf(change.row) : std::string();
    if (change.old_row.empty()) {
      old_ids[change_idx] = id_of(std::move(new_key));
      if (has_row) new_ids[change_idx] = old_ids[change_idx];
    } else {
      old_ids[change_idx] = id_of(KeyOf(change.old_row));
      if (has_row) new_ids[change_idx] = id_of(std::move(new_key));
    }
  }

  // Where each touched key lives now (exact: candidates are checked against the files). For
  // the feed, whole rows are read at once: the pre-images come from the same read.
  std::map<std::pair<uint32_t, uint32_t>, Row> lake_rows;  // rows read from data files
  KeyIndex::KeyReader reader = DataFileKeyReader(*connection_, snapshot, index_, index_columns_);
  if (feed) {
    reader = [&](const std::vector<RowLocation>& locations) -> Result<std::vector<std::string>> {
      std::set<std::pair<uint32_t, uint32_t>> wanted;
      for (const RowLocation& location : locations) wanted.insert({location.file, location.row});
      plan.rows_read += static_cast<int64_t>(wanted.size());
      FRESHET_ASSIGN_OR_RETURN(auto rows, ReadRows(snapshot, wanted));
      std::vector<std::string> read_keys;
      read_keys.reserve(locations.size());
      for (const RowLocation& location : locations) {
        auto it = rows.find({location.file, location.row});
        if (it == rows.end()) {
          return Status::Corruption("{} has no row {}", index_.FilePath(location.file),
                                    location.row);
        }
        read_keys.push_back(KeyOf(it->second));
      }
      lake_rows.merge(rows);
      return read_keys;
    };
  }
  // A complete row cache settles keys the index cannot tell apart by hash without a read.
  std::vector<std::string> lookups;
  std::vector<uint32_t> lookup_ids;
  lookups.reserve(keys.size());
  lookup_ids.reserve(keys.size());
  for (uint32_t id = 0; id < keys.size(); ++id) {
    const std::string& key = keys[id];
    if (cache_complete_ && !index_.IsExact(key)) {
      if (!cache_.Contains(key)) continue;  // not live: any candidate is another key's
      std::vector<RowLocation> candidates = index_.Candidates(key);
      if (candidates.size() == 1) {
        states[id].lake = candidates.front();
        continue;
      }
    }
    lookups.push_back(key);
    lookup_ids.push_back(id);
  }
  FRESHET_ASSIGN_OR_RETURN(auto found, index_.Find(lookups, reader));
  for (size_t lookup_idx = 0; lookup_idx < lookups.size(); ++lookup_idx) {
    states[lookup_ids[lookup_idx]].lake = found[lookup_idx];
  }

  // Lake rows needed to fill unchanged values (and, for the feed, every pre-image): from the
  // row cache, else read from the data files in one query.
  std::set<std::pair<uint32_t, uint32_t>> fill_locations;
  constexpr size_t kAhead = 16;  // cache probes prefetched this many changes ahead
  auto prefetch = [&](size_t change_idx, bool record) {
    if (change_idx >= batch.changes.size() || old_ids[change_idx] == kNoKey) return;
    const std::string& key = keys[old_ids[change_idx]];
    if (record) {
      cache_.PrefetchRecord(key);
    } else {
      cache_.Prefetch(key);
    }
  };
  for (size_t change_idx = 0; change_idx < batch.changes.size(); ++change_idx) {
    prefetch(change_idx + kAhead, false);
    prefetch(change_idx + kAhead / 2, true);
    const RowChange& change = batch.changes[change_idx];
    if (change.op == ChangeOp::kTruncate) continue;
    bool fills =
        std::find(change.unchanged.begin(), change.unchanged.end(), true) != change.unchanged.end();
    if (!fills && !feed) continue;
    // Unchanged values come from the old key's row only; the feed needs both.
    for (uint32_t id : {old_ids[change_idx], feed ? new_ids[change_idx] : kNoKey}) {
      if (id == kNoKey) continue;
      KeyState& state = states[id];
      if (!state.lake || state.lake_row != nullptr ||
          lake_rows.count({state.lake->file, state.lake->row}) > 0) {
        continue;
      }
      if (auto cached = cache_.Get(keys[id])) {
        state.lake_row = plan.Keep(std::move(*cached));
      } else {
        fill_locations.insert({state.lake->file, state.lake->row});
      }
    }
  }
  plan.rows_read += static_cast<int64_t>(fill_locations.size());
  FRESHET_ASSIGN_OR_RETURN(auto filled, ReadRows(snapshot, fill_locations));
  for (const auto& [location, row] : filled) cache_complete_ &= cache_.Put(KeyOf(row), row);
  lake_rows.merge(filled);

  // The live version of a key as the replay stands: the batch's, else the table's. Rows are
  // never copied: feed rows and new rows point at the batch, `plan.store` or `lake_rows`
  // (moved into the plan at the end; a map keeps its nodes when moved).
  bool lake_truncated = false;
  auto alive = [&](const KeyState& state) -> const Row* {
    if (state.lake_replaced) return state.current;
    if (!state.lake || lake_truncated) return nullptr;
    if (state.lake_row != nullptr) return state.lake_row;
    auto it = lake_rows.find({state.lake->file, state.lake->row});
    return it != lake_rows.end() ? &it->second : nullptr;
  };
  auto emit = [&](const Row* row, const char* type) {
    if (!feed) return;
    plan.feed.emplace_back(row, type);
    plan.feed_final.push_back(false);
  };
  if (feed) {
    plan.feed.reserve(batch.changes.size() * 2);
    plan.feed_final.reserve(batch.changes.size() * 2);
  }

  // Replay the batch in order; the last change to a key wins.
  for (size_t change_idx = 0; change_idx < batch.changes.size(); ++change_idx) {
    const RowChange& change = batch.changes[change_idx];
    if (change.op == ChangeOp::kTruncate) {
      if (feed) {
        if (!lake_truncated) {
          FRESHET_ASSIGN_OR_RETURN(auto table_rows, ReadAllRows(snapshot));
          for (Row& row : table_rows) {
            auto id = ids.Find(KeyOf(row), keys);
            if (!id || !states[*id].lake_replaced) emit(plan.Keep(std::move(row)), "delete");
          }
        }
        for (const KeyState& state : states) {
          if (state.lake_replaced && state.current != nullptr) emit(state.current, "delete");
        }
      }
      for (KeyState& state : states) {
        state.lake_replaced = true;
        state.current = nullptr;
      }
      lake_truncated = true;
      plan.truncate = true;
      continue;
    }
    KeyState& old_state = states[old_ids[change_idx]];
    const Row* base = alive(old_state);  // the key's current version, for unchanged values
    const Row* row = nullptr;
    if (change.op != ChangeOp::kDelete) {
      // The change's row as it is, unless values are to be filled in (then a filled copy).
      bool fills = std::find(change.unchanged.begin(), change.unchanged.end(), true) !=
                   change.unchanged.end();
      if (!fills) {
        row = &change.row;
      } else {
        Row complete = change.row;
        for (size_t column = 0; column < change.unchanged.size(); ++column) {
          if (!change.unchanged[column]) continue;
          if (base == nullptr) {
            return Status::InvalidArgument(
                "change {} leaves column {} unchanged but its row has no current version in {}",
                change_idx, fields[column].name, table_path_);
          }
          complete[column] = (*base)[column];
        }
        row = plan.Keep(std::move(complete));
      }
    }
    bool key_changes = change.op != ChangeOp::kDelete && old_ids[change_idx] != new_ids[change_idx];
    if (feed) {
      if (change.op == ChangeOp::kDelete) {
        if (base != nullptr) emit(base, "delete");
      } else {
        const Row* target = key_changes ? alive(states[new_ids[change_idx]]) : base;
        if (base != nullptr && key_changes && target != nullptr) {
          emit(target, "delete");  // the new key's row is replaced
        }
        const Row* pre = base != nullptr ? base : target;
        if (pre != nullptr) {
          emit(pre, "update_preimage");
          emit(row, "update_postimage");
        } else {
          emit(row, "insert");
        }
      }
    }
    if (change.op == ChangeOp::kDelete || key_changes) {
      old_state.lake_replaced = true;
      old_state.current = nullptr;
    }
    if (change.op != ChangeOp::kDelete) {
      KeyState& new_state = states[new_ids[change_idx]];
      new_state.lake_replaced = true;
      new_state.current = row;
      new_state.feed_index = plan.feed.size() - (feed ? 1 : 0);
    }
  }

  plan.rows.reserve(keys.size());
  plan.row_keys.reserve(keys.size());
  for (uint32_t id = 0; id < keys.size(); ++id) {
    KeyState& state = states[id];
    if (!state.lake_replaced) continue;
    if (state.lake && !lake_truncated) {
      plan.deleted.emplace_back(keys[id], *state.lake);
      plan.deleted_rewritten.push_back(state.current != nullptr);
      plan.deleted_row.push_back(state.current != nullptr ? static_cast<uint32_t>(plan.rows.size())
                                                          : Plan::kNoRow);
    }
    if (state.current == nullptr) continue;
    if (feed) {
      plan.feed_final[state.feed_index] = true;
      plan.row_feed.push_back(static_cast<uint32_t>(state.feed_index));
    }
    plan.rows.push_back(state.current);
    plan.row_keys.push_back(std::move(keys[id]));
  }
  plan.read = std::move(lake_rows);
  return Status::Ok();
}

Status UpsertWriter::PlanFullIdentity(const ChangeBatch& batch, const Snapshot& snapshot,
                                      Plan& plan) {
  // Each key (the whole row) has a multiset of live rows: those in the table and those this
  // batch added. An update or delete removes one row equal to its old image, preferring one
  // the batch added (same result, fewer deletion-vector entries).
  const bool feed = plan.record_feed;
  std::vector<std::string> keys;
  std::unordered_map<std::string, size_t> key_ids;
  auto id_of = [&](const std::string& key) {
    auto [it, inserted] = key_ids.emplace(key, keys.size());
    if (inserted) keys.push_back(key);
    return it->second;
  };
  std::vector<size_t> old_ids(batch.changes.size(), SIZE_MAX);
  for (size_t change_idx = 0; change_idx < batch.changes.size(); ++change_idx) {
    const RowChange& change = batch.changes[change_idx];
    if (change.op == ChangeOp::kInsert || change.op == ChangeOp::kTruncate) continue;
    const Row& old_row = change.old_row.empty() ? change.row : change.old_row;
    old_ids[change_idx] = id_of(KeyOf(old_row));
  }
  FRESHET_ASSIGN_OR_RETURN(
      auto lake,
      index_.FindAll(keys, DataFileKeyReader(*connection_, snapshot, index_, index_columns_)));
  std::vector<std::vector<size_t>> pending(keys.size());  // indexes into added rows
  std::vector<Row> added;
  std::vector<bool> alive;
  std::vector<size_t> added_feed;  // with the feed: the feed row of each added row
  auto add = [&](Row row) {
    std::string key = KeyOf(row);
    auto it = key_ids.find(key);
    if (it != key_ids.end()) pending[it->second].push_back(added.size());
    added.push_back(std::move(row));
    alive.push_back(true);
  };
  auto emit = [&](const Row& row, const char* type) {
    if (!feed) return;
    plan.feed.emplace_back(plan.Keep(row), type);
    plan.feed_final.push_back(false);
  };
  bool lake_truncated = false;
  for (size_t change_idx = 0; change_idx < batch.changes.size(); ++change_idx) {
    const RowChange& change = batch.changes[change_idx];
    if (change.op == ChangeOp::kTruncate) {
      if (feed && !lake_truncated) {
        // Every table row the batch has not removed yet (per key, as many as remain).
        FRESHET_ASSIGN_OR_RETURN(auto table_rows, ReadAllRows(snapshot));
        std::vector<size_t> emitted(keys.size(), 0);
        for (const Row& row : table_rows) {
          auto it = key_ids.find(KeyOf(row));
          if (it != key_ids.end()) {
            if (emitted[it->second] >= lake[it->second].size()) continue;
            ++emitted[it->second];
          }
          emit(row, "delete");
        }
      }
      for (size_t row_idx = 0; row_idx < added.size(); ++row_idx) {
        if (alive[row_idx]) emit(added[row_idx], "delete");
        alive[row_idx] = false;
      }
      for (auto& rows : pending) rows.clear();
      for (auto& rows : lake) rows.clear();
      plan.deleted.clear();
      plan.truncate = true;
      lake_truncated = true;
      continue;
    }
    const Row* pre = nullptr;
    if (change.op != ChangeOp::kInsert) {
      size_t id = old_ids[change_idx];
      if (!pending[id].empty()) {
        alive[pending[id].back()] = false;
        pre = &added[pending[id].back()];
        pending[id].pop_back();
      } else if (!lake[id].empty()) {
        plan.deleted.emplace_back(keys[id], lake[id].back());
        lake[id].pop_back();
        pre = change.old_row.empty() ? &change.row : &change.old_row;
      }
      // A row that is not there: the table already lacks it (a replayed change); skip.
    }
    if (change.op == ChangeOp::kDelete) {
      if (pre != nullptr) emit(*pre, "delete");
      continue;
    }
    Row row = change.row;
    const Row& old_row = change.old_row.empty() ? change.row : change.old_row;
    for (size_t column = 0; column < change.unchanged.size(); ++column) {
      if (change.unchanged[column]) row[column] = old_row[column];
    }
    if (pre != nullptr) {
      emit(*pre, "update_preimage");
      emit(row, "update_postimage");
    } else {
      emit(row, "insert");
    }
    if (feed) added_feed.push_back(plan.feed.size() - 1);
    add(std::move(row));
  }
  for (size_t row_idx = 0; row_idx < added.size(); ++row_idx) {
    if (!alive[row_idx]) continue;
    if (feed) plan.feed_final[added_feed[row_idx]] = true;
    plan.rows.push_back(plan.Keep(std::move(added[row_idx])));
  }
  return Status::Ok();
}

Status UpsertWriter::StageRows(const Snapshot& snapshot, const std::string& table,
                               const std::vector<const Row*>& rows,
                               const std::vector<const char*>& change_types,
                               const std::vector<bool>& final_flags) {
  const auto& fields = snapshot.schema().fields;
  std::string columns;
  for (const StructField& field : fields) {
    columns += fmt::format("{}{} {}", columns.empty() ? "" : ", ", QuoteIdentifier(field.name),
                           field.type.DuckDbType());
  }
  if (!change_types.empty()) {
    columns += fmt::format(", {} VARCHAR", QuoteIdentifier(kChangeTypeColumn));
  }
  if (!final_flags.empty()) columns += ", freshet_final BOOLEAN";
  FRESHET_RETURN_IF_ERROR(
      connection_->Execute(fmt::format("CREATE OR REPLACE TEMP TABLE {} ({})", table, columns)));
  // Rows go through DuckDB's appender: no SQL text to build, parse and bind. Rows keep their
  // order (DuckDB preserves insertion order), which the change-data file relies on.
  size_t width = fields.size();
  // The change types are a few literals: one Value each.
  std::deque<std::pair<const char*, Value>> type_values;  // stable references
  auto type_value = [&](const char* type) -> const Value& {
    for (const auto& [known, value] : type_values) {
      if (known == type) return value;
    }
    return type_values.emplace_back(type, Value::String(type)).second;
  };
  const Value kFinal = Value::Bool(true);
  const Value kNotFinal = Value::Bool(false);
  Status appended = [&]() -> Status {
    FRESHET_ASSIGN_OR_RETURN(engine::Appender appender,
                             engine::Appender::Open(*connection_, table, "main", "temp"));
    FRESHET_RETURN_IF_ERROR(
        appender.AppendRows(rows.size(), [&](size_t row_idx, size_t column) -> const Value& {
          if (column < width) return (*rows[row_idx])[column];
          if (column == width && !change_types.empty()) return type_value(change_types[row_idx]);
          return final_flags[row_idx] ? kFinal : kNotFinal;
        }));
    return appender.Flush();
  }();
  if (!appended.Is(Code::kNotSupported)) return appended;
  // A nested value DuckDB's appender cannot build (an empty nested list): INSERT ... VALUES
  // with literals, which INSERT casts to the column types.
  FRESHET_RETURN_IF_ERROR(
      connection_->Execute(fmt::format("CREATE OR REPLACE TEMP TABLE {} ({})", table, columns)));
  for (size_t chunk = 0; chunk < rows.size(); chunk += 1000) {
    std::string values;
    for (size_t row_idx = chunk; row_idx < std::min(rows.size(), chunk + 1000); ++row_idx) {
      std::string tuple;
      for (size_t column = 0; column < width; ++column) {
        tuple += (column == 0 ? "" : ", ") + StagingLiteral((*rows[row_idx])[column]);
      }
      if (!change_types.empty()) tuple += fmt::format(", '{}'", change_types[row_idx]);
      if (!final_flags.empty()) tuple += final_flags[row_idx] ? ", true" : ", false";
      values += (values.empty() ? "(" : ", (") + tuple + ")";
    }
    FRESHET_RETURN_IF_ERROR(
        connection_->Execute(fmt::format("INSERT INTO {} VALUES {}", table, values)));
  }
  return Status::Ok();
}

Result<Version> UpsertWriter::CommitPlan(Transaction& txn, Plan& plan, ApplyStats& stats) {
  const Snapshot& snapshot = txn.read_snapshot();
  if (plan.rows.empty() && plan.deleted.empty() && plan.feed.empty() && !plan.truncate &&
      !plan.app_transaction) {
    // Nothing to commit: the snapshot stays the current one.
    if (snapshot.version() == version_) snapshot_ = snapshot;
    return version_;
  }
  auto start = Clock::now();
  std::vector<AddFile> added;
  // The rows of the new data file in file order (DuckDB preserves insertion order from the
  // staging table through COPY), so the index learns their positions without reading it.
  std::vector<const Row*> file_rows;
  // With the feed on a keyed or whole-row table, the new rows are the feed rows marked final:
  // one staging table serves both files.
  bool rows_from_feed = plan.record_feed && !options_.append_only;
  if (!plan.rows.empty() && !rows_from_feed) {
    const std::string staging = "freshet_upsert_rows";
    file_rows = plan.rows;
    // The staging table is dropped on every path, so each step only records its status.
    Status status = StageRows(snapshot, staging, plan.rows, {}, {});
    if (status.ok()) {
      auto appended = txn.Append("SELECT * FROM " + staging);
      if (appended.ok()) {
        added = std::move(appended).value();
      } else {
        status = appended.status();
      }
    }
    // Every appended change row is an insert of the history, which readers of the feed take
    // from the add actions: no change-data file (PROTOCOL.md, Change Data Files).
    Status dropped = connection_->Execute("DROP TABLE IF EXISTS " + staging);
    FRESHET_RETURN_IF_ERROR(status);
    FRESHET_RETURN_IF_ERROR(dropped);
  }
  if (!plan.feed.empty()) {
    const std::string staging = "freshet_upsert_changes";
    std::vector<const Row*> rows;
    std::vector<const char*> types;
    rows.reserve(plan.feed.size());
    types.reserve(plan.feed.size());
    for (size_t feed_idx = 0; feed_idx < plan.feed.size(); ++feed_idx) {
      rows.push_back(plan.feed[feed_idx].first);
      types.push_back(plan.feed[feed_idx].second);
      if (rows_from_feed && plan.feed_final[feed_idx]) file_rows.push_back(rows.back());
    }
    Status status = StageRows(snapshot, staging, rows, types, plan.feed_final);
    // A batch whose feed the file actions already say needs no change-data file: readers take
    // inserts from the add actions and deletes from the removes and new deletion vectors
    // (PROTOCOL.md, Change Data Files). That is a batch without updates (a pre- and post-image
    // pair needs the file) where every insert is a row written and every delete a row of the
    // table before the batch (a row inserted and deleted again is in no file).
    size_t inserts = 0;
    size_t deletes = 0;
    for (const auto& [row, type] : plan.feed) {
      std::string_view kind = type;
      inserts += kind == "insert" ? 1 : 0;
      deletes += kind == "delete" ? 1 : 0;
    }
    size_t written = std::count(plan.feed_final.begin(), plan.feed_final.end(), true);
    bool feed_in_file_actions = !plan.truncate && inserts + deletes == plan.feed.size() &&
                                inserts == written && deletes == plan.deleted.size();
    // Otherwise the feed is split in two: the rows the commit writes (each key's last change,
    // an insert or update_postimage) go once, as data files that are their own change data;
    // the other feed rows (pre-images, deletes, changes a later one in the batch superseded)
    // go to a change-data file listed first. Each key's changes stay in order, since its last
    // one is the only one in a data file; changes of different keys may interleave otherwise.
    if (status.ok() && !feed_in_file_actions && written < plan.feed.size()) {
      status =
          txn.AppendChangeData(fmt::format("SELECT * FROM {} WHERE NOT freshet_final", staging))
              .status();
    }
    if (status.ok() && !plan.rows.empty()) {
      // Transaction::Append takes the table's columns by name and ignores the others.
      std::string final_rows = fmt::format("SELECT * FROM {} WHERE freshet_final", staging);
      auto appended =
          feed_in_file_actions ? txn.Append(final_rows) : txn.AppendAsChangeData(final_rows);
      if (appended.ok()) {
        added = std::move(appended).value();
      } else {
        status = appended.status();
      }
    }
    Status dropped = connection_->Execute("DROP TABLE IF EXISTS " + staging);
    FRESHET_RETURN_IF_ERROR(status);
    FRESHET_RETURN_IF_ERROR(dropped);
  }
  stats.write_s = SecondsSince(start);
  start = Clock::now();
  std::map<uint32_t, std::vector<uint64_t>> deletions;  // file id -> rows
  for (const auto& [key, location] : plan.deleted) {
    deletions[location.file].push_back(location.row);
  }
  // The vectors kept from this writer's last commit hold for the version it read; any
  // failure below leaves them for the next batch to drop.
  if (deletion_vectors_version_ != snapshot.version()) deletion_vectors_.clear();
  deletion_vectors_version_ = -1;
  for (auto& [file, positions] : deletions) {
    std::sort(positions.begin(), positions.end());
    const std::string& path = index_.FilePath(file);
    FRESHET_RETURN_IF_ERROR(txn.DeleteRows(path, positions, deletion_vectors_[path]));
    stats.rows_deleted += static_cast<int64_t>(positions.size());
  }
  stats.rows_written = static_cast<int64_t>(plan.rows.size());
  stats.rows_read = plan.rows_read;
  FRESHET_ASSIGN_OR_RETURN(Version version, txn.Commit(options_.append_only ? "WRITE"
                                                       : plan.truncate      ? "TRUNCATE"
                                                                            : "MERGE"));
  // A snapshot that cannot be built here is loaded by the next batch instead.
  auto committed = txn.CommittedSnapshot();
  snapshot_ = committed.ok() ? std::move(committed).value() : std::nullopt;
  stats.commit_s = SecondsSince(start);
  start = Clock::now();

  if (version == snapshot.version() + 1 && !plan.truncate) {
    KeepDeletionVectors(txn, version);
  } else {
    deletion_vectors_.clear();
  }
  if (options_.append_only) {
    version_ = version;
  } else if (version != snapshot.version() + 1) {
    // Other writers committed first: their changes are not in the index.
    FRESHET_ASSIGN_OR_RETURN(Snapshot latest,
                             Snapshot::Load(*fs_, *connection_, table_path_, version,
                                            /*tombstones=*/false));
    FRESHET_RETURN_IF_ERROR(Rebuild(latest));
    snapshot_ = std::move(latest);
  } else {
    FRESHET_RETURN_IF_ERROR(UpdateIndex(snapshot, plan, added, file_rows));
    version_ = version;
  }
  stats.index_s = SecondsSince(start);
  return version;
}

namespace {

// Whether `add`, just written from `rows` staged rows, holds exactly them at positions
// 0..rows-1 in staged order: an unpartitioned table (Append writes one file per partition).
bool HoldsStagedRows(const Snapshot& snapshot, const AddFile& add, size_t rows) {
  std::optional<int64_t> records = add.NumRecords();
  return snapshot.metadata().partition_columns.empty() && !add.deletion_vector && records &&
         *records == static_cast<int64_t>(rows);
}

}  // namespace

Status UpsertWriter::UpdateIndex(const Snapshot& snapshot, const Plan& plan,
                                 const std::vector<AddFile>& added,
                                 const std::vector<const Row*>& file_rows) {
  // Where each row of plan.rows lands, when the commit wrote one file of exactly the staged
  // rows: its rank among them (staged in plan.rows order, or with the feed as the feed's final
  // rows in feed order). A key the batch rewrites then has its index entry moved in place
  // instead of erased and inserted again (no backward shift, no second probe).
  std::optional<uint32_t> file;
  std::vector<uint32_t> positions;
  bool keyed = !options_.key_columns.empty() && plan.row_keys.size() == plan.rows.size() &&
               plan.deleted_row.size() == plan.deleted.size() &&
               (!plan.record_feed || plan.row_feed.size() == plan.rows.size());
  if (keyed && added.size() == 1 && file_rows.size() < UINT32_MAX &&
      HoldsStagedRows(snapshot, added.front(), file_rows.size())) {
    positions.resize(plan.rows.size());
    if (plan.record_feed) {
      std::vector<uint32_t> rank(plan.feed.size(), 0);
      uint32_t next = 0;
      for (size_t feed_idx = 0; feed_idx < plan.feed.size(); ++feed_idx) {
        if (plan.feed_final[feed_idx]) rank[feed_idx] = next++;
      }
      for (size_t row_idx = 0; row_idx < plan.rows.size(); ++row_idx) {
        positions[row_idx] = rank[plan.row_feed[row_idx]];
      }
    } else {
      for (size_t row_idx = 0; row_idx < plan.rows.size(); ++row_idx) {
        positions[row_idx] = static_cast<uint32_t>(row_idx);
      }
    }
    file = index_.InternFile(added.front().path);
  }
  // Index and cache probes land all over both tables: each is prefetched some keys ahead
  // (the cache's record once its slot is there).
  constexpr size_t kAhead = 16;
  std::vector<bool> placed(plan.rows.size(), false);
  for (size_t deleted_idx = 0; deleted_idx < plan.deleted.size(); ++deleted_idx) {
    if (deleted_idx + kAhead < plan.deleted.size()) {
      index_.Prefetch(plan.deleted[deleted_idx + kAhead].first);
      cache_.Prefetch(plan.deleted[deleted_idx + kAhead].first);
    }
    if (deleted_idx + kAhead / 2 < plan.deleted.size() &&
        !RowCache::IsExactKey(plan.deleted[deleted_idx + kAhead / 2].first)) {
      cache_.PrefetchRecord(plan.deleted[deleted_idx + kAhead / 2].first);
    }
    const auto& [key, location] = plan.deleted[deleted_idx];
    uint32_t row_idx = file ? plan.deleted_row[deleted_idx] : Plan::kNoRow;
    if (row_idx != Plan::kNoRow && index_.Move(key, location, {*file, positions[row_idx]})) {
      placed[row_idx] = true;
    } else {
      index_.Erase(key, location);
    }
    // A key the commit writes again keeps its cache slot: Put below replaces its row.
    bool rewritten =
        deleted_idx < plan.deleted_rewritten.size() && plan.deleted_rewritten[deleted_idx];
    if (!rewritten) cache_.Erase(key);
  }
  if (!options_.key_columns.empty()) {
    bool with_keys = plan.row_keys.size() == plan.rows.size();
    for (size_t row_idx = 0; row_idx < plan.rows.size(); ++row_idx) {
      if (with_keys && row_idx + kAhead < plan.rows.size()) {
        cache_.Prefetch(plan.row_keys[row_idx + kAhead]);
        if (file) index_.Prefetch(plan.row_keys[row_idx + kAhead]);
      }
      if (with_keys && row_idx + kAhead / 2 < plan.rows.size() &&
          !RowCache::IsExactKey(plan.row_keys[row_idx + kAhead / 2])) {
        cache_.PrefetchRecord(plan.row_keys[row_idx + kAhead / 2]);
      }
      const Row& row = *plan.rows[row_idx];
      const std::string key = with_keys ? std::string() : KeyOf(row);
      const std::string& row_key = with_keys ? plan.row_keys[row_idx] : key;
      cache_complete_ &= cache_.Put(row_key, row);
      if (file && !placed[row_idx]) {
        index_.Insert(row_key, RowLocation{*file, positions[row_idx]});
      }
    }
  }
  if (file) return Status::Ok();
  for (const AddFile& add : added) {
    FRESHET_RETURN_IF_ERROR(IndexWrittenFile(snapshot, add, file_rows));
  }
  return Status::Ok();
}

Status UpsertWriter::IndexWrittenFile(const Snapshot& snapshot, const AddFile& add,
                                      const std::vector<const Row*>& rows) {
  // One file holding exactly the staged rows (an unpartitioned table: Append writes one file
  // per partition) has them at positions 0..n-1 in staged order. Otherwise, read it back.
  if (!HoldsStagedRows(snapshot, add, rows.size())) {
    return IndexDataFile(*fs_, *connection_, snapshot, add, index_columns_, index_);
  }
  if (rows.size() > UINT32_MAX - 1) {
    return Status::NotSupported("{} has more than 2^32 rows", add.path);
  }
  uint32_t file = index_.InternFile(add.path);
  std::string key;
  for (size_t position = 0; position < rows.size(); ++position) {
    key.clear();
    for (size_t column : key_positions_) AppendKeyValue((*rows[position])[column], key);
    index_.Insert(key, RowLocation{file, static_cast<uint32_t>(position)});
  }
  return Status::Ok();
}

}  // namespace freshet::lake
