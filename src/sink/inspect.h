#pragma once

// InspectSink: a sink's progress read from outside the worker (for `freshet sink status` and
// `freshet status`): the destination's freshet_sink_offsets against each matching lake
// table's latest version. Rows/s and pause messages live only in the running worker
// (PostgresSink::status()); here the state is "not copied yet", "following" or "caught up".
// Unavailable when the destination cannot be reached.

#include <string>

#include "common/result.h"
#include "lake/fs/file_system.h"
#include "sink/postgres_sink.h"
#include "sink/sink_config.h"

namespace freshet::sink {

Result<SinkStatus> InspectSink(const PostgresSinkConfig& config, lake::FileSystem& fs,
                               const std::string& lake_root);

}  // namespace freshet::sink
