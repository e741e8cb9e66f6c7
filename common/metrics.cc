#include "common/metrics.h"

#include <prometheus/check_names.h>
#include <prometheus/collectable.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace sg::metrics {
namespace {

[[noreturn]] void Bug(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

// prometheus-cpp 1.0 writes HELP text as given; the text format wants
// backslash and line feed escaped.
std::string EscapeHelp(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void CheckNames(const std::string& name, const std::vector<std::string>& labels) {
  if (!prometheus::CheckMetricName(name)) Bug("invalid metric name " + name);
  for (const auto& l : labels) {
    if (!prometheus::CheckLabelName(l) || l == "le") Bug(name + ": invalid label name " + l);
  }
}

prometheus::Labels LabelsOf(const std::string& family, const std::vector<std::string>& names,
                            const std::vector<std::string>& values) {
  if (values.size() != names.size()) {
    Bug(family + ": expected " + std::to_string(names.size()) + " label values, got " +
        std::to_string(values.size()));
  }
  prometheus::Labels labels;
  for (size_t i = 0; i < names.size(); ++i) labels.emplace(names[i], values[i]);
  return labels;
}

// A gauge family whose samples a callback produces at scrape time.
class CallbackGauge : public prometheus::Collectable {
 public:
  CallbackGauge(std::string name, std::string help, std::vector<std::string> label_names,
                std::function<std::vector<Sample>()> collect)
      : name_(std::move(name)), help_(EscapeHelp(help)), label_names_(std::move(label_names)),
        collect_(std::move(collect)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family;
    family.name = name_;
    family.help = help_;
    family.type = prometheus::MetricType::Gauge;
    for (const auto& s : collect_()) {
      if (s.label_values.size() != label_names_.size()) continue;
      prometheus::ClientMetric m;
      for (size_t i = 0; i < label_names_.size(); ++i) {
        m.label.push_back({label_names_[i], s.label_values[i]});
      }
      m.gauge.value = s.value;
      family.metric.push_back(std::move(m));
    }
    return {std::move(family)};
  }

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::function<std::vector<Sample>()> collect_;
};

// prometheus-cpp keeps a child's labels in a std::map (sorted by name); the
// exposition keeps them in the order the family declared, as before.
void KeepLabelOrder(const std::vector<std::string>& names, prometheus::MetricFamily& family) {
  if (names.size() < 2) return;
  auto rank = [&names](const prometheus::ClientMetric::Label& l) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), l.name) - names.begin());
  };
  for (auto& m : family.metric) {
    std::stable_sort(m.label.begin(), m.label.end(),
                     [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  }
}

prometheus::ClientMetric::Histogram Scrape(const prometheus::Histogram& h) {
  return h.Collect().histogram;
}

}  // namespace

uint64_t Histogram::Count() const { return Scrape(*histogram_).sample_count; }
double Histogram::Sum() const { return Scrape(*histogram_).sample_sum; }
uint64_t Histogram::CumulativeCount(size_t i) const {
  const auto h = Scrape(*histogram_);
  return i < h.bucket.size() ? h.bucket[i].cumulative_count : h.sample_count;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,    60};
}

template <typename M>
M& Family<M>::WithLabels(const std::vector<std::string>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  prometheus::Labels labels = LabelsOf(name_, label_names_, values);
  std::unique_ptr<M> child;
  if constexpr (std::is_same_v<M, Histogram>) {
    child = std::make_unique<M>(backend_.Add(labels, bounds_), bounds_);
  } else {
    child = std::make_unique<M>(backend_.Add(labels));
  }
  return *children_.emplace(values, std::move(child)).first->second;
}

template <typename M>
void Family<M>::Remove(const std::vector<std::string>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) return;
  if constexpr (std::is_same_v<M, Counter>) {
    backend_.Remove(it->second->counter_);
  } else if constexpr (std::is_same_v<M, Gauge>) {
    backend_.Remove(it->second->gauge_);
  } else {
    backend_.Remove(it->second->histogram_);
  }
  children_.erase(it);
}

template <typename M>
void Family<M>::ForEach(
    const std::function<void(const std::vector<std::string>&, const M&)>& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, child] : children_) f(labels, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::string name;
  std::string help;  // escaped
  Type type = Type::kGauge;
  std::vector<std::string> label_names;
  std::unique_ptr<Family<Counter>> counter;
  std::unique_ptr<Family<Gauge>> gauge;
  std::unique_ptr<Family<Histogram>> histogram;
  std::unique_ptr<CallbackGauge> callback;

  const prometheus::Collectable& collectable() const {
    if (counter) return counter->backend();
    if (gauge) return gauge->backend();
    if (histogram) return histogram->backend();
    return *callback;
  }
};

Registry::Registry() : backend_(std::make_unique<prometheus::Registry>()) {}
Registry::~Registry() = default;

Registry::Entry* Registry::Find(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e->name == name) return e.get();
  }
  return nullptr;
}

Registry::Entry& Registry::NewEntry(const std::string& name, const std::string& help, Type type,
                                    const std::vector<std::string>& labels) {
  CheckNames(name, labels);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = EscapeHelp(help);
  e->type = type;
  e->label_names = labels;
  entries_.push_back(std::move(e));
  return *entries_.back();
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    if (!e->counter || e->label_names != label_names) {
      Bug(name + " registered twice with different type or labels");
    }
    return *e->counter;
  }
  Entry& e = NewEntry(name, help, Type::kCounter, label_names);
  auto& backend = prometheus::BuildCounter().Name(name).Help(EscapeHelp(help)).Register(*backend_);
  e.counter = std::make_unique<Family<Counter>>(name, help, std::move(label_names), backend);
  return *e.counter;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    if (!e->gauge || e->label_names != label_names) {
      Bug(name + " registered twice with different type or labels");
    }
    return *e->gauge;
  }
  Entry& e = NewEntry(name, help, Type::kGauge, label_names);
  auto& backend = prometheus::BuildGauge().Name(name).Help(EscapeHelp(help)).Register(*backend_);
  e.gauge = std::make_unique<Family<Gauge>>(name, help, std::move(label_names), backend);
  return *e.gauge;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    if (!e->histogram || e->label_names != label_names) {
      Bug(name + " registered twice with different type or labels");
    }
    return *e->histogram;
  }
  std::sort(bounds.begin(), bounds.end());
  Entry& e = NewEntry(name, help, Type::kHistogram, label_names);
  auto& backend =
      prometheus::BuildHistogram().Name(name).Help(EscapeHelp(help)).Register(*backend_);
  e.histogram = std::make_unique<Family<Histogram>>(name, help, std::move(label_names), backend,
                                                    std::move(bounds));
  return *e.histogram;
}

void Registry::AddCallbackGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names,
                                std::function<std::vector<Sample>()> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Find(name)) Bug(name + " registered twice");
  Entry& e = NewEntry(name, help, Type::kGauge, label_names);
  e.callback = std::make_unique<CallbackGauge>(name, help, std::move(label_names),
                                               std::move(collect));
}

std::string Registry::Serialize() const {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : entries_) {
      auto collected = e->collectable().Collect();
      if (collected.empty()) {
        // prometheus-cpp leaves out a family without children; we keep its
        // HELP and TYPE so every registered family is visible from the start.
        prometheus::MetricFamily head;
        head.name = e->name;
        head.help = e->help;
        head.type = e->type == Type::kCounter   ? prometheus::MetricType::Counter
                    : e->type == Type::kGauge   ? prometheus::MetricType::Gauge
                                                : prometheus::MetricType::Histogram;
        families.push_back(std::move(head));
      }
      for (auto& f : collected) {
        KeepLabelOrder(e->label_names, f);
        families.push_back(std::move(f));
      }
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace sg::metrics
