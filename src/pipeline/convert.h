#pragma once

// Conversion from PostgreSQL's change stream to the lake's change batches.
//
// LakeDataTypeFor picks the Delta type of a PostgreSQL column (docs/types.md, through
// pg::LakeTypeFor). Types Delta has no type for (time, interval, uuid, json, inet, arrays,
// composites, ...) are strings holding PostgreSQL's text output, so reading them back prints
// what SELECT prints. RelationSchema builds a table's Delta schema; each field's metadata
// carries "freshet.sourceType", PostgreSQL's format_type() of the source column.
//
// RowConverter maps the tuples of one relation onto a lake table's columns by name (columns
// the relation lacks are NULL) and turns each pg::Change into a lake::RowChange: snapshot reads
// and inserts insert, updates keep unchanged TOAST cells as `unchanged`, old key or full tuples
// become `old_row`, truncates truncate. Dates and timestamps move from PostgreSQL's 2000 epoch
// to the Unix epoch engine::Value uses. Thread-compatible.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/value.h"
#include "lake/change_batch.h"
#include "lake/schema.h"
#include "pg/change.h"
#include "pg/types.h"

namespace freshet::pipeline {

// Days and microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
inline constexpr int64_t kPostgresEpochDays = 10957;
inline constexpr int64_t kPostgresEpochMicros = kPostgresEpochDays * 86'400'000'000;

// The Delta type of a column of `type_oid` / `type_modifier`.
lake::DataType LakeDataTypeFor(uint32_t type_oid, int32_t type_modifier,
                               const pg::TypeRegistry& registry);

// The Delta schema of `relation`: one nullable field per column, in order. `source_types`
// (format_type() text per column, or empty) goes into each field's metadata.
// `attnums` (the source columns' pg_attribute.attnum, or empty) too, as kAttnumMetadataKey.
lake::Schema RelationSchema(const pg::Relation& relation, const pg::TypeRegistry& registry,
                            const std::vector<std::string>& source_types,
                            const std::vector<int>& attnums = {});

// The field metadata JSON carrying `source_type` and, when above 0, `attnum`.
std::string SourceTypeMetadata(const std::string& source_type, int attnum = 0);

// Field metadata key of the source column's attnum. PostgreSQL keeps a column's attnum across
// renames and type changes and never reuses it, so it tells a rename from a drop and an add
// (the replication stream's relation messages carry names only).
inline constexpr const char* kAttnumMetadataKey = "freshet.attnum";

// One decoded value as the engine::Value a column of `type` holds. `column` names the value in
// errors. Unchanged TOAST is not a value: callers handle it first.
Result<engine::Value> ToEngineValue(pg::Datum datum, const lake::DataType& type,
                                    std::string_view column, pg::UnrepresentableRule rule,
                                    pg::UnrepresentableCounters& counters);

// "-12.340" as the unscaled integer of a decimal with `scale` digits after the point (rounded
// half away from zero when the text has more). InvalidArgument for text that is not a finite
// decimal or does not fit 38 digits.
Result<engine::Int128> ParseDecimalText(std::string_view text, int scale);

struct LakeColumn {
  std::string name;
  lake::DataType type;
};

class RowConverter {
 public:
  // `columns`: the lake table's data columns, in order (for append-only tables, without the
  // operation and LSN columns).
  RowConverter(const pg::Relation& relation, std::vector<LakeColumn> columns,
               const pg::TypeRegistry& registry,
               pg::UnrepresentableRule rule = pg::UnrepresentableRule::kFail);

  // The RowChange of `change` (of this converter's relation); `lsn` is its transaction's
  // commit LSN.
  Result<lake::RowChange> Convert(const pg::Change& change, uint64_t lsn) const;

  const std::vector<LakeColumn>& columns() const { return columns_; }
  const pg::UnrepresentableCounters& counters() const { return counters_; }

 private:
  Result<std::vector<engine::Value>> ConvertTuple(const pg::Tuple& tuple,
                                                  std::vector<bool>* unchanged) const;

  std::vector<LakeColumn> columns_;
  std::vector<int> source_index_;      // per lake column: index in the tuple, or -1
  std::vector<uint32_t> source_type_;  // per lake column: the source type OID
  const pg::TypeRegistry* registry_;
  pg::UnrepresentableRule rule_;
  mutable pg::UnrepresentableCounters counters_;
};

}  // namespace freshet::pipeline
