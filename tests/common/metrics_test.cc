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
  EXPECT_NE(out.find("smimegate_test_seconds_bucket{le=\"0.10000000000000001\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("smimegate_test_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(out.find("smimegate_test_lag{topic=\"inbound\"} 3\n"), std::string::npos);
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
