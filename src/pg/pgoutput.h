#pragma once

// The pgoutput logical replication messages, and a pure decoder: bytes in, one message out.
//
// Reference: PostgreSQL documentation, "Logical Replication Message Formats"
// (protocol-logicalrep-message-formats, doc/src/sgml/protocol.sgml), for protocol versions 1
// and 2. Version 2 adds the Stream Start/Stop/Commit/Abort messages, and inside a streamed
// block (between Stream Start and Stream Stop) the transaction id as the first field of
// Relation, Type, Insert, Update, Delete, Truncate and Message. Two-phase messages (version
// 3) are not requested by freshet and decode to NotSupported.
//
// The decoder holds no state and allocates only the message it returns. Every field is read
// through a bounds-checked WireReader, so a short or malformed frame is a Corruption Status
// naming the message and the byte, and an unknown type byte is Corruption too.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/change.h"

namespace freshet::pg {

// Microseconds since PostgreSQL's epoch (2000-01-01 00:00:00 UTC), as the protocol sends.
Timestamp FromPostgresEpochMicros(int64_t micros);
int64_t ToPostgresEpochMicros(Timestamp time);

struct BeginMessage {
  Lsn final_lsn;  // the commit record's LSN
  Timestamp commit_time;
  Xid xid;
};

struct CommitMessage {
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;  // end of the commit record: the position to confirm once it is durable
  Timestamp commit_time;
};

struct OriginMessage {
  Lsn commit_lsn;
  std::string name;
};

struct RelationMessage {
  std::optional<Xid> xid;  // inside a streamed block only
  Relation relation;
};

struct TypeMessage {
  std::optional<Xid> xid;
  uint32_t type_oid = 0;
  std::string schema;
  std::string name;
};

struct InsertMessage {
  std::optional<Xid> xid;
  uint32_t relation_oid = 0;
  Tuple new_tuple;
};

struct UpdateMessage {
  std::optional<Xid> xid;
  uint32_t relation_oid = 0;
  OldTupleKind old_kind = OldTupleKind::kNone;
  Tuple old_tuple;
  Tuple new_tuple;
};

struct DeleteMessage {
  std::optional<Xid> xid;
  uint32_t relation_oid = 0;
  OldTupleKind old_kind = OldTupleKind::kKey;
  Tuple old_tuple;
};

struct TruncateMessage {
  std::optional<Xid> xid;
  bool cascade = false;
  bool restart_identity = false;
  std::vector<uint32_t> relation_oids;
};

// Message: a pg_logical_emit_message record. Inside a streamed block it names the
// (sub)transaction that wrote it, so an aborted subtransaction's messages can be dropped.
struct MessageMessage {
  std::optional<Xid> xid;
  LogicalMessage message;
};

struct StreamStartMessage {
  Xid xid;
  bool first_segment = false;
};

struct StreamStopMessage {};

struct StreamCommitMessage {
  Xid xid;
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  Timestamp commit_time;
};

struct StreamAbortMessage {
  Xid xid;     // the top-level transaction
  Xid subxid;  // equal to xid when the whole transaction aborted
};

using PgoutputMessage =
    std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage, TypeMessage,
                 InsertMessage, UpdateMessage, DeleteMessage, TruncateMessage, MessageMessage,
                 StreamStartMessage, StreamStopMessage, StreamCommitMessage, StreamAbortMessage>;

struct DecodeContext {
  // True between Stream Start and Stream Stop: data messages then begin with an xid.
  bool in_streamed_block = false;
};

// Decodes one pgoutput message (the payload of one XLogData). Corruption for a truncated or
// malformed frame, trailing bytes or an unknown message type; NotSupported for two-phase
// messages.
Result<PgoutputMessage> DecodePgoutput(std::string_view payload, const DecodeContext& context);

// The message type's name for logs and errors: "Insert", "Stream Commit", "unknown 'z'".
std::string MessageTypeName(uint8_t type);

}  // namespace freshet::pg
