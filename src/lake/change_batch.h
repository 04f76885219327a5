#pragma once

// ChangeBatch: row changes for a lake table, in source commit order, as the pipeline hands
// them to UpsertWriter::Apply. Values are DuckDB-typed (engine::Value) in the table's column
// order and of the kinds a scan of the table returns (a `long` column holds Value::Kind::kInt,
// a `string` column kString, ...), so lake/ needs nothing from the source's own types: a
// PostgreSQL change (pg::Change) maps insert/update/delete/truncate onto ChangeOp, its new tuple
// onto `row`, unchanged TOAST cells onto `unchanged`, and an old tuple of kind key or full onto
// `old_row`.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/value.h"

namespace freshet::lake {

// kTruncate empties the table (its rows and old row are empty).
enum class ChangeOp : uint8_t { kInsert, kUpdate, kDelete, kTruncate };

struct RowChange {
  ChangeOp op = ChangeOp::kInsert;
  uint64_t lsn = 0;
  // The row after an insert or update, one value per table column; empty for a delete.
  std::vector<engine::Value> row;
  // Empty, or one flag per value of `row`: true when the source did not send the value
  // (unchanged TOAST); the writer takes it from the row's current version.
  std::vector<bool> unchanged;
  // The row before an update or delete, one value per table column, when the source sent it:
  // its key columns at least (other cells NULL), or the whole row. Empty: the key is that of
  // `row` (an update that did not change the key).
  std::vector<engine::Value> old_row;
};

struct ChangeBatch {
  std::vector<RowChange> changes;  // in commit order; several may touch one key
  // When set, the commit records txn{app_id, app_version} (a pipeline: "freshet-<name>" and the
  // commit LSN of the last source transaction in the batch), even when no row changes, so a
  // restarted writer knows what the table already holds.
  std::string app_id;
  int64_t app_version = 0;
};

}  // namespace freshet::lake
