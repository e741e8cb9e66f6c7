// Egress woken by the queue (issue 21, tail latency): with
// egress.wake_on_data a deliver record is polled as soon as it is durable,
// not at the loop's next poll_interval tick. The interval here is an hour,
// so only the wake-up can deliver the second message within the test's
// deadline; and stopping wakes the loop too (else Stop would wait the hour).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"

namespace sg::egress::testing {
namespace {

using std::chrono::seconds;

std::string Yaml(bool wake) {
  return std::string("egress:\n  helo_name: gw.test\n  poll_interval: 1h\n") +
         "  wake_on_data: " + (wake ? "true" : "false") + "\n" +
         "  inbound: {transport: maildir, path: mail/inbound}\n"
         "  outbound: {transport: maildir, path: mail/outbound}\n";
}

constexpr const char* kDelivered =
    R"(smimegate_egress_deliveries_total{outcome="delivered",route="outbound"})";

TEST(EgressWakeTest, ADurableDeliverRecordIsPolledWithoutWaitingForTheInterval) {
  EgressHarness h;
  h.Start(Yaml(/*wake=*/true));
  // The first one may be found by the loop's first tick (at start) or by
  // the wake-up; either way that tick is over once it is delivered, and the
  // next one is an hour away.
  h.Produce(MakeRecord("m1", "alice@org.test", {"bob@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return h.Metric(kDelivered) == 1; }, seconds(10)));
  h.Produce(MakeRecord("m2", "alice@org.test", {"carol@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return h.Metric(kDelivered) == 2; }, seconds(10)))
      << "the second record waited for the poll interval: egress was not woken";
  // Both hops of egress were observed (common/stage_latency.h).
  EXPECT_EQ(h.Metric("smimegate_stage_latency_seconds_count{hop=\"deliver_wait\"}"), 2);
  EXPECT_EQ(h.Metric("smimegate_stage_latency_seconds_count{hop=\"delivery\"}"), 2);
  const auto started = std::chrono::steady_clock::now();
  h.Stop();  // woken too: not an hour
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(10));
}

}  // namespace
}  // namespace sg::egress::testing
