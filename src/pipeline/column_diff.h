#pragma once

// How a lake table's columns differ from its source relation's, for schema evolution while
// streaming (docs/schema-changes.md). Pure functions over plain values.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "lake/schema.h"
#include "pipeline/convert.h"

namespace freshet::pipeline {

struct ColumnDiff {
  // A type change the lake cannot apply in place.
  struct Retype {
    std::string column;  // the source column's name
    lake::DataType from;
    lake::DataType to;
  };

  std::vector<size_t> added;                                 // source column indexes
  std::vector<std::string> dropped;                          // lake column names
  std::vector<std::pair<std::string, std::string>> renamed;  // lake name, new source name
  std::vector<std::pair<size_t, lake::DataType>> widened;    // source column, its wider type
  std::optional<Retype> incompatible;

  bool empty() const {
    return added.empty() && dropped.empty() && renamed.empty() && widened.empty() && !incompatible;
  }
};

// Diffs `lake` (the lake table's data columns; `lake_attnums`: the source attnum recorded for
// each, where known) against `source` (the relation's columns with their lake types, in order).
// Columns match by name. A new name is a rename of a missing lake column with the same attnum
// (PostgreSQL keeps attnums across renames and never reuses them); `source_attnums` gives the
// source columns' attnums (0 when unknown) and is called only when a rename is possible. Lake
// columns without a recorded attnum fall back to pg::DiffRelations' rule: as many missing as
// new columns, of the same types in the same order, are renames. Matched columns whose type
// changed are widened (lake::IsSupportedWidening) or `incompatible`.
Result<ColumnDiff> DiffColumns(const std::vector<LakeColumn>& lake,
                               const std::map<std::string, int>& lake_attnums,
                               const std::vector<LakeColumn>& source,
                               const std::function<Result<std::vector<int>>()>& source_attnums);

}  // namespace freshet::pipeline
