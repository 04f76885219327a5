#include "common/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/check.h"

namespace freshet {
namespace {

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// {a="1",b="2"} with labels sorted by name, or "" for none.
std::string RenderLabels(MetricLabels labels, const std::string& extra_name = "",
                         const std::string& extra_value = "") {
  if (!extra_name.empty()) labels.emplace_back(extra_name, extra_value);
  if (labels.empty()) return "";
  std::sort(labels.begin(), labels.end());
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    FRESHET_CHECK(ValidMetricName(name) && name.find(':') == std::string::npos)
        << "bad label name " << name;
    out += fmt::format("{}{}=\"{}\"", out.size() > 1 ? "," : "", name, EscapeLabelValue(value));
  }
  return out + "}";
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// Adds the label `le` inside an already rendered label set.
std::string WithBucketLabel(const std::string& labels, const std::string& bound) {
  std::string le = fmt::format("le=\"{}\"", bound);
  if (labels.empty()) return "{" + le + "}";
  return labels.substr(0, labels.size() - 1) + "," + le + "}";
}

}  // namespace

HistogramMetric::HistogramMetric(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  FRESHET_CHECK(std::is_sorted(bounds_.begin(), bounds_.end())) << "bucket bounds must ascend";
}

void HistogramMetric::Observe(double value) {
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                      bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> HistogramMetric::CumulativeCounts() const {
  std::vector<uint64_t> out;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out.push_back(running);
  }
  return out;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name, Type type,
                                                    const std::string& help) {
  FRESHET_CHECK(ValidMetricName(name)) << "bad metric name " << name;
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  FRESHET_CHECK(it->second.type == type) << "metric " << name << " registered with two types";
  return it->second;
}

CounterMetric& MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                        const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, Type::kCounter, help).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<CounterMetric>();
  return *slot;
}

GaugeMetric& MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                                    const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, Type::kGauge, help).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<GaugeMetric>();
  return *slot;
}

HistogramMetric& MetricsRegistry::Histogram(const std::string& name, const std::string& help,
                                            std::vector<double> bounds,
                                            const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, Type::kHistogram, help).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<HistogramMetric>(std::move(bounds));
  return *slot;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(family.help), name,
                       kTypeNames[static_cast<int>(family.type)]);
    for (const auto& [labels, metric] : family.counters) {
      out += fmt::format("{}{} {}\n", name, labels, FormatValue(metric->value()));
    }
    for (const auto& [labels, metric] : family.gauges) {
      out += fmt::format("{}{} {}\n", name, labels, FormatValue(metric->value()));
    }
    for (const auto& [labels, metric] : family.histograms) {
      std::vector<uint64_t> counts = metric->CumulativeCounts();
      for (size_t i = 0; i < metric->bounds().size(); ++i) {
        out += fmt::format("{}_bucket{} {}\n", name,
                           WithBucketLabel(labels, FormatValue(metric->bounds()[i])), counts[i]);
      }
      out += fmt::format("{}_bucket{} {}\n", name, WithBucketLabel(labels, "+Inf"), counts.back());
      out += fmt::format("{}_sum{} {}\n", name, labels, FormatValue(metric->sum()));
      out += fmt::format("{}_count{} {}\n", name, labels, counts.back());
    }
  }
  return out;
}

}  // namespace freshet
