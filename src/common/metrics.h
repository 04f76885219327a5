#pragma once

// MetricsRegistry: counters, gauges and histograms with labels, rendered in Prometheus' text
// exposition format (version 0.0.4) for /metrics.
//
// Registration (Counter(), Gauge(), Histogram()) takes a mutex and returns a reference that
// stays valid for the registry's lifetime; hot paths keep the reference and update it without
// locks. Asking again for the same name and labels returns the same metric. A name reused
// with another type or help text is a programming error (CHECK). Thread-safe.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace freshet {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class CounterMetric {
 public:
  void Increment(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class GaugeMetric {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class HistogramMetric {
 public:
  // `bounds`: the upper bounds of the buckets, ascending; +Inf is implicit.
  explicit HistogramMetric(std::vector<double> bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then the total count (the +Inf bucket).
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  CounterMetric& Counter(const std::string& name, const std::string& help,
                         const MetricLabels& labels = {});
  GaugeMetric& Gauge(const std::string& name, const std::string& help,
                     const MetricLabels& labels = {});
  HistogramMetric& Histogram(const std::string& name, const std::string& help,
                             std::vector<double> bounds, const MetricLabels& labels = {});

  // Every metric, families sorted by name, in Prometheus text format.
  std::string RenderPrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    // Keyed by the rendered label set ({a="1",b="2"}), so equal labels share a metric.
    std::map<std::string, std::unique_ptr<CounterMetric>> counters;
    std::map<std::string, std::unique_ptr<GaugeMetric>> gauges;
    std::map<std::string, std::unique_ptr<HistogramMetric>> histograms;
  };
  Family& FamilyFor(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
};

}  // namespace freshet
