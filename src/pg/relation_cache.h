#pragma once

// RelationCache: the table schemas pgoutput announced, by relation OID, and what changed.
//
// pgoutput sends a Relation message before the first change of a table in a session and again
// whenever the table's definition changed. Put() stores the new version and returns the schema
// events between it and the previous one. Relation messages carry no attribute numbers, so
// columns are matched by name; the columns left over on each side are paired by position as
// renames when both sides have the same number left and each pair has the same type, and are
// otherwise reported as dropped and added. (A drop plus an add of the same type at the same
// place therefore reads as a rename; the data flowing afterwards is the same either way.)
// Not thread-safe.

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "pg/change.h"

namespace freshet::pg {

// The events that turn `before` into `after`; kTableAdded when `before` is null.
std::vector<SchemaEvent> DiffRelations(const std::shared_ptr<const Relation>& before,
                                       const std::shared_ptr<const Relation>& after);

class RelationCache {
 public:
  // Stores `relation`, replacing any previous version, and returns what changed (nothing when
  // the relation is identical to the cached one).
  std::vector<SchemaEvent> Put(Relation relation);

  // NotFound (naming the OID) when no Relation message announced it: the stream is corrupt or
  // was resumed without its relation messages.
  Result<std::shared_ptr<const Relation>> Get(uint32_t oid) const;

  size_t size() const { return relations_.size(); }
  void Clear() { relations_.clear(); }

 private:
  std::unordered_map<uint32_t, std::shared_ptr<const Relation>> relations_;
};

}  // namespace freshet::pg
