#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace sg::metrics {
namespace {

TEST(MetricsTest, CountersGaugesHistogramsSerialize) {
  Registry r;
  auto& c = r.AddCounter("smimegate_test_total", "A test counter", {"kind"});
  c.WithLabels({"a"}).Inc();
  c.WithLabels({"a"}).Inc(2);
  c.WithLabels({"b\"q"}).Inc();
  r.AddGauge("smimegate_test_gauge", "A gauge").Get().Set(7);
  auto& h = r.AddHistogram("smimegate_test_seconds", "A histogram", {}, {0.1, 1});
  h.Get().Observe(0.05);
  h.Get().Observe(0.5);
  h.Get().Observe(5);
  r.AddCallbackGauge("smimegate_test_lag", "Lag", {"topic"}, [] {
    return std::vector<Sample>{{{"inbound"}, 3}};
  });
  std::string out = r.Serialize();
  EXPECT_NE(out.find("smimegate_test_total{kind=\"a\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("smimegate_test_total{kind=\"b\\\"q\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("smimegate_test_gauge 7\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("smimegate_test_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_lag{topic=\"inbound\"} 3\n"), std::string::npos);
}

// prometheus-cpp sorts a child's labels and leaves out families without
// children; the exposition keeps the declared label order and every family.
TEST(MetricsTest, DeclaredLabelOrderEmptyFamiliesAndEscapedHelp) {
  Registry r;
  r.AddCounter("smimegate_order_total", "Order", {"zeta", "alpha"}).WithLabels({"z", "a"}).Inc();
  r.AddGauge("smimegate_empty", "Nothing yet", {"k"});
  r.AddCounter("smimegate_help_total", "Two\nlines \\ and a backslash");
  std::string out = r.Serialize();
  EXPECT_NE(out.find("smimegate_order_total{zeta=\"z\",alpha=\"a\"} 1\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("# HELP smimegate_empty Nothing yet\n# TYPE smimegate_empty gauge\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("# HELP smimegate_help_total Two\\nlines \\\\ and a backslash\n"),
            std::string::npos)
      << out;
}

TEST(MetricsTest, HistogramReadBack) {
  Registry r;
  auto& h = r.AddHistogram("smimegate_rb_seconds", "x", {"k"}, {1, 0.1}).WithLabels({"v"});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(2);
  EXPECT_EQ(h.Count(), 3u);
  EXPECT_DOUBLE_EQ(h.Sum(), 2.55);
  EXPECT_EQ(h.bounds(), (std::vector<double>{0.1, 1}));  // sorted
  EXPECT_EQ(h.CumulativeCount(0), 1u);
  EXPECT_EQ(h.CumulativeCount(1), 2u);
  EXPECT_EQ(h.CumulativeCount(2), 3u);  // +Inf
}

// A removed child leaves the exposition (a partition rebalanced away must
// not keep its last lag); the others stay, and the values come back fresh.
TEST(MetricsTest, RemovedChildLeavesTheExposition) {
  Registry r;
  auto& g = r.AddGauge("smimegate_rm_records", "x", {"partition"});
  g.WithLabels({"0"}).Set(5);
  g.WithLabels({"1"}).Set(7);
  g.Remove({"0"});
  g.Remove({"9"});  // none: nothing happens
  std::string out = r.Serialize();
  EXPECT_EQ(out.find("smimegate_rm_records{partition=\"0\"}"), std::string::npos) << out;
  EXPECT_NE(out.find("smimegate_rm_records{partition=\"1\"} 7\n"), std::string::npos) << out;
  size_t n = 0;
  g.ForEach([&](const std::vector<std::string>&, const Gauge&) { ++n; });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(g.WithLabels({"0"}).Value(), 0);
}

TEST(MetricsTest, SameFamilyTwiceIsTheSameFamily) {
  Registry r;
  auto& a = r.AddCounter("smimegate_twice_total", "x", {"k"});
  auto& b = r.AddCounter("smimegate_twice_total", "x", {"k"});
  EXPECT_EQ(&a, &b);
  a.WithLabels({"v"}).Inc();
  EXPECT_EQ(b.WithLabels({"v"}).Value(), 1);
}

TEST(MetricsDeathTest, MisuseIsABug) {
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("smimegate_x_total", "x", {"k"});
        r.AddGauge("smimegate_x_total", "x", {"k"});
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("smimegate_y_total", "x", {"k"}).WithLabels({"a", "b"});
      },
      "expected 1 label values");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("bad name", "x");
      },
      "invalid metric name");
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.AddCounter("smimegate_conc_total", "x").Get();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Inc();
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), 40000);
}

// The exposition must satisfy Prometheus's own linter.
TEST(MetricsTest, OutputPassesPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL() << "promtool not installed (scripts/setup-deps.sh installs the prometheus package)";
  }
  Registry r;
  r.AddCounter("smimegate_messages_total", "Messages", {"listener", "result"})
      .WithLabels({"mx", "accepted"})
      .Inc();
  r.AddHistogram("smimegate_ack_seconds", "Ack time", {"listener"}, LatencyBuckets())
      .WithLabels({"mx"})
      .Observe(0.01);
  r.AddGauge("smimegate_connections", "Open connections").Get().Set(2);
  testing::TempDir dir;
  std::string file = dir.Sub("metrics.txt");
  std::ofstream(file) << r.Serialize();
  std::string cmd = "promtool check metrics < " + file + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p)) out += buf;
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << out;
}

}  // namespace
}  // namespace sg::metrics
