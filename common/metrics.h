// Prometheus metrics on prometheus-cpp (Debian's prometheus-cpp-dev): the
// library's core registry holds every family and its TextSerializer writes
// the exposition (text format 0.0.4) that StatusServer serves on /metrics.
//
// This header is the project's facade over it, kept small and stable so
// components do not depend on the library's builder API:
// - each component has its own `*_metrics` class that takes a Registry& in
//   its constructor, registers its families once and keeps references to the
//   children it updates;
// - WithLabels(values) finds a child by label values in label-name order (a
//   map lookup under the family's lock); the returned child lives as long as
//   the registry and is updated without a lock (Counter, Gauge: one atomic
//   operation; Histogram: prometheus-cpp takes a short mutex per Observe).
//   Keep the reference instead of calling WithLabels on a hot path.
// - The family list of a running `smimegate run` is pinned by a test
//   (tests/cmd/metric_families_test.py against tests/cmd/metric_families.txt);
//   adding a family means adding it there and to docs/operations.md.
//
// Errors: registering a family twice with another type or other labels, an
// invalid metric or label name, and a label-value count that differs from
// the label names are bugs: they abort with a message on stderr.
//
// Threading: everything is thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace sg::metrics {

template <typename M>
class Family;

class Counter {
 public:
  explicit Counter(prometheus::Counter& counter) : counter_(&counter) {}
  // Negative values are ignored (prometheus-cpp): counters only go up.
  void Inc(double v = 1.0) { counter_->Increment(v); }
  double Value() const { return counter_->Value(); }

 private:
  friend class Family<Counter>;
  prometheus::Counter* counter_;
};

class Gauge {
 public:
  explicit Gauge(prometheus::Gauge& gauge) : gauge_(&gauge) {}
  void Set(double v) { gauge_->Set(v); }
  void Inc(double v = 1.0) { gauge_->Increment(v); }
  void Dec(double v = 1.0) { gauge_->Decrement(v); }
  double Value() const { return gauge_->Value(); }

 private:
  friend class Family<Gauge>;
  prometheus::Gauge* gauge_;
};

class Histogram {
 public:
  Histogram(prometheus::Histogram& histogram, std::vector<double> bounds)
      : histogram_(&histogram), bounds_(std::move(bounds)) {}
  void Observe(double v) { histogram_->Observe(v); }
  // Read back (tests, tools): a scrape of this child.
  uint64_t Count() const;
  double Sum() const;
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; i == bounds().size() is +Inf.
  uint64_t CumulativeCount(size_t i) const;

 private:
  friend class Family<Histogram>;
  prometheus::Histogram* histogram_;
  std::vector<double> bounds_;
};

// Default latency buckets in seconds: 0.5 ms .. 60 s.
std::vector<double> LatencyBuckets();

enum class Type { kCounter, kGauge, kHistogram };

// A metric name with its label names; children per label value tuple.
template <typename M>
class Family {
 public:
  using Backend = std::conditional_t<
      std::is_same_v<M, Counter>, prometheus::Family<prometheus::Counter>,
      std::conditional_t<std::is_same_v<M, Gauge>, prometheus::Family<prometheus::Gauge>,
                         prometheus::Family<prometheus::Histogram>>>;

  Family(std::string name, std::string help, std::vector<std::string> label_names,
         Backend& backend, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        backend_(backend), bounds_(std::move(bounds)) {}

  // The child for these label values (in label-name order). Aborts when the
  // number of values differs from the number of label names (a bug).
  M& WithLabels(const std::vector<std::string>& values);
  M& WithLabels(std::initializer_list<std::string> values) {
    return WithLabels(std::vector<std::string>(values));
  }
  // Shorthand for a family without labels.
  M& Get() { return WithLabels(std::vector<std::string>{}); }
  // Removes the child for these label values: its series leaves the
  // exposition (a partition a consumer no longer owns). Nothing happens when
  // there is none. A reference WithLabels returned for it must not be used
  // afterwards; WithLabels with the same values makes a new child at 0.
  void Remove(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls f(label_values, child) for every child, under the family lock.
  void ForEach(const std::function<void(const std::vector<std::string>&, const M&)>& f) const;
  // The prometheus-cpp family (a Collectable).
  Backend& backend() { return backend_; }

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  Backend& backend_;
  std::vector<double> bounds_;  // histograms
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

  // The whole registry in Prometheus text format 0.0.4 (prometheus-cpp's
  // TextSerializer), families in registration order.
  std::string Serialize() const;

  // The prometheus-cpp registry, for code that uses the library directly.
  prometheus::Registry& backend() { return *backend_; }

 private:
  struct Entry;
  Entry* Find(const std::string& name) const;
  Entry& NewEntry(const std::string& name, const std::string& help, Type type,
                  const std::vector<std::string>& labels);

  std::unique_ptr<prometheus::Registry> backend_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // registration order
};

}  // namespace sg::metrics
