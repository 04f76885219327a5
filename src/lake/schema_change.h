#pragma once

// Changing the schema of an existing Delta table in place, the way PROTOCOL.md asks writers to
// ("Column Mapping", "Type Widening"). Under column mapping mode `name` every column has a fixed
// physical name and id, so a rename changes only the logical name and a drop only removes the
// field: old files keep the physical column, readers no longer see it. Integer columns widen in
// place (byte -> short -> integer -> long): the field records `delta.typeChanges`, old files
// keep the narrow type and readers cast (scan.h).
//
// SchemaChange edits a copy of a snapshot's protocol and metaData; Stage puts them into a
// Transaction, whose Commit writes them as one version. Plain value type. Errors:
// InvalidArgument for a name clash, NotFound for an unknown column, NotSupported for a change
// the table cannot take (a rename or drop without column mapping, a narrowing type change).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "lake/actions.h"
#include "lake/schema.h"
#include "lake/snapshot.h"

namespace freshet::lake {

class Transaction;

inline constexpr std::string_view kColumnMappingModeKey = "delta.columnMapping.mode";
inline constexpr std::string_view kMaxColumnIdKey = "delta.columnMapping.maxColumnId";
inline constexpr std::string_view kEnableTypeWideningKey = "delta.enableTypeWidening";

// Gives every field of `fields` (and the struct fields inside them, at any depth) that has no
// column-mapping id the next id above `max_column_id` and a physical name: "col-<uuid>", or its
// current name when `keep_names` (turning mapping on for a table whose files use those names).
// Both go into the field's metadata. Returns the largest id now in use.
int64_t AssignColumnMapping(std::vector<StructField>& fields, int64_t max_column_id,
                            bool keep_names);

// Whether a column of type `from` may widen in place to `to` (the type widening feature):
// byte -> short -> integer -> long, float -> double, date -> timestamp_ntz, and decimal(p, s) ->
// decimal(p', s') with more precision, s' >= s and p' - s' >= p - s. Readers cast the values of
// older files to the new type.
bool IsSupportedWidening(const DataType& from, const DataType& to);

class SchemaChange {
 public:
  explicit SchemaChange(const Snapshot& snapshot);

  const Schema& schema() const { return schema_; }
  const Protocol& protocol() const { return protocol_; }
  // For table properties the change also sets (configuration).
  Metadata& metadata() { return metadata_; }
  // "none" or "name" after the edits so far.
  std::string column_mapping_mode() const;

  // Turns on column mapping mode `name` for a table without it: physical names are the current
  // names (the files already use them), ids are assigned, the columnMapping feature is added.
  // OK and nothing changes when the table is mapped already.
  Status EnableColumnMapping();
  // Appends `field`; under column mapping it gets the next id and a fresh physical name.
  Status AddColumn(StructField field);
  // Renames a top-level column (the partition column list follows). Needs column mapping.
  Status RenameColumn(const std::string& from, const std::string& to);
  // Removes a top-level column that is not a partition column. Needs column mapping.
  Status DropColumn(const std::string& name);
  // Widens a top-level column to `to` (IsSupportedWidening), recording delta.typeChanges and
  // adding the typeWidening feature. Needs a table on reader 3 / writer 7.
  Status WidenColumn(const std::string& name, const DataType& to);

  // Turns the change data feed on or off (delta.enableChangeDataFeed); turning it on adds the
  // changeDataFeed writer feature (tables on writer 7) or raises the writer version to 4.
  void SetChangeDataFeed(bool enabled);

  // Sets `key` to the string `value` in the metadata of top-level column `name`.
  Status SetColumnMetadata(const std::string& name, const std::string& key,
                           const std::string& value);

  // Stages the edited metaData (and protocol, when it changed) in `transaction`.
  void Stage(Transaction& transaction) const;

 private:
  StructField* Find(const std::string& name);
  Status RequireMapping(std::string_view what, const std::string& column) const;
  void AddFeature(const std::string& feature, bool reader);

  std::string table_path_;
  Protocol protocol_;
  bool protocol_changed_ = false;
  Metadata metadata_;
  Schema schema_;
};

}  // namespace freshet::lake
