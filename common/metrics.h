// Prometheus metrics: counters, gauges and histograms with labels, and the
// text exposition format (version 0.0.4) served on /metrics.
//
// Debian 12 ships no prometheus-cpp, so this is a small registry of our own;
// `promtool check metrics` validates its output in the test suite.
//
// Usage: each component has its own `*_metrics` class that takes a
// Registry& in its constructor, registers its families once and keeps
// references to the children it updates (WithLabels is a map lookup under a
// lock; the returned child is updated lock-free and lives as long as the
// registry).
//
// Threading: everything is thread-safe. Counter/Gauge/Histogram updates are
// atomic operations; Serialize takes the registry lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sg::metrics {

class Counter {
 public:
  void Inc(double v = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double v = 1.0);
  void Dec(double v = 1.0) { Inc(-v); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; i == bounds().size() is +Inf.
  uint64_t CumulativeCount(size_t i) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, size bounds_+1
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Default latency buckets in seconds: 0.5 ms .. 60 s.
std::vector<double> LatencyBuckets();
// Size buckets in bytes: 1 KiB .. 64 MiB.
std::vector<double> SizeBuckets();

enum class Type { kCounter, kGauge, kHistogram };

// A metric name with its label names; children per label value tuple.
template <typename M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<M>()> make)
      : name_(std::move(name)), help_(std::move(help)),
        label_names_(std::move(label_names)), make_(std::move(make)) {}

  // The child for these label values (in label-name order). Aborts when the
  // number of values differs from the number of label names (a bug).
  M& WithLabels(const std::vector<std::string>& values);
  M& WithLabels(std::initializer_list<std::string> values) {
    return WithLabels(std::vector<std::string>(values));
  }
  // Shorthand for a family without labels.
  M& Get() { return WithLabels(std::vector<std::string>{}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls f(label_values, child) for every child, under the family lock.
  void ForEach(const std::function<void(const std::vector<std::string>&, const M&)>& f) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<M>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

// A sample produced at scrape time by a callback (e.g. consumer lag).
struct Sample {
  std::vector<std::string> label_values;
  double value = 0.0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering the same name twice returns the existing family when type and
  // labels match, and aborts otherwise (a bug). Names must match
  // [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds);
  // A gauge whose samples come from `collect`, called at every scrape (on the
  // scraping thread; it must be quick and thread-safe).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names,
                        std::function<std::vector<Sample>()> collect);

  // The whole registry in Prometheus text format 0.0.4.
  std::string Serialize() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // registration order
  Entry* Find(const std::string& name) const;
};

}  // namespace sg::metrics
