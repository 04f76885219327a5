#include "pg/pgoutput.h"

#include <array>

#include "common/wire.h"

namespace freshet::pg {
namespace {

// Seconds from 1970-01-01 to 2000-01-01.
constexpr int64_t kPostgresEpochOffsetMicros = 946'684'800LL * 1'000'000LL;

Result<Lsn> ReadLsn(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(uint64_t value, reader.ReadU64());
  return Lsn(value);
}

Result<Timestamp> ReadTimestamp(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(int64_t micros, reader.ReadI64());
  return FromPostgresEpochMicros(micros);
}

Result<Xid> ReadXid(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(uint32_t value, reader.ReadU32());
  return Xid{value};
}

Result<std::optional<Xid>> ReadStreamXid(WireReader& reader, const DecodeContext& context) {
  if (!context.in_streamed_block) return std::optional<Xid>();
  FRESHET_ASSIGN_OR_RETURN(Xid xid, ReadXid(reader));
  return std::optional<Xid>(xid);
}

// TupleData: Int16 column count, then per column a kind byte: 'n' NULL, 'u' unchanged
// TOASTed value (no data follows), 't' text or 'b' binary (Int32 length, then the bytes).
Result<Tuple> ReadTuple(WireReader& reader) {
  FRESHET_ASSIGN_OR_RETURN(int16_t count, reader.ReadI16());
  if (count < 0)
    return Status::Corruption("bad {}: negative column count {}", reader.what(), count);
  Tuple tuple(static_cast<size_t>(count));
  for (Value& value : tuple) {
    FRESHET_ASSIGN_OR_RETURN(uint8_t kind, reader.ReadU8());
    switch (kind) {
      case 'n':
        value.kind = ValueKind::kNull;
        continue;
      case 'u':
        value.kind = ValueKind::kUnchangedToast;
        continue;
      case 't':
      case 'b': {
        value.kind = kind == 't' ? ValueKind::kText : ValueKind::kBinary;
        FRESHET_ASSIGN_OR_RETURN(int32_t length, reader.ReadI32());
        if (length < 0) {
          return Status::Corruption("bad {}: negative value length {}", reader.what(), length);
        }
        FRESHET_ASSIGN_OR_RETURN(std::string_view bytes,
                                 reader.ReadBytes(static_cast<size_t>(length)));
        value.bytes.assign(bytes);
        continue;
      }
      default:
        return Status::Corruption("bad {}: unknown tuple value kind 0x{:02x} at byte {}",
                                  reader.what(), kind, reader.position() - 1);
    }
  }
  return tuple;
}

Result<PgoutputMessage> DecodeBegin(WireReader& reader, const DecodeContext&) {
  BeginMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.final_lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(message.commit_time, ReadTimestamp(reader));
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadXid(reader));
  return PgoutputMessage(message);
}

Result<PgoutputMessage> DecodeCommit(WireReader& reader, const DecodeContext&) {
  CommitMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.flags, reader.ReadU8());
  FRESHET_ASSIGN_OR_RETURN(message.commit_lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(message.end_lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(message.commit_time, ReadTimestamp(reader));
  return PgoutputMessage(message);
}

Result<PgoutputMessage> DecodeOrigin(WireReader& reader, const DecodeContext&) {
  OriginMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.commit_lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(std::string_view name, reader.ReadCString());
  message.name.assign(name);
  return PgoutputMessage(std::move(message));
}

Result<PgoutputMessage> DecodeRelation(WireReader& reader, const DecodeContext& context) {
  RelationMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadStreamXid(reader, context));
  Relation& relation = message.relation;
  FRESHET_ASSIGN_OR_RETURN(relation.oid, reader.ReadU32());
  FRESHET_ASSIGN_OR_RETURN(std::string_view schema, reader.ReadCString());
  // pgoutput sends an empty namespace for pg_catalog.
  relation.schema = schema.empty() ? "pg_catalog" : std::string(schema);
  FRESHET_ASSIGN_OR_RETURN(std::string_view name, reader.ReadCString());
  relation.name.assign(name);
  FRESHET_ASSIGN_OR_RETURN(uint8_t identity, reader.ReadU8());
  relation.replica_identity = static_cast<char>(identity);
  FRESHET_ASSIGN_OR_RETURN(int16_t count, reader.ReadI16());
  if (count < 0)
    return Status::Corruption("bad {}: negative column count {}", reader.what(), count);
  relation.columns.resize(static_cast<size_t>(count));
  for (Column& column : relation.columns) {
    FRESHET_ASSIGN_OR_RETURN(uint8_t flags, reader.ReadU8());
    column.key = (flags & 1) != 0;
    FRESHET_ASSIGN_OR_RETURN(std::string_view column_name, reader.ReadCString());
    column.name.assign(column_name);
    FRESHET_ASSIGN_OR_RETURN(column.type_oid, reader.ReadU32());
    FRESHET_ASSIGN_OR_RETURN(column.type_modifier, reader.ReadI32());
  }
  return PgoutputMessage(std::move(message));
}

Result<PgoutputMessage> DecodeType(WireReader& reader, const DecodeContext& context) {
  TypeMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadStreamXid(reader, context));
  FRESHET_ASSIGN_OR_RETURN(message.type_oid, reader.ReadU32());
  FRESHET_ASSIGN_OR_RETURN(std::string_view schema, reader.ReadCString());
  message.schema = schema.empty() ? "pg_catalog" : std::string(schema);
  FRESHET_ASSIGN_OR_RETURN(std::string_view name, reader.ReadCString());
  message.name.assign(name);
  return PgoutputMessage(std::move(message));
}

Status ExpectTupleMarker(WireReader& reader, char expected) {
  FRESHET_ASSIGN_OR_RETURN(uint8_t marker, reader.ReadU8());
  if (marker != static_cast<uint8_t>(expected)) {
    return Status::Corruption("bad {}: expected tuple marker '{}', got 0x{:02x}", reader.what(),
                              expected, marker);
  }
  return Status::Ok();
}

Result<PgoutputMessage> DecodeInsert(WireReader& reader, const DecodeContext& context) {
  InsertMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadStreamXid(reader, context));
  FRESHET_ASSIGN_OR_RETURN(message.relation_oid, reader.ReadU32());
  FRESHET_RETURN_IF_ERROR(ExpectTupleMarker(reader, 'N'));
  FRESHET_ASSIGN_OR_RETURN(message.new_tuple, ReadTuple(reader));
  return PgoutputMessage(std::move(message));
}

// Update: an optional 'K' (old key) or 'O' (old row) tuple, then 'N' and the new tuple.
Result<PgoutputMessage> DecodeUpdate(WireReader& reader, const DecodeContext& context) {
  UpdateMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadStreamXid(reader, context));
  FRESHET_ASSIGN_OR_RETURN(message.relation_oid, reader.ReadU32());
  FRESHET_ASSIGN_OR_RETURN(uint8_t marker, reader.ReadU8());
  if (marker == 'K' || marker == 'O') {
    message.old_kind = marker == 'K' ? OldTupleKind::kKey : OldTupleKind::kFull;
    FRESHET_ASSIGN_OR_RETURN(message.old_tuple, ReadTuple(reader));
    FRESHET_ASSIGN_OR_RETURN(marker, reader.ReadU8());
  }
  if (marker != 'N') {
    return Status::Corruption("bad {}: expected tuple marker 'N', got 0x{:02x}", reader.what(),
                              marker);
  }
  FRESHET_ASSIGN_OR_RETURN(message.new_tuple, ReadTuple(reader));
  return PgoutputMessage(std::move(message));
}

Result<PgoutputMessage> DecodeDelete(WireReader& reader, const DecodeContext& context) {
  DeleteMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadStreamXid(reader, context));
  FRESHET_ASSIGN_OR_RETURN(message.relation_oid, reader.ReadU32());
  FRESHET_ASSIGN_OR_RETURN(uint8_t marker, reader.ReadU8());
  if (marker != 'K' && marker != 'O') {
    return Status::Corruption("bad {}: expected tuple marker 'K' or 'O', got 0x{:02x}",
                              reader.what(), marker);
  }
  message.old_kind = marker == 'K' ? OldTupleKind::kKey : OldTupleKind::kFull;
  FRESHET_ASSIGN_OR_RETURN(message.old_tuple, ReadTuple(reader));
  return PgoutputMessage(std::move(message));
}

Result<PgoutputMessage> DecodeTruncate(WireReader& reader, const DecodeContext& context) {
  TruncateMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadStreamXid(reader, context));
  FRESHET_ASSIGN_OR_RETURN(int32_t count, reader.ReadI32());
  FRESHET_ASSIGN_OR_RETURN(uint8_t options, reader.ReadU8());
  message.cascade = (options & 1) != 0;
  message.restart_identity = (options & 2) != 0;
  // Each OID takes four bytes: a count beyond what is left is corrupt, and checking first
  // keeps a hostile count from reserving gigabytes.
  if (count < 0 || static_cast<size_t>(count) > reader.remaining() / 4) {
    return Status::Corruption("bad {}: {} relations announced, {} bytes left", reader.what(), count,
                              reader.remaining());
  }
  message.relation_oids.resize(static_cast<size_t>(count));
  for (uint32_t& oid : message.relation_oids) {
    FRESHET_ASSIGN_OR_RETURN(oid, reader.ReadU32());
  }
  return PgoutputMessage(std::move(message));
}

Result<PgoutputMessage> DecodeMessage(WireReader& reader, const DecodeContext& context) {
  MessageMessage wrapper;
  FRESHET_ASSIGN_OR_RETURN(wrapper.xid, ReadStreamXid(reader, context));
  LogicalMessage& message = wrapper.message;
  FRESHET_ASSIGN_OR_RETURN(uint8_t flags, reader.ReadU8());
  message.transactional = (flags & 1) != 0;
  FRESHET_ASSIGN_OR_RETURN(message.lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(std::string_view prefix, reader.ReadCString());
  message.prefix.assign(prefix);
  bool is_null = false;
  FRESHET_ASSIGN_OR_RETURN(std::string_view content, reader.ReadCountedBytes(&is_null));
  message.content.assign(content);
  return PgoutputMessage(std::move(wrapper));
}

Result<PgoutputMessage> DecodeStreamStart(WireReader& reader, const DecodeContext&) {
  StreamStartMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadXid(reader));
  FRESHET_ASSIGN_OR_RETURN(uint8_t first, reader.ReadU8());
  message.first_segment = first == 1;
  return PgoutputMessage(message);
}

Result<PgoutputMessage> DecodeStreamStop(WireReader&, const DecodeContext&) {
  return PgoutputMessage(StreamStopMessage{});
}

Result<PgoutputMessage> DecodeStreamCommit(WireReader& reader, const DecodeContext&) {
  StreamCommitMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadXid(reader));
  FRESHET_ASSIGN_OR_RETURN(message.flags, reader.ReadU8());
  FRESHET_ASSIGN_OR_RETURN(message.commit_lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(message.end_lsn, ReadLsn(reader));
  FRESHET_ASSIGN_OR_RETURN(message.commit_time, ReadTimestamp(reader));
  return PgoutputMessage(message);
}

// Version 4 (parallel apply) appends the abort LSN and time; freshet asks for version 2,
// and the trailing check in DecodePgoutput rejects anything else.
Result<PgoutputMessage> DecodeStreamAbort(WireReader& reader, const DecodeContext&) {
  StreamAbortMessage message;
  FRESHET_ASSIGN_OR_RETURN(message.xid, ReadXid(reader));
  FRESHET_ASSIGN_OR_RETURN(message.subxid, ReadXid(reader));
  return PgoutputMessage(message);
}

using Decoder = Result<PgoutputMessage> (*)(WireReader&, const DecodeContext&);

struct MessageType {
  const char* name = nullptr;
  const char* what = nullptr;  // names the frame in errors
  Decoder decode = nullptr;
  bool two_phase = false;
};

constexpr std::array<MessageType, 256> BuildMessageTypes() {
  std::array<MessageType, 256> types{};
  types['B'] = {"Begin", "pgoutput Begin", DecodeBegin};
  types['C'] = {"Commit", "pgoutput Commit", DecodeCommit};
  types['O'] = {"Origin", "pgoutput Origin", DecodeOrigin};
  types['R'] = {"Relation", "pgoutput Relation", DecodeRelation};
  types['Y'] = {"Type", "pgoutput Type", DecodeType};
  types['I'] = {"Insert", "pgoutput Insert", DecodeInsert};
  types['U'] = {"Update", "pgoutput Update", DecodeUpdate};
  types['D'] = {"Delete", "pgoutput Delete", DecodeDelete};
  types['T'] = {"Truncate", "pgoutput Truncate", DecodeTruncate};
  types['M'] = {"Message", "pgoutput Message", DecodeMessage};
  types['S'] = {"Stream Start", "pgoutput Stream Start", DecodeStreamStart};
  types['E'] = {"Stream Stop", "pgoutput Stream Stop", DecodeStreamStop};
  types['c'] = {"Stream Commit", "pgoutput Stream Commit", DecodeStreamCommit};
  types['A'] = {"Stream Abort", "pgoutput Stream Abort", DecodeStreamAbort};
  types['b'] = {"Begin Prepare", "pgoutput Begin Prepare", nullptr, true};
  types['P'] = {"Prepare", "pgoutput Prepare", nullptr, true};
  types['K'] = {"Commit Prepared", "pgoutput Commit Prepared", nullptr, true};
  types['r'] = {"Rollback Prepared", "pgoutput Rollback Prepared", nullptr, true};
  types['p'] = {"Stream Prepare", "pgoutput Stream Prepare", nullptr, true};
  return types;
}

constexpr std::array<MessageType, 256> kMessageTypes = BuildMessageTypes();

}  // namespace

Timestamp FromPostgresEpochMicros(int64_t micros) {
  // Saturate rather than overflow on hostile input; real commit times are far inside.
  if (micros > INT64_MAX - kPostgresEpochOffsetMicros) {
    micros = INT64_MAX - kPostgresEpochOffsetMicros;
  }
  return Timestamp(std::chrono::microseconds(micros + kPostgresEpochOffsetMicros));
}

int64_t ToPostgresEpochMicros(Timestamp time) {
  return time.time_since_epoch().count() - kPostgresEpochOffsetMicros;
}

std::string MessageTypeName(uint8_t type) {
  const MessageType& entry = kMessageTypes[type];
  if (entry.name != nullptr) return entry.name;
  if (type >= 0x20 && type < 0x7F) return fmt::format("unknown '{}'", static_cast<char>(type));
  return fmt::format("unknown 0x{:02x}", type);
}

Result<PgoutputMessage> DecodePgoutput(std::string_view payload, const DecodeContext& context) {
  if (payload.empty()) return Status::Corruption("empty pgoutput message");
  uint8_t type = static_cast<uint8_t>(payload[0]);
  const MessageType& entry = kMessageTypes[type];
  if (entry.two_phase) {
    return Status::NotSupported(
        "pgoutput {} message: two-phase decoding is not supported; create the slot without "
        "two_phase",
        entry.name);
  }
  if (entry.decode == nullptr) {
    return Status::Corruption("pgoutput message of {} type (first byte 0x{:02x}, {} bytes)",
                              MessageTypeName(type), type, payload.size());
  }
  WireReader reader(payload.substr(1), entry.what);
  FRESHET_ASSIGN_OR_RETURN(PgoutputMessage message, entry.decode(reader, context));
  FRESHET_RETURN_IF_ERROR(reader.ExpectEnd());
  return message;
}

}  // namespace freshet::pg
