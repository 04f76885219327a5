#include "pipeline/column_diff.h"

#include <algorithm>
#include <optional>

#include "lake/schema_change.h"

namespace freshet::pipeline {
namespace {

size_t FindColumn(const std::vector<LakeColumn>& columns, const std::string& name) {
  auto found = std::find_if(columns.begin(), columns.end(),
                            [&](const LakeColumn& column) { return column.name == name; });
  return static_cast<size_t>(found - columns.begin());
}

// Adds the type change of `source` (known before as `from`) to `diff`: a widening, or the
// incompatible change. False when incompatible.
bool AddTypeChange(const LakeColumn& from, const LakeColumn& source, size_t index,
                   ColumnDiff& diff) {
  if (from.type == source.type) return true;
  // A narrower integer than the lake's: the lake column was widened already (a relation older
  // than the lake's schema, replayed after a restart) or the source narrowed it; its values
  // fit the wider column, so nothing changes.
  if (lake::IsSupportedWidening(source.type, from.type)) return true;
  if (lake::IsSupportedWidening(from.type, source.type)) {
    diff.widened.emplace_back(index, source.type);
    return true;
  }
  diff.incompatible = ColumnDiff::Retype{source.name, from.type, source.type};
  return false;
}

}  // namespace

Result<ColumnDiff> DiffColumns(const std::vector<LakeColumn>& lake,
                               const std::map<std::string, int>& lake_attnums,
                               const std::vector<LakeColumn>& source,
                               const std::function<Result<std::vector<int>>()>& source_attnums) {
  ColumnDiff diff;
  std::optional<std::vector<int>> attnums;  // asked for once, when needed
  auto attnum_of = [&](size_t index) -> Result<int> {
    if (!attnums) {
      FRESHET_ASSIGN_OR_RETURN(attnums, source_attnums());
    }
    return index < attnums->size() ? (*attnums)[index] : 0;
  };
  std::vector<size_t> missing;  // lake columns the source no longer has
  for (size_t index = 0; index < source.size(); ++index) {
    size_t existing = FindColumn(lake, source[index].name);
    if (existing == lake.size()) {
      diff.added.push_back(index);
      continue;
    }
    ColumnDiff retyped;
    if (AddTypeChange(lake[existing], source[index], index, retyped)) {
      diff.widened.insert(diff.widened.end(), retyped.widened.begin(), retyped.widened.end());
      continue;
    }
    // Same name, incompatible type: a column dropped and added again under its old name has a
    // new attnum, and is a new column rather than a type change.
    auto known = lake_attnums.find(lake[existing].name);
    FRESHET_ASSIGN_OR_RETURN(int attnum, attnum_of(index));
    if (known != lake_attnums.end() && attnum > 0 && attnum != known->second) {
      missing.push_back(existing);
      diff.added.push_back(index);
      continue;
    }
    diff.incompatible = std::move(retyped.incompatible);
    return diff;
  }
  for (size_t index = 0; index < lake.size(); ++index) {
    if (FindColumn(source, lake[index].name) == source.size()) missing.push_back(index);
  }
  std::sort(missing.begin(), missing.end());
  std::vector<std::pair<size_t, size_t>> renames;  // lake column, source column
  if (!diff.added.empty() && !missing.empty()) {
    FRESHET_RETURN_IF_ERROR(attnum_of(0).status());
    for (auto added = diff.added.begin(); added != diff.added.end();) {
      int attnum = *added < attnums->size() ? (*attnums)[*added] : 0;
      auto match = std::find_if(missing.begin(), missing.end(), [&](size_t index) {
        auto known = lake_attnums.find(lake[index].name);
        return attnum > 0 && known != lake_attnums.end() && known->second == attnum;
      });
      if (match == missing.end()) {
        ++added;
        continue;
      }
      renames.emplace_back(*match, *added);
      missing.erase(match);
      added = diff.added.erase(added);
    }
    bool by_position = !missing.empty() && missing.size() == diff.added.size();
    for (size_t i = 0; by_position && i < missing.size(); ++i) {
      by_position = lake_attnums.count(lake[missing[i]].name) == 0 &&
                    lake[missing[i]].type == source[diff.added[i]].type;
    }
    if (by_position) {
      for (size_t i = 0; i < missing.size(); ++i) renames.emplace_back(missing[i], diff.added[i]);
      missing.clear();
      diff.added.clear();
    }
  }
  for (const auto& [from, index] : renames) {
    if (!AddTypeChange(lake[from], source[index], index, diff)) return diff;
    diff.renamed.emplace_back(lake[from].name, source[index].name);
  }
  for (size_t index : missing) diff.dropped.push_back(lake[index].name);
  return diff;
}

}  // namespace freshet::pipeline
