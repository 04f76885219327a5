#pragma once

// Publication and replication slot management: the server-side objects a change stream needs.
//
// EnsurePublication creates the publication or adds the tables it lacks; tables are named
// exactly ("public.orders"), by schema ("sales.*", PostgreSQL 15's TABLES IN SCHEMA), or by
// LIKE pattern ("public.order_%", resolved against the tables that exist now). Partitioned
// tables publish through their root when publish_via_partition_root is set, so changes carry
// the parent's relation and a new partition needs no publication change.
//
// Slots are logical and use pgoutput. CreateSlot runs on a replication connection and can
// export a snapshot: it stays usable by other sessions (SET TRANSACTION SNAPSHOT) only while
// that connection stays open and issues no other command, which is what makes the initial
// snapshot and the stream meet exactly at the slot's consistent point.
//
// Errors: NotFound for a missing table or slot; AlreadyExists when creating a slot that
// exists; PermissionDenied for missing privileges (REPLICATION, CREATE on the database,
// table ownership for publications); InvalidArgument when wal_level is not logical; Conflict
// when a slot is active in another process.

#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/connection.h"

namespace freshet::pg {

struct PublicationOptions {
  std::string name;
  // Empty with all_tables false is InvalidArgument.
  std::vector<std::string> tables;
  bool all_tables = false;
  bool publish_via_partition_root = true;
};

Status EnsurePublication(Connection& connection, const PublicationOptions& options);

// The PublicationOptions::tables entry naming exactly `schema`.`table`: the table name's LIKE
// wildcards (_ and %) and backslashes escaped, so "public.a_b" does not also take public.aXb.
std::string ExactTablePattern(std::string_view schema, std::string_view table);

struct SlotInfo {
  std::string name;
  Lsn consistent_point;       // streaming from here sees every change the snapshot misses
  std::string snapshot_name;  // empty unless exported
};

// REQUIRES: `replication` was opened with ConnectOptions::replication.
Result<SlotInfo> CreateSlot(Connection& replication, std::string_view name, bool export_snapshot,
                            bool temporary = false);

struct SlotState {
  bool active = false;
  std::optional<int> active_pid;
  Lsn restart_lsn;
  Lsn confirmed_flush_lsn;
  // "reserved", "extended", "unreserved" or "lost" (lost: invalidated by max_slot_wal_keep_size)
  std::string wal_status;
};

// NotFound when the slot does not exist; InvalidArgument when it exists but is not a logical
// pgoutput slot of this database.
Result<SlotState> GetSlot(Connection& connection, std::string_view name);
Status DropSlot(Connection& connection, std::string_view name);

}  // namespace freshet::pg
