#include "pg/table_resnapshot.h"

#include "pg/snapshot_reader.h"

namespace freshet::pg {

TableResnapshot::TableResnapshot(ResnapshotOptions options, ChangeSink& downstream,
                                 std::shared_ptr<const Relation> relation, TypeRegistry registry)
    : options_(std::move(options)),
      downstream_(downstream),
      relation_(std::move(relation)),
      registry_(std::move(registry)) {
  for (size_t column = 0; column < relation_->columns.size(); ++column) {
    if (relation_->columns[column].key) key_columns_.push_back(column);
  }
}

Result<std::unique_ptr<TableResnapshot>> TableResnapshot::Create(Connection& sql,
                                                                 ResnapshotOptions options,
                                                                 ChangeSink& downstream) {
  if (options.chunk_rows <= 0) return Status::InvalidArgument("chunk_rows must be positive");
  FRESHET_ASSIGN_OR_RETURN(SnapshotPlan plan, PlanSnapshot(sql, {options.table}, 1));
  std::shared_ptr<const Relation> relation = plan.tables.at(0).relation;
  bool keyed = false;
  std::vector<uint32_t> types;
  for (const Column& column : relation->columns) {
    keyed = keyed || column.key;
    types.push_back(column.type_oid);
  }
  if (!keyed) {
    return Status::NotFound("table {} has no primary key; a re-snapshot pages through it by key",
                            options.table);
  }
  TypeRegistry registry;
  FRESHET_RETURN_IF_ERROR(registry.Load(sql, types));
  auto resnapshot = std::unique_ptr<TableResnapshot>(
      new TableResnapshot(std::move(options), downstream, relation, std::move(registry)));
  for (size_t column : resnapshot->key_columns_) {
    FRESHET_ASSIGN_OR_RETURN(Rows type,
                             sql.Query("SELECT format_type($1::oid, NULL)",
                                       {std::to_string(relation->columns[column].type_oid)}));
    resnapshot->key_type_names_.emplace_back(*type.Get(0, 0));
  }
  return resnapshot;
}

std::optional<std::string> TableResnapshot::KeyOf(const Tuple& tuple) const {
  std::string key;
  for (size_t column : key_columns_) {
    if (column >= tuple.size()) return std::nullopt;
    const Value& value = tuple[column];
    if (value.kind == ValueKind::kUnchangedToast || value.kind == ValueKind::kNull) {
      return std::nullopt;
    }
    auto datum = DecodeValue(value, relation_->columns[column].type_oid, registry_);
    if (!datum.ok()) return std::nullopt;
    std::string text = FormatPostgresText(*datum);
    key += fmt::format("{}:{}", text.size(), text);
  }
  return key;
}

Status TableResnapshot::ReadNextChunk(Connection& sql) {
  if (pending_ || finished_) {
    return Status::Internal("ReadNextChunk while a chunk is pending or the table is done");
  }
  // A column renamed, dropped, added or retyped since Create: this chunk's rows would not match
  // the relation they are delivered with.
  FRESHET_ASSIGN_OR_RETURN(SnapshotPlan plan, PlanSnapshot(sql, {options_.table}, 1));
  const std::vector<Column>& now = plan.tables.at(0).relation->columns;
  bool same = now.size() == relation_->columns.size();
  for (size_t column = 0; same && column < now.size(); ++column) {
    const Column& before = relation_->columns[column];
    same = now[column].name == before.name && now[column].type_oid == before.type_oid &&
           now[column].type_modifier == before.type_modifier && now[column].key == before.key;
  }
  if (!same) {
    return Status::Conflict("the columns of {} changed during its re-snapshot; read it again",
                            options_.table);
  }
  int number = next_number_++;
  std::string columns;
  std::string keys;
  std::string typed;
  for (const Column& column : relation_->columns) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(column.name);
  }
  for (size_t i = 0; i < key_columns_.size(); ++i) {
    keys += (i ? ", " : "") + QuoteIdentifier(relation_->columns[key_columns_[i]].name);
    typed += fmt::format("{}${}::{}", i ? ", " : "", i + 1, key_type_names_[i]);
  }
  std::vector<std::optional<std::string>> params(last_key_.begin(), last_key_.end());
  std::string where = last_key_.empty() ? "" : fmt::format(" WHERE ({}) > ({})", keys, typed);
  std::string select = fmt::format(
      "SELECT {} FROM {}.{}{} ORDER BY {} LIMIT {}", columns, QuoteIdentifier(relation_->schema),
      QuoteIdentifier(relation_->name), where, keys, options_.chunk_rows);
  FRESHET_RETURN_IF_ERROR(
      sql.Query("SELECT pg_logical_emit_message(false, $1, $2)",
                {options_.watermark_prefix, fmt::format("low:{}:{}", options_.table, number)})
          .status());
  FRESHET_ASSIGN_OR_RETURN(Rows rows, sql.Query(select, params));
  FRESHET_RETURN_IF_ERROR(
      sql.Query("SELECT pg_logical_emit_message(false, $1, $2)",
                {options_.watermark_prefix, fmt::format("high:{}:{}", options_.table, number)})
          .status());
  Chunk chunk{.number = number, .start_key = last_key_};
  for (int row = 0; row < rows.size(); ++row) {
    Tuple tuple(static_cast<size_t>(rows.column_count()));
    for (int column = 0; column < rows.column_count(); ++column) {
      auto value = rows.Get(row, column);
      tuple[static_cast<size_t>(column)] =
          value ? Value{ValueKind::kText, std::string(*value)} : Value{ValueKind::kNull, ""};
    }
    std::optional<std::string> key = KeyOf(tuple);
    if (!key) return Status::Internal("row of {} without a usable key", options_.table);
    chunk.rows.emplace(*key, std::move(tuple));
  }
  if (rows.size() > 0) {
    last_key_.clear();
    for (size_t column : key_columns_) {
      last_key_.emplace_back(*rows.Get(rows.size() - 1, static_cast<int>(column)));
    }
  }
  finished_ = rows.size() < options_.chunk_rows;
  pending_ = std::move(chunk);
  return Status::Ok();
}

Status TableResnapshot::OnChange(Change&& change) {
  if (pending_ && pending_->window_open && change.relation &&
      change.relation->oid == relation_->oid) {
    for (const Tuple* tuple : {&change.old_tuple, &change.new_tuple}) {
      if (tuple->empty()) continue;
      if (std::optional<std::string> key = KeyOf(*tuple)) {
        rows_dropped_ += pending_->rows.erase(*key);
      }
    }
    if (change.kind == ChangeKind::kTruncate) {
      rows_dropped_ += pending_->rows.size();
      pending_->rows.clear();
    }
  }
  return downstream_.OnChange(std::move(change));
}

Status TableResnapshot::OnMessage(LogicalMessage&& message) {
  if (message.transactional || message.prefix != options_.watermark_prefix) {
    return downstream_.OnMessage(std::move(message));
  }
  if (!pending_) return Status::Ok();  // a watermark of an earlier run
  if (message.content == fmt::format("low:{}:{}", options_.table, pending_->number)) {
    pending_->window_open = true;
  } else if (message.content == fmt::format("high:{}:{}", options_.table, pending_->number)) {
    // Without its low watermark (the stream resumed in between) the window is unknown: read
    // the chunk again rather than deliver rows that may be older than the stream's.
    if (!pending_->window_open) {
      Rewind();
      return Status::Ok();
    }
    return Deliver(message.lsn);
  }
  return Status::Ok();
}

Status TableResnapshot::OnRestart() {
  Rewind();
  return downstream_.OnRestart();
}

void TableResnapshot::Rewind() {
  if (!pending_) return;
  last_key_ = pending_->start_key;
  finished_ = false;
  pending_.reset();
}

Status TableResnapshot::Deliver(Lsn high_watermark) {
  TransactionInfo info{.commit_lsn = high_watermark};
  FRESHET_RETURN_IF_ERROR(downstream_.OnBegin(info));
  for (auto& [key, tuple] : pending_->rows) {
    Change change;
    change.kind = ChangeKind::kRead;
    change.relation = relation_;
    change.new_tuple = std::move(tuple);
    ++rows_delivered_;
    FRESHET_RETURN_IF_ERROR(downstream_.OnChange(std::move(change)));
  }
  pending_.reset();
  info.end_lsn = high_watermark;
  return downstream_.OnCommit(info);
}

}  // namespace freshet::pg
