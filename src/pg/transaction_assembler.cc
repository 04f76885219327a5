#include "pg/transaction_assembler.h"

#include <system_error>

namespace freshet::pg {

TransactionAssembler::TransactionAssembler(AssemblerOptions options, ChangeSink& sink)
    : options_(std::move(options)), sink_(sink) {
  if (options_.spill_directory.empty()) {
    std::error_code error;
    std::filesystem::path temp = std::filesystem::temp_directory_path(error);
    options_.spill_directory = error ? "/tmp" : temp.string();
  }
}

void TransactionAssembler::Reset() {
  open_.reset();
  begin_delivered_ = false;
  streaming_xid_.reset();
  held_.clear();
  relations_.Clear();
  stats_.held_bytes = 0;
}

Status TransactionAssembler::Feed(std::string_view payload) {
  FRESHET_ASSIGN_OR_RETURN(
      PgoutputMessage message,
      DecodePgoutput(payload, DecodeContext{.in_streamed_block = streaming_xid_.has_value()}));
  return Apply(std::move(message));
}

Status TransactionAssembler::Apply(PgoutputMessage message) {
  return std::visit([this](auto&& m) { return On(std::move(m)); }, std::move(message));
}

Status TransactionAssembler::FlushBegin() {
  if (begin_delivered_) return Status::Ok();
  begin_delivered_ = true;
  return sink_.OnBegin(*open_);
}

Status TransactionAssembler::Emit(std::optional<Xid> xid, StreamedTransaction::Item item) {
  if (streaming_xid_) {
    auto it = held_.find(streaming_xid_->value);
    if (it == held_.end()) {
      return Status::Corruption("pgoutput: data inside a stream block for unknown xid {}",
                                streaming_xid_->value);
    }
    size_t before = it->second.memory_bytes();
    it->second.Add(xid.value_or(*streaming_xid_), std::move(item));
    stats_.held_bytes += it->second.memory_bytes() - before;
    stats_.peak_held_bytes = std::max(stats_.peak_held_bytes, stats_.held_bytes);
    return EnforceMemoryLimit();
  }
  if (!open_) {
    // Schema events and non-transactional messages may arrive between transactions.
    if (auto* event = std::get_if<SchemaEvent>(&item)) return sink_.OnSchemaEvent(*event);
    if (auto* message = std::get_if<LogicalMessage>(&item); message && !message->transactional) {
      return sink_.OnMessage(std::move(*message));
    }
    return Status::Corruption("pgoutput: a change arrived outside any transaction");
  }
  FRESHET_RETURN_IF_ERROR(FlushBegin());
  if (auto* change = std::get_if<Change>(&item)) return sink_.OnChange(std::move(*change));
  if (auto* event = std::get_if<SchemaEvent>(&item)) return sink_.OnSchemaEvent(*event);
  return sink_.OnMessage(std::move(std::get<LogicalMessage>(item)));
}

// Spills the largest held transaction until the total fits: one big transaction goes to
// disk while small interleaved ones stay in memory.
Status TransactionAssembler::EnforceMemoryLimit() {
  while (stats_.held_bytes > options_.stream_memory_limit_bytes) {
    StreamedTransaction* largest = nullptr;
    for (auto& [xid, held] : held_) {
      if (largest == nullptr || held.memory_bytes() > largest->memory_bytes()) largest = &held;
    }
    if (largest == nullptr || largest->memory_bytes() == 0) break;
    size_t freed = largest->memory_bytes();
    size_t spilled_before = largest->spilled_bytes();
    FRESHET_RETURN_IF_ERROR(largest->Spill());
    stats_.held_bytes -= freed;
    ++stats_.spills;
    stats_.spilled_bytes += largest->spilled_bytes() - spilled_before;
  }
  return Status::Ok();
}

Result<Change> TransactionAssembler::MakeChange(ChangeKind kind, uint32_t relation_oid) {
  if (!open_ && !streaming_xid_) {
    return Status::Corruption("pgoutput: a change arrived outside any transaction");
  }
  Change change;
  change.kind = kind;
  FRESHET_ASSIGN_OR_RETURN(change.relation, relations_.Get(relation_oid));
  ++stats_.changes;
  return change;
}

Status TransactionAssembler::On(BeginMessage&& m) {
  if (open_) {
    return Status::Corruption("pgoutput: Begin of xid {} inside open transaction xid {}",
                              m.xid.value, open_->xid.value);
  }
  if (streaming_xid_) return Status::Corruption("pgoutput: Begin inside a stream block");
  open_ = TransactionInfo{.xid = m.xid, .commit_lsn = m.final_lsn, .commit_time = m.commit_time};
  begin_delivered_ = false;
  return Status::Ok();
}

Status TransactionAssembler::On(CommitMessage&& m) {
  if (!open_) return Status::Corruption("pgoutput: Commit at {} without a Begin", m.commit_lsn);
  FRESHET_RETURN_IF_ERROR(FlushBegin());
  TransactionInfo info = std::move(*open_);
  open_.reset();
  info.commit_lsn = m.commit_lsn;
  info.end_lsn = m.end_lsn;
  info.commit_time = m.commit_time;
  ++stats_.transactions;
  return sink_.OnCommit(info);
}

Status TransactionAssembler::On(OriginMessage&& m) {
  if (!open_) return Status::Corruption("pgoutput: Origin outside a transaction");
  open_->origin = std::move(m.name);
  return Status::Ok();
}

Status TransactionAssembler::On(RelationMessage&& m) {
  std::vector<SchemaEvent> events = relations_.Put(std::move(m.relation));
  for (SchemaEvent& event : events) {
    ++stats_.schema_events;
    FRESHET_RETURN_IF_ERROR(Emit(m.xid, std::move(event)));
  }
  return Status::Ok();
}

// Type messages describe user-defined types by name; values keep their OIDs and pg/types
// resolves them, so there is nothing to record.
Status TransactionAssembler::On(TypeMessage&&) { return Status::Ok(); }

Status TransactionAssembler::On(InsertMessage&& m) {
  FRESHET_ASSIGN_OR_RETURN(Change change, MakeChange(ChangeKind::kInsert, m.relation_oid));
  change.new_tuple = std::move(m.new_tuple);
  return Emit(m.xid, std::move(change));
}

Status TransactionAssembler::On(UpdateMessage&& m) {
  FRESHET_ASSIGN_OR_RETURN(Change change, MakeChange(ChangeKind::kUpdate, m.relation_oid));
  change.old_kind = m.old_kind;
  change.old_tuple = std::move(m.old_tuple);
  change.new_tuple = std::move(m.new_tuple);
  return Emit(m.xid, std::move(change));
}

Status TransactionAssembler::On(DeleteMessage&& m) {
  FRESHET_ASSIGN_OR_RETURN(Change change, MakeChange(ChangeKind::kDelete, m.relation_oid));
  change.old_kind = m.old_kind;
  change.old_tuple = std::move(m.old_tuple);
  return Emit(m.xid, std::move(change));
}

Status TransactionAssembler::On(TruncateMessage&& m) {
  for (uint32_t oid : m.relation_oids) {
    FRESHET_ASSIGN_OR_RETURN(Change change, MakeChange(ChangeKind::kTruncate, oid));
    change.cascade = m.cascade;
    change.restart_identity = m.restart_identity;
    FRESHET_RETURN_IF_ERROR(Emit(m.xid, std::move(change)));
  }
  return Status::Ok();
}

Status TransactionAssembler::On(MessageMessage&& m) {
  if (!m.message.transactional && !streaming_xid_) {
    // Non-transactional messages are delivered when written, even inside another
    // transaction's Begin/Commit in the stream; they belong to none.
    return sink_.OnMessage(std::move(m.message));
  }
  return Emit(m.xid, std::move(m.message));
}

Status TransactionAssembler::On(StreamStartMessage&& m) {
  if (streaming_xid_) return Status::Corruption("pgoutput: Stream Start inside a stream block");
  if (open_) return Status::Corruption("pgoutput: Stream Start inside an open transaction");
  streaming_xid_ = m.xid;
  auto it = held_.find(m.xid.value);
  if (it == held_.end()) {
    held_.emplace(m.xid.value, StreamedTransaction(m.xid, options_.spill_directory));
  }
  return Status::Ok();
}

Status TransactionAssembler::On(StreamStopMessage&&) {
  if (!streaming_xid_) return Status::Corruption("pgoutput: Stream Stop without Stream Start");
  streaming_xid_.reset();
  return Status::Ok();
}

Status TransactionAssembler::On(StreamCommitMessage&& m) {
  if (streaming_xid_) return Status::Corruption("pgoutput: Stream Commit inside a stream block");
  auto it = held_.find(m.xid.value);
  if (it == held_.end()) {
    return Status::Corruption("pgoutput: Stream Commit for xid {} that never streamed",
                              m.xid.value);
  }
  StreamedTransaction held = std::move(it->second);
  held_.erase(it);
  stats_.held_bytes -= held.memory_bytes();
  TransactionInfo info{.xid = m.xid,
                       .commit_lsn = m.commit_lsn,
                       .end_lsn = m.end_lsn,
                       .commit_time = m.commit_time,
                       .streamed = true};
  TransactionInfo begin = info;
  begin.end_lsn = Lsn();
  FRESHET_RETURN_IF_ERROR(sink_.OnBegin(begin));
  FRESHET_RETURN_IF_ERROR(held.Replay(sink_));
  ++stats_.transactions;
  ++stats_.streamed_transactions;
  return sink_.OnCommit(info);
}

Status TransactionAssembler::On(StreamAbortMessage&& m) {
  auto it = held_.find(m.xid.value);
  // PostgreSQL may abort a subtransaction of a transaction that streamed nothing yet.
  if (it == held_.end()) return Status::Ok();
  if (m.subxid == m.xid) {
    stats_.held_bytes -= it->second.memory_bytes();
    held_.erase(it);
    ++stats_.aborted_streamed_transactions;
    return Status::Ok();
  }
  it->second.AbortSubtransaction(m.subxid);
  return Status::Ok();
}

}  // namespace freshet::pg
