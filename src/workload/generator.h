#pragma once

// An OLTP-like workload on a small shop schema (customers, products, orders, order_items),
// for the demo, tests and benchmarks of change capture.
//
// Each transaction is one business action: a new customer (a few with long, TOASTed notes),
// a new order with 1-5 items, an order moving through its statuses, a stock or price change,
// loyalty points (an update that leaves the TOASTed notes unchanged), or the deletion of a
// cancelled order with its items. The generator assigns the ids itself and is assumed to be
// the only writer, so its counts of inserted, updated and deleted rows are exact. Values are
// random but reproducible from the seed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "pg/connection.h"

namespace freshet::workload {

struct GeneratorOptions {
  pg::ConnectOptions connection;
  double changes_per_second = 1000;            // row changes; <= 0 means as fast as possible
  std::chrono::milliseconds duration{10'000};  // 0: until stopped or max_changes
  uint64_t max_changes = 0;                    // 0: no limit
  uint64_t seed = 42;
  bool create_schema = true;  // create (if missing) and seed the tables first
  int scale = 1;              // seed rows: 1000 customers and 200 products per unit
};

struct GeneratorStats {
  uint64_t inserts = 0;
  uint64_t updates = 0;
  uint64_t deletes = 0;
  uint64_t transactions = 0;
  std::chrono::milliseconds elapsed{0};

  uint64_t changes() const { return inserts + updates + deletes; }
};

// Creates the four tables (if missing) and seeds customers and products when empty.
Status CreateShopSchema(pg::Connection& connection, int scale);

// Runs the workload until the duration or change limit is reached or `stop()` returns true.
// `progress` (optional) is called about once a second.
Result<GeneratorStats> RunGenerator(const GeneratorOptions& options,
                                    const std::function<bool()>& stop,
                                    const std::function<void(const GeneratorStats&)>& progress);

}  // namespace freshet::workload
