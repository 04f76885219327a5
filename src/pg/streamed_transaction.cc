#include "pg/streamed_transaction.h"

#include <unistd.h>
#include <cerrno>
#include <cstdlib>

#include "common/wire.h"

namespace freshet::pg {
namespace {

enum ItemTag : uint8_t { kChangeTag = 1, kSchemaEventTag = 2, kMessageTag = 3 };

// A rough footprint: the payload bytes plus the fixed size of the objects holding them.
size_t TupleBytes(const Tuple& tuple) {
  size_t bytes = tuple.capacity() * sizeof(Value);
  for (const Value& value : tuple) {
    if (value.bytes.size() > 15) bytes += value.bytes.capacity();
  }
  return bytes;
}

size_t ItemBytes(const StreamedTransaction::Item& item) {
  size_t bytes = sizeof(StreamedTransaction::Item) + sizeof(uint32_t);
  if (const auto* change = std::get_if<Change>(&item)) {
    bytes += TupleBytes(change->old_tuple) + TupleBytes(change->new_tuple);
  } else if (const auto* message = std::get_if<LogicalMessage>(&item)) {
    bytes += message->prefix.capacity() + message->content.capacity();
  } else {
    bytes += 128;
  }
  return bytes;
}

void PutTuple(WireWriter& writer, const Tuple& tuple) {
  writer.PutU32(static_cast<uint32_t>(tuple.size()));
  for (const Value& value : tuple) {
    writer.PutU8(static_cast<uint8_t>(value.kind));
    writer.PutCountedBytes(value.bytes);
  }
}

Result<Tuple> ReadTuple(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(uint32_t count, reader.ReadU32());
  if (count > reader.remaining() / 5) {
    return Status::Corruption("spill file: tuple of {} values in {} bytes", count,
                              reader.remaining());
  }
  Tuple tuple(count);
  for (Value& value : tuple) {
    FRESHET_ASSIGN_OR_RETURN(uint8_t kind, reader.ReadU8());
    if (kind > static_cast<uint8_t>(ValueKind::kBinary)) {
      return Status::Corruption("spill file: value kind {}", kind);
    }
    value.kind = static_cast<ValueKind>(kind);
    bool is_null = false;
    FRESHET_ASSIGN_OR_RETURN(std::string_view bytes, reader.ReadCountedBytes(&is_null));
    value.bytes.assign(bytes);
  }
  return tuple;
}

void PutString(WireWriter& writer, const std::string& text) { writer.PutCountedBytes(text); }

Result<std::string> ReadString(WireReader& reader) {
  bool is_null = false;
  FRESHET_ASSIGN_OR_RETURN(std::string_view bytes, reader.ReadCountedBytes(&is_null));
  return std::string(bytes);
}

}  // namespace

StreamedTransaction::StreamedTransaction(Xid xid, std::string spill_directory)
    : xid_(xid), spill_directory_(std::move(spill_directory)) {}

void StreamedTransaction::Add(Xid subxid, Item item) {
  memory_bytes_ += ItemBytes(item);
  ++item_count_;
  entries_.push_back(Entry{subxid.value, std::move(item)});
}

Status StreamedTransaction::OpenSpillFile() {
  std::string path = spill_directory_ + "/freshet-stream-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) return Status::FromErrno(errno, "create spill file in " + spill_directory_);
  // Unlinked at once: the space is freed when the file is closed, even after a crash.
  ::unlink(path.c_str());
  spill_.reset(::fdopen(fd, "w+b"));
  if (spill_ == nullptr) {
    int error = errno;
    ::close(fd);
    return Status::FromErrno(error, "open spill file");
  }
  return Status::Ok();
}

void StreamedTransaction::Encode(const Entry& entry, std::string& out) {
  WireWriter writer;
  writer.PutU32(entry.subxid);
  auto relation_id = [this](const std::shared_ptr<const Relation>& relation) {
    auto [it, added] =
        relation_index_.emplace(relation.get(), static_cast<uint32_t>(relations_.size()));
    if (added) relations_.push_back(relation);
    return it->second;
  };
  if (const auto* change = std::get_if<Change>(&entry.item)) {
    writer.PutU8(kChangeTag);
    writer.PutU8(static_cast<uint8_t>(change->kind));
    writer.PutU32(relation_id(change->relation));
    writer.PutU8(static_cast<uint8_t>(change->old_kind));
    writer.PutU8(
        static_cast<uint8_t>((change->cascade ? 1 : 0) | (change->restart_identity ? 2 : 0)));
    PutTuple(writer, change->old_tuple);
    PutTuple(writer, change->new_tuple);
  } else if (const auto* event = std::get_if<SchemaEvent>(&entry.item)) {
    writer.PutU8(kSchemaEventTag);
    writer.PutU8(static_cast<uint8_t>(event->kind));
    writer.PutU32(relation_id(event->relation));
    PutString(writer, event->column);
    PutString(writer, event->old_name);
    writer.PutU32(event->old_type_oid);
    writer.PutI32(event->old_type_modifier);
    writer.PutU32(event->new_type_oid);
    writer.PutI32(event->new_type_modifier);
  } else {
    const auto& message = std::get<LogicalMessage>(entry.item);
    writer.PutU8(kMessageTag);
    writer.PutU8(message.transactional ? 1 : 0);
    writer.PutU64(message.lsn.value());
    PutString(writer, message.prefix);
    PutString(writer, message.content);
  }
  WireWriter frame;
  frame.PutU32(static_cast<uint32_t>(writer.size()));
  out.append(frame.data());
  out.append(writer.data());
}

Status StreamedTransaction::Spill() {
  if (entries_.empty()) return Status::Ok();
  if (spill_ == nullptr) FRESHET_RETURN_IF_ERROR(OpenSpillFile());
  std::string buffer;
  for (const Entry& entry : entries_) {
    Encode(entry, buffer);
    if (buffer.size() >= (1 << 20)) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), spill_.get()) != buffer.size()) {
        return Status::FromErrno(errno, "write spill file");
      }
      spilled_bytes_ += buffer.size();
      buffer.clear();
    }
  }
  if (std::fwrite(buffer.data(), 1, buffer.size(), spill_.get()) != buffer.size()) {
    return Status::FromErrno(errno, "write spill file");
  }
  spilled_bytes_ += buffer.size();
  entries_.clear();
  entries_.shrink_to_fit();
  memory_bytes_ = 0;
  return Status::Ok();
}

Result<StreamedTransaction::Entry> StreamedTransaction::DecodeEntry(std::string_view bytes) const {
  WireReader reader(bytes, "spill file entry");
  Entry entry{};
  FRESHET_ASSIGN_OR_RETURN(entry.subxid, reader.ReadU32());
  FRESHET_ASSIGN_OR_RETURN(uint8_t tag, reader.ReadU8());
  auto relation_at = [this](uint32_t index) -> Result<std::shared_ptr<const Relation>> {
    if (index >= relations_.size()) return Status::Corruption("spill file: relation {}", index);
    return relations_[index];
  };
  if (tag == kChangeTag) {
    Change change;
    FRESHET_ASSIGN_OR_RETURN(uint8_t kind, reader.ReadU8());
    if (kind > static_cast<uint8_t>(ChangeKind::kRead)) {
      return Status::Corruption("spill file: change kind {}", kind);
    }
    change.kind = static_cast<ChangeKind>(kind);
    FRESHET_ASSIGN_OR_RETURN(uint32_t relation, reader.ReadU32());
    FRESHET_ASSIGN_OR_RETURN(change.relation, relation_at(relation));
    FRESHET_ASSIGN_OR_RETURN(uint8_t old_kind, reader.ReadU8());
    if (old_kind > static_cast<uint8_t>(OldTupleKind::kFull)) {
      return Status::Corruption("spill file: old tuple kind {}", old_kind);
    }
    change.old_kind = static_cast<OldTupleKind>(old_kind);
    FRESHET_ASSIGN_OR_RETURN(uint8_t flags, reader.ReadU8());
    change.cascade = (flags & 1) != 0;
    change.restart_identity = (flags & 2) != 0;
    FRESHET_ASSIGN_OR_RETURN(change.old_tuple, ReadTuple(reader));
    FRESHET_ASSIGN_OR_RETURN(change.new_tuple, ReadTuple(reader));
    entry.item = std::move(change);
  } else if (tag == kSchemaEventTag) {
    SchemaEvent event;
    FRESHET_ASSIGN_OR_RETURN(uint8_t kind, reader.ReadU8());
    if (kind > static_cast<uint8_t>(SchemaEventKind::kKeyChanged)) {
      return Status::Corruption("spill file: schema event kind {}", kind);
    }
    event.kind = static_cast<SchemaEventKind>(kind);
    FRESHET_ASSIGN_OR_RETURN(uint32_t relation, reader.ReadU32());
    FRESHET_ASSIGN_OR_RETURN(event.relation, relation_at(relation));
    FRESHET_ASSIGN_OR_RETURN(event.column, ReadString(reader));
    FRESHET_ASSIGN_OR_RETURN(event.old_name, ReadString(reader));
    FRESHET_ASSIGN_OR_RETURN(event.old_type_oid, reader.ReadU32());
    FRESHET_ASSIGN_OR_RETURN(event.old_type_modifier, reader.ReadI32());
    FRESHET_ASSIGN_OR_RETURN(event.new_type_oid, reader.ReadU32());
    FRESHET_ASSIGN_OR_RETURN(event.new_type_modifier, reader.ReadI32());
    entry.item = std::move(event);
  } else if (tag == kMessageTag) {
    LogicalMessage message;
    FRESHET_ASSIGN_OR_RETURN(uint8_t transactional, reader.ReadU8());
    message.transactional = transactional != 0;
    FRESHET_ASSIGN_OR_RETURN(uint64_t lsn, reader.ReadU64());
    message.lsn = Lsn(lsn);
    FRESHET_ASSIGN_OR_RETURN(message.prefix, ReadString(reader));
    FRESHET_ASSIGN_OR_RETURN(message.content, ReadString(reader));
    entry.item = std::move(message);
  } else {
    return Status::Corruption("spill file: item tag {}", tag);
  }
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return entry;
}

Status StreamedTransaction::Deliver(Entry&& entry, ChangeSink& sink) const {
  if (aborted_subxids_.contains(entry.subxid)) return Status::Ok();
  if (auto* change = std::get_if<Change>(&entry.item)) return sink.OnChange(std::move(*change));
  if (auto* event = std::get_if<SchemaEvent>(&entry.item)) return sink.OnSchemaEvent(*event);
  return sink.OnMessage(std::move(std::get<LogicalMessage>(entry.item)));
}

Status StreamedTransaction::Replay(ChangeSink& sink) {
  if (spill_ != nullptr) {
    if (std::fflush(spill_.get()) != 0 || std::fseek(spill_.get(), 0, SEEK_SET) != 0) {
      return Status::FromErrno(errno, "rewind spill file");
    }
    std::string frame;
    for (;;) {
      char header[4];
      size_t got = std::fread(header, 1, sizeof(header), spill_.get());
      if (got == 0 && std::feof(spill_.get())) break;
      if (got != sizeof(header)) return Status::Corruption("spill file: truncated entry header");
      WireReader header_reader(std::string_view(header, sizeof(header)), "spill file header");
      FRESHET_ASSIGN_OR_RETURN(uint32_t length, header_reader.ReadU32());
      frame.resize(length);
      if (std::fread(frame.data(), 1, length, spill_.get()) != length) {
        return Status::Corruption("spill file: truncated entry of {} bytes", length);
      }
      FRESHET_ASSIGN_OR_RETURN(Entry entry, DecodeEntry(frame));
      FRESHET_RETURN_IF_ERROR(Deliver(std::move(entry), sink));
    }
    spill_.reset();
  }
  for (Entry& entry : entries_) FRESHET_RETURN_IF_ERROR(Deliver(std::move(entry), sink));
  entries_.clear();
  memory_bytes_ = 0;
  return Status::Ok();
}

}  // namespace freshet::pg
