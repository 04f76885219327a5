#pragma once

// The WAL the capture benchmarks read (pg_capture_bench, pipeline_bench), so their figures are
// over the same workload: a 6-column table `t` in `publication`, the given slots created before
// any change, then `inserts` inserts, `updates` updates of the first rows and `deletes` deletes
// of the last ones (the benches use inserts / 2 and inserts / 10), in 10k-row transactions.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "pg/connection.h"
#include "pg/replication_setup.h"

namespace freshet::bench {

inline Status WriteBenchWal(pg::Connection& sql, const std::string& dsn,
                            const std::string& publication, const std::vector<std::string>& slots,
                            int64_t inserts, int64_t updates, int64_t deletes) {
  FRESHET_RETURN_IF_ERROR(sql.Execute(
      "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c float8, d timestamptz, e bool)"));
  FRESHET_RETURN_IF_ERROR(
      pg::EnsurePublication(sql, {.name = publication, .tables = {"public.t"}}));
  for (const std::string& slot : slots) {
    FRESHET_ASSIGN_OR_RETURN(pg::Connection replication,
                             pg::Connection::Open({.dsn = dsn, .replication = true}));
    FRESHET_RETURN_IF_ERROR(pg::CreateSlot(replication, slot, false).status());
  }
  constexpr int64_t kBatch = 10'000;
  for (int64_t first = 1; first <= inserts; first += kBatch) {
    FRESHET_RETURN_IF_ERROR(sql.Execute(fmt::format(
        "INSERT INTO t SELECT g, g % 1000, 'row ' || g, g * 0.5, '2024-01-01'::timestamptz + g * "
        "interval '1 second', g % 2 = 0 FROM generate_series({}, {}) g",
        first, std::min(inserts, first + kBatch - 1))));
  }
  for (int64_t first = 1; first <= updates; first += kBatch) {
    FRESHET_RETURN_IF_ERROR(
        sql.Execute(fmt::format("UPDATE t SET a = a + 1, b = b || '!' WHERE id BETWEEN {} AND {}",
                                first, std::min(updates, first + kBatch - 1))));
  }
  for (int64_t first = inserts - deletes + 1; first <= inserts; first += kBatch) {
    FRESHET_RETURN_IF_ERROR(sql.Execute(fmt::format("DELETE FROM t WHERE id BETWEEN {} AND {}",
                                                    first, std::min(inserts, first + kBatch - 1))));
  }
  return Status::Ok();
}

}  // namespace freshet::bench
