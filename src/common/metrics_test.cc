#include "common/metrics.h"

#include <thread>

#include <gtest/gtest.h>

namespace freshet {
namespace {

TEST(Metrics, RendersCountersAndGaugesWithSortedEscapedLabels) {
  MetricsRegistry registry;
  registry.Counter("freshet_rows_total", "Rows committed", {{"table", "public.orders"}})
      .Increment(3);
  registry.Counter("freshet_rows_total", "Rows committed", {{"table", "public.orders"}})
      .Increment(2);
  registry.Gauge("freshet_lag_bytes", "WAL not yet committed", {{"z", "1"}, {"a", "we\"ird\n"}})
      .Set(1.5);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP freshet_lag_bytes WAL not yet committed\n"
            "# TYPE freshet_lag_bytes gauge\n"
            "freshet_lag_bytes{a=\"we\\\"ird\\n\",z=\"1\"} 1.5\n"
            "# HELP freshet_rows_total Rows committed\n"
            "# TYPE freshet_rows_total counter\n"
            "freshet_rows_total{table=\"public.orders\"} 5\n");
}

TEST(Metrics, HistogramsHaveCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  auto& h = registry.Histogram("freshet_freshness_seconds", "Source commit to lake", {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(3);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP freshet_freshness_seconds Source commit to lake\n"
            "# TYPE freshet_freshness_seconds histogram\n"
            "freshet_freshness_seconds_bucket{le=\"0.1\"} 1\n"
            "freshet_freshness_seconds_bucket{le=\"1\"} 2\n"
            "freshet_freshness_seconds_bucket{le=\"+Inf\"} 3\n"
            "freshet_freshness_seconds_sum 3.55\n"
            "freshet_freshness_seconds_count 3\n");
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  auto& counter = registry.Counter("c", "c");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) counter.Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40000);
}

TEST(MetricsDeathTest, SameNameWithAnotherTypeIsABug) {
  MetricsRegistry registry;
  registry.Counter("x", "x");
  EXPECT_DEATH(registry.Gauge("x", "x"), "two types");
  EXPECT_DEATH(registry.Counter("bad-name", "x"), "bad metric name");
}

}  // namespace
}  // namespace freshet
