#include "pg/relation_cache.h"

#include <algorithm>
#include <unordered_set>

namespace freshet::pg {
namespace {

SchemaEvent Event(SchemaEventKind kind, const std::shared_ptr<const Relation>& relation,
                  std::string column) {
  SchemaEvent event;
  event.kind = kind;
  event.relation = relation;
  event.column = std::move(column);
  return event;
}

const Column* FindColumn(const Relation& relation, const std::string& name) {
  for (const Column& column : relation.columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

bool KeysDiffer(const Relation& before, const Relation& after) {
  if (before.replica_identity != after.replica_identity) return true;
  std::vector<std::string> a;
  std::vector<std::string> b;
  for (const Column& c : before.columns) {
    if (c.key) a.push_back(c.name);
  }
  for (const Column& c : after.columns) {
    if (c.key) b.push_back(c.name);
  }
  return a != b;
}

}  // namespace

std::vector<SchemaEvent> DiffRelations(const std::shared_ptr<const Relation>& before,
                                       const std::shared_ptr<const Relation>& after) {
  std::vector<SchemaEvent> events;
  if (before == nullptr) {
    events.push_back(Event(SchemaEventKind::kTableAdded, after, ""));
    return events;
  }
  if (before->schema != after->schema || before->name != after->name) {
    SchemaEvent event = Event(SchemaEventKind::kTableRenamed, after, "");
    event.old_name = before->schema + "." + before->name;
    events.push_back(std::move(event));
  }
  // Columns present on both sides, by name: retyped or unchanged.
  std::vector<const Column*> only_before;
  std::vector<const Column*> only_after;
  for (const Column& old_column : before->columns) {
    const Column* new_column = FindColumn(*after, old_column.name);
    if (new_column == nullptr) {
      only_before.push_back(&old_column);
      continue;
    }
    if (new_column->type_oid != old_column.type_oid ||
        new_column->type_modifier != old_column.type_modifier) {
      SchemaEvent event = Event(SchemaEventKind::kColumnRetyped, after, new_column->name);
      event.old_type_oid = old_column.type_oid;
      event.old_type_modifier = old_column.type_modifier;
      event.new_type_oid = new_column->type_oid;
      event.new_type_modifier = new_column->type_modifier;
      events.push_back(std::move(event));
    }
  }
  for (const Column& new_column : after->columns) {
    if (FindColumn(*before, new_column.name) == nullptr) only_after.push_back(&new_column);
  }
  bool renames = !only_before.empty() && only_before.size() == only_after.size();
  for (size_t i = 0; renames && i < only_before.size(); ++i) {
    renames = only_before[i]->type_oid == only_after[i]->type_oid &&
              only_before[i]->type_modifier == only_after[i]->type_modifier;
  }
  if (renames) {
    for (size_t i = 0; i < only_before.size(); ++i) {
      SchemaEvent event = Event(SchemaEventKind::kColumnRenamed, after, only_after[i]->name);
      event.old_name = only_before[i]->name;
      event.new_type_oid = only_after[i]->type_oid;
      event.new_type_modifier = only_after[i]->type_modifier;
      events.push_back(std::move(event));
    }
  } else {
    for (const Column* column : only_before) {
      SchemaEvent event = Event(SchemaEventKind::kColumnDropped, after, column->name);
      event.old_type_oid = column->type_oid;
      event.old_type_modifier = column->type_modifier;
      events.push_back(std::move(event));
    }
    for (const Column* column : only_after) {
      SchemaEvent event = Event(SchemaEventKind::kColumnAdded, after, column->name);
      event.new_type_oid = column->type_oid;
      event.new_type_modifier = column->type_modifier;
      events.push_back(std::move(event));
    }
  }
  if (KeysDiffer(*before, *after)) events.push_back(Event(SchemaEventKind::kKeyChanged, after, ""));
  return events;
}

std::vector<SchemaEvent> RelationCache::Put(Relation relation) {
  auto& slot = relations_[relation.oid];
  if (slot != nullptr && *slot == relation) return {};
  auto next = std::make_shared<const Relation>(std::move(relation));
  std::vector<SchemaEvent> events = DiffRelations(slot, next);
  slot = std::move(next);
  return events;
}

Result<std::shared_ptr<const Relation>> RelationCache::Get(uint32_t oid) const {
  auto it = relations_.find(oid);
  if (it == relations_.end()) {
    return Status::NotFound(
        "pgoutput referenced relation OID {} before any Relation message described it", oid);
  }
  return it->second;
}

std::string_view SchemaEventKindName(SchemaEventKind kind) {
  switch (kind) {
    case SchemaEventKind::kTableAdded:
      return "table added";
    case SchemaEventKind::kTableRenamed:
      return "table renamed";
    case SchemaEventKind::kColumnAdded:
      return "column added";
    case SchemaEventKind::kColumnDropped:
      return "column dropped";
    case SchemaEventKind::kColumnRenamed:
      return "column renamed";
    case SchemaEventKind::kColumnRetyped:
      return "column retyped";
    case SchemaEventKind::kKeyChanged:
      return "key changed";
  }
  return "unknown";
}

std::string SchemaEvent::Describe() const {
  std::string table = relation ? relation->schema + "." + relation->name : "?";
  switch (kind) {
    case SchemaEventKind::kTableAdded:
      return fmt::format("{}: {}", table, SchemaEventKindName(kind));
    case SchemaEventKind::kTableRenamed:
      return fmt::format("{}: renamed from {}", table, old_name);
    case SchemaEventKind::kColumnRenamed:
      return fmt::format("{}: column {} renamed to {}", table, old_name, column);
    case SchemaEventKind::kColumnRetyped:
      return fmt::format("{}: column {} changed type from OID {} ({}) to OID {} ({})", table,
                         column, old_type_oid, old_type_modifier, new_type_oid, new_type_modifier);
    case SchemaEventKind::kKeyChanged:
      return fmt::format("{}: replica identity changed", table);
    default:
      return fmt::format("{}: {} {}", table, SchemaEventKindName(kind), column);
  }
}

}  // namespace freshet::pg
