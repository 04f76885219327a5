#pragma once

// Change data feed (PROTOCOL.md "Change Data Files", "Add CDC File"): the row-level changes
// of a range of table versions, as one DuckDB SELECT.
//
// A version with `cdc` actions contributes the rows of its change-data files, in the order the
// writer listed the files and, inside a file, in row order (`file_row_number`): freshet's
// UpsertWriter records every change of a batch individually, in source order, so the feed
// replays exactly. A version without `cdc` actions contributes by the spec's fallback: the rows
// of each dataChange=true add of a new file are inserts, the live rows of each dataChange=true
// remove are deletes, and a file re-added with a larger deletion vector yields the rows newly
// marked as deletes. Commits whose file actions are all dataChange=false (OPTIMIZE, compaction)
// contribute nothing. Columns follow the schema of the last version of the range; columns a
// change file lacks read as NULL.

#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "engine/database.h"
#include "lake/actions.h"
#include "lake/fs/file_system.h"

namespace freshet::lake {

// Names of the columns the feed adds after the table's columns.
inline constexpr const char* kChangeTypeColumn = "_change_type";
inline constexpr const char* kCommitVersionColumn = "_commit_version";
inline constexpr const char* kCommitTimestampColumn = "_commit_timestamp";
// The folder (under the table root) of change-data files.
inline constexpr const char* kChangeDataFolder = "_change_data";

// The change data feed of versions [from, to] (to: the latest when unset) as one DuckDB
// SELECT: the table's columns (logical names), then _change_type VARCHAR ('insert',
// 'update_preimage', 'update_postimage', 'delete'), _commit_version BIGINT and
// _commit_timestamp TIMESTAMP WITH TIME ZONE, ordered by _commit_version and then by the
// order the writer recorded the changes in. Commits with dataChange=false (OPTIMIZE)
// contribute nothing. InvalidArgument naming the version when the feed was not enabled for
// a version in range, or when from > to / out of range.
Result<std::string> ChangeFeedSql(FileSystem& fs, engine::Connection& connection,
                                  const std::string& table_path, Version from,
                                  std::optional<Version> to = std::nullopt);

// True when `configuration` (metaData.configuration) enables the change data feed.
bool ChangeFeedEnabled(const std::map<std::string, std::string>& configuration);

}  // namespace freshet::lake
