// The per-hop latency histogram (common/stage_latency.h): one family that
// every stage of `smimegate run` shares, a series per hop from the start.
#include "common/stage_latency.h"

#include <gtest/gtest.h>

namespace sg::metrics {
namespace {

TEST(StageLatencyTest, StagesShareOneFamilyWithASeriesPerHop) {
  Registry r;
  StageLatency workers(r);
  StageLatency egress(r);  // a second stage in the same process
  workers.ObserveSinceMs(StageLatency::Hop::kInboundWait, 1'000, 1'003);  // 3 ms
  egress.ObserveSinceMs(StageLatency::Hop::kDeliverWait, 1'000, 1'015);   // 15 ms
  egress.Observe(StageLatency::Hop::kDelivery, 0.0004);
  const std::string out = r.Serialize();
  const std::string family = "smimegate_stage_latency_seconds";
  EXPECT_NE(out.find(family + "_bucket{hop=\"inbound_wait\",le=\"0.002\"} 0\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find(family + "_bucket{hop=\"inbound_wait\",le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find(family + "_bucket{hop=\"deliver_wait\",le=\"0.01\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find(family + "_bucket{hop=\"deliver_wait\",le=\"0.02\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find(family + "_bucket{hop=\"delivery\",le=\"0.0005\"} 1\n"), std::string::npos);
  // Every hop is exported at 0 before its first message (dashboards, alerts).
  EXPECT_NE(out.find(family + "_count{hop=\"deliver_durable\"} 0\n"), std::string::npos);
}

TEST(StageLatencyTest, AClockThatWentBackCountsAsZero) {
  Registry r;
  StageLatency s(r);
  s.ObserveSinceMs(StageLatency::Hop::kDeliverWait, 2'000, 1'990);  // another machine's clock
  const std::string out = r.Serialize();
  EXPECT_NE(
      out.find("smimegate_stage_latency_seconds_bucket{hop=\"deliver_wait\",le=\"0.00025\"} 1\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("smimegate_stage_latency_seconds_sum{hop=\"deliver_wait\"} 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace sg::metrics
