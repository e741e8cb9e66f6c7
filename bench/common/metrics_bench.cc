// The cost of the metrics on hot paths: a counter increment, a histogram
// observation (one thread and four threads on the same child), a child
// lookup by label values, and a scrape. Written against the sg::metrics
// facade only, so the same source builds against any implementation of it:
// bench/common/metrics_ab.sh builds it against a base revision too and runs
// both side by side (ratios in the same run, docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include "common/metrics.h"

namespace {

using sg::metrics::Registry;

Registry& R() {
  static Registry r;
  return r;
}

void BM_CounterInc(benchmark::State& state) {
  static auto& c =
      R().AddCounter("bench_counter_total", "c", {"listener"}).WithLabels({"mx"});
  for (auto _ : state) c.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(4);

void BM_GaugeSet(benchmark::State& state) {
  static auto& g = R().AddGauge("bench_gauge", "g").Get();
  double v = 0;
  for (auto _ : state) g.Set(v += 1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GaugeSet);

void BM_HistogramObserve(benchmark::State& state) {
  static auto& h = R().AddHistogram("bench_seconds", "h", {"listener"},
                                    sg::metrics::LatencyBuckets())
                       .WithLabels({"mx"});
  double v = 0.0001;
  for (auto _ : state) {
    h.Observe(v);
    v = v < 50 ? v * 1.7 : 0.0001;  // walks every bucket
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(4);

// What a component pays when it looks the child up per event instead of
// keeping the reference (e.g. per-reason rejection counters).
void BM_WithLabelsInc(benchmark::State& state) {
  static auto& f = R().AddCounter("bench_lookup_total", "l", {"listener", "reason"});
  for (auto _ : state) f.WithLabels({"mx", "recipient_not_hosted"}).Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WithLabelsInc);

void BM_Serialize(benchmark::State& state) {
  Registry r;
  for (int i = 0; i < 40; ++i) {
    auto& f = r.AddCounter("bench_family_" + std::to_string(i) + "_total", "f", {"k"});
    for (int j = 0; j < 5; ++j) f.WithLabels({std::to_string(j)}).Inc();
  }
  auto& h = r.AddHistogram("bench_h_seconds", "h", {"k"}, sg::metrics::LatencyBuckets());
  for (int j = 0; j < 5; ++j) h.WithLabels({std::to_string(j)}).Observe(0.01);
  for (auto _ : state) benchmark::DoNotOptimize(r.Serialize());
}
BENCHMARK(BM_Serialize)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
