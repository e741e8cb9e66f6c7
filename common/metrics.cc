#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace sg::metrics {

namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string EscapeLabel(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const std::string& extra_name = "",
                  const std::string& extra_value = "") {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabel(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

bool ValidName(const std::string& name) {
  static const std::regex re("^[a-zA-Z_:][a-zA-Z0-9_:]*$");
  return std::regex_match(name, re);
}

[[noreturn]] void Bug(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

}  // namespace

void Counter::Inc(double v) {
  if (v < 0) return;  // counters only go up
  AtomicAdd(value_, v);
}

void Gauge::Inc(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= i && b <= bounds_.size(); ++b) {
    total += buckets_[b].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30,    60};
}

std::vector<double> SizeBuckets() {
  std::vector<double> out;
  for (double b = 1024; b <= 64.0 * 1024 * 1024; b *= 4) out.push_back(b);
  return out;
}

template <typename M>
M& Family<M>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    Bug(name_ + ": expected " + std::to_string(label_names_.size()) + " label values, got " +
        std::to_string(values.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) it = children_.emplace(values, make_()).first;
  return *it->second;
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
  Type type;
  std::vector<std::string> label_names;
  std::unique_ptr<Family<Counter>> counter;
  std::unique_ptr<Family<Gauge>> gauge;
  std::unique_ptr<Family<Histogram>> histogram;
  // Callback gauges.
  std::string help;
  std::function<std::vector<Sample>()> collect;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry* Registry::Find(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e->name == name) return e.get();
  }
  return nullptr;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    if (e->type != Type::kCounter || !e->counter || e->label_names != label_names) {
      Bug(name + " registered twice with different type or labels");
    }
    return *e->counter;
  }
  if (!ValidName(name)) Bug("invalid metric name " + name);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->type = Type::kCounter;
  e->label_names = label_names;
  e->counter = std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                                 [] { return std::make_unique<Counter>(); });
  entries_.push_back(std::move(e));
  return *entries_.back()->counter;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    if (e->type != Type::kGauge || !e->gauge || e->label_names != label_names) {
      Bug(name + " registered twice with different type or labels");
    }
    return *e->gauge;
  }
  if (!ValidName(name)) Bug("invalid metric name " + name);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->type = Type::kGauge;
  e->label_names = label_names;
  e->gauge = std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                             [] { return std::make_unique<Gauge>(); });
  entries_.push_back(std::move(e));
  return *entries_.back()->gauge;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = Find(name)) {
    if (e->type != Type::kHistogram || e->label_names != label_names) {
      Bug(name + " registered twice with different type or labels");
    }
    return *e->histogram;
  }
  if (!ValidName(name)) Bug("invalid metric name " + name);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->type = Type::kHistogram;
  e->label_names = label_names;
  e->histogram = std::make_unique<Family<Histogram>>(
      name, help, std::move(label_names),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
  entries_.push_back(std::move(e));
  return *entries_.back()->histogram;
}

void Registry::AddCallbackGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names,
                                std::function<std::vector<Sample>()> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Find(name)) Bug(name + " registered twice");
  if (!ValidName(name)) Bug("invalid metric name " + name);
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->type = Type::kGauge;
  e->label_names = std::move(label_names);
  e->help = help;
  e->collect = std::move(collect);
  entries_.push_back(std::move(e));
}

std::string Registry::Serialize() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out.reserve(4096);
  auto header = [&out](const std::string& name, const std::string& help, const char* type) {
    out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
  };
  for (const auto& e : entries_) {
    if (e->counter) {
      header(e->name, e->counter->help(), "counter");
      e->counter->ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
        out += e->name;
        AppendLabels(out, e->label_names, labels);
        out += ' ' + FormatValue(c.Value()) + '\n';
      });
    } else if (e->gauge) {
      header(e->name, e->gauge->help(), "gauge");
      e->gauge->ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
        out += e->name;
        AppendLabels(out, e->label_names, labels);
        out += ' ' + FormatValue(g.Value()) + '\n';
      });
    } else if (e->histogram) {
      header(e->name, e->histogram->help(), "histogram");
      e->histogram->ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
        const auto& bounds = h.bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          out += e->name + "_bucket";
          AppendLabels(out, e->label_names, labels, "le",
                       i < bounds.size() ? FormatValue(bounds[i]) : "+Inf");
          out += ' ' + FormatValue(static_cast<double>(h.CumulativeCount(i))) + '\n';
        }
        out += e->name + "_sum";
        AppendLabels(out, e->label_names, labels);
        out += ' ' + FormatValue(h.Sum()) + '\n';
        out += e->name + "_count";
        AppendLabels(out, e->label_names, labels);
        out += ' ' + FormatValue(static_cast<double>(h.Count())) + '\n';
      });
    } else if (e->collect) {
      header(e->name, e->help, "gauge");
      for (const auto& s : e->collect()) {
        if (s.label_values.size() != e->label_names.size()) continue;
        out += e->name;
        AppendLabels(out, e->label_names, s.label_values);
        out += ' ' + FormatValue(s.value) + '\n';
      }
    }
  }
  return out;
}

}  // namespace sg::metrics
