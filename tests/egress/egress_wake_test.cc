// Egress woken by the queue (issue 21, tail latency): with
// egress.wake_on_data a deliver record is polled as soon as it is durable,
// not at the loop's next poll_interval tick. The interval here is an hour,
// so only the wake-up can deliver the second message within the test's
// deadline; and stopping wakes the loop too (else Stop would wait the hour).
// On both queues: the embedded queue's writer calls egress's ready callback,
// Kafka's consumer queue event does (common/queue_ready.h). With Kafka even
// joining the group and the assignment are served by wake-ups (the first
// tick comes before them).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
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

class EgressWakeTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<EgressHarness> MakeHarness() {
    if (GetParam() == "kafka") {
      return std::make_unique<EgressHarness>(std::string(SMIMEGATE_TEST_BROKER));
    }
    return std::make_unique<EgressHarness>();
  }
};

TEST_P(EgressWakeTest, ADurableDeliverRecordIsPolledWithoutWaitingForTheInterval) {
  auto harness = MakeHarness();
  EgressHarness& h = *harness;
  h.Start(Yaml(/*wake=*/true));
  // The first one may be found by the loop's first tick (at start) or by
  // the wake-up; either way that tick is over once it is delivered, and the
  // next one is an hour away.
  h.Produce(MakeRecord("m1", "alice@org.test", {"bob@remote.test"}));
  // Kafka: joining the group first (a few seconds on a loaded machine).
  ASSERT_TRUE(WaitUntil([&] { return h.Metric(kDelivered) == 1; }, seconds(30)));
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

INSTANTIATE_TEST_SUITE_P(Queues, EgressWakeTest, ::testing::Values("embedded", "kafka"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace sg::egress::testing
