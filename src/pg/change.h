#pragma once

// The values pg/ hands to the rest of freshet: relations (table schemas as pgoutput
// describes them), row changes, logical messages and schema events, grouped by transaction.
// Plain values, thread-compatible. Column values stay in PostgreSQL's wire form (text or
// binary, as the stream delivered them) next to their type OID; pg/types.h turns them into
// typed values.

#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/lsn.h"

namespace freshet::pg {

// A PostgreSQL transaction id (32 bits on the wire).
struct Xid {
  uint32_t value = 0;
  friend constexpr auto operator<=>(Xid, Xid) = default;
};

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

enum class ValueKind : uint8_t {
  kNull,
  // A TOASTed value the update did not change: PostgreSQL did not send it. It is not NULL;
  // the previous value stands.
  kUnchangedToast,
  kText,    // PostgreSQL's text output for the type
  kBinary,  // PostgreSQL's binary send format for the type
};

struct Value {
  ValueKind kind = ValueKind::kNull;
  std::string bytes;
  friend bool operator==(const Value&, const Value&) = default;
};

using Tuple = std::vector<Value>;

struct Column {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool key = false;  // part of the replica identity
  friend bool operator==(const Column&, const Column&) = default;
};

struct Relation {
  uint32_t oid = 0;
  std::string schema;
  std::string name;
  // 'd' default (primary key), 'n' nothing, 'f' full, 'i' index.
  char replica_identity = 'd';
  std::vector<Column> columns;
  friend bool operator==(const Relation&, const Relation&) = default;
};

enum class OldTupleKind : uint8_t {
  kNone,  // no old values sent (an update that did not change the key, replica identity default)
  kKey,   // only the replica identity columns are set; the others are NULL placeholders
  kFull,  // the whole old row (REPLICA IDENTITY FULL)
};

enum class ChangeKind : uint8_t {
  kInsert,
  kUpdate,
  kDelete,
  kTruncate,
  // A row as a snapshot read it (initial or re-snapshot): apply as an upsert by key.
  kRead,
};

// One row change, or the truncation of one table.
struct Change {
  ChangeKind kind = ChangeKind::kInsert;
  // The relation as it was when the change was decoded; shared by changes of one schema.
  std::shared_ptr<const Relation> relation;
  OldTupleKind old_kind = OldTupleKind::kNone;
  Tuple old_tuple;  // update (when sent) and delete
  Tuple new_tuple;  // insert and update
  // Truncate only.
  bool cascade = false;
  bool restart_identity = false;
};

// pg_logical_emit_message. Transactional ones arrive inside their transaction.
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn;
  std::string prefix;
  std::string content;
};

enum class SchemaEventKind : uint8_t {
  kTableAdded,    // first time this relation is seen
  kTableRenamed,  // schema or name changed
  kColumnAdded,
  kColumnDropped,
  kColumnRenamed,
  kColumnRetyped,  // type OID or type modifier changed
  kKeyChanged,     // replica identity columns or mode changed
};

std::string_view SchemaEventKindName(SchemaEventKind kind);

// What changed between two versions of a relation, one event per column affected.
struct SchemaEvent {
  SchemaEventKind kind = SchemaEventKind::kTableAdded;
  std::shared_ptr<const Relation> relation;  // the new version
  std::string column;                        // the column affected (its new name if renamed)
  std::string old_name;                      // renames: the previous table or column name
  uint32_t old_type_oid = 0;                 // retypes
  int32_t old_type_modifier = -1;
  uint32_t new_type_oid = 0;
  int32_t new_type_modifier = -1;

  std::string Describe() const;
};

// Transaction boundaries as the assembler reports them.
struct TransactionInfo {
  Xid xid;
  Lsn commit_lsn;
  Lsn end_lsn;  // confirm this once every change of the transaction is durable
  Timestamp commit_time;
  std::string origin;  // replication origin, empty when the change was made locally
  bool streamed = false;
};

}  // namespace freshet::pg
