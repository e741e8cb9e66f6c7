// A delivery in flight when a rebalance moves its partition (issue 24):
// egress A is delivering one message of each deliver partition to a slow
// SMTP sink (it answers DATA after 2 s) when a second egress B joins the
// group and takes one partition over. A waits for its deliveries
// (egress.rebalance_drain_timeout), commits them and only then lets the
// partition go, so B starts after them: every message arrives at the sink
// once. With rebalance_drain_timeout: 0 the moved partition's message is
// delivered a second time by B (the mutation this test exists for). On the
// Kafka test broker the same runs, but its mock cluster refuses A's commit
// during the rebalance, so there only "at least once" is checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/queue.h"
#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"
#include "tests/support/temp_dir.h"

namespace sg::egress::testing {
namespace {
using std::chrono::seconds;

std::string Yaml(int port, const std::string& drain) {
  return "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
         "  rebalance_drain_timeout: " +
         drain +
         "\n"
         "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 10s}\n"
         "  outbound: {transport: smtp, allowed_networks: [127.0.0.1/32], hosts: [\"127.0.0.1:" +
         std::to_string(port) + "\"]}\n  inbound: {transport: maildir}\n";
}

// Messages at the sink per sender.
std::map<std::string, int> Arrived(const SmtpPeer& peer) {
  std::map<std::string, int> out;
  for (const auto& e : peer.Events("message")) ++out[e.value("from", "")];
  return out;
}

// A message id whose record lands on deliver partition `partition` (of 2).
std::string IdOnPartition(int32_t partition, const std::string& tag) {
  for (int i = 0;; ++i) {
    std::string id = "<" + tag + std::to_string(i) + "@org.test>";
    if (queue::PartitionForKey(id, 2) == partition) return id;
  }
}

class EgressRebalanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  EgressRebalanceTest()
      : hp_(GetParam() == "kafka"
                ? std::make_unique<EgressHarness>(std::string(SMIMEGATE_TEST_BROKER))
                : std::make_unique<EgressHarness>()),
        h_(*hp_) {}

  // Runs the scenario with `drain` on both egress; returns the messages
  // that arrived per sender once the second egress has taken over.
  std::map<std::string, int> RunScenario(const std::string& drain) {
    peer_ = StartSmtpPeer(h_.dir(), "peer", {"--slow-data", "2"});
    h_.Start(Yaml(peer_.port, drain));
    h_.Produce(MakeRecord(IdOnPartition(0, "a"), "p0@org.test", {"r0@dest.test"}));
    h_.Produce(MakeRecord(IdOnPartition(1, "b"), "p1@org.test", {"r1@dest.test"}));
    // Both in flight at A: the sink has their DATA and has not answered.
    EXPECT_TRUE(WaitUntil([&] { return peer_.Events("data").size() == 2; }, seconds(15)));
    EXPECT_TRUE(Arrived(peer_).empty());
    auto second = h_.StartAnother(Yaml(peer_.port, drain), second_dir_.path(), second_registry_);
    EXPECT_NE(second, nullptr);
    // Once B has taken a partition over, a message produced to each
    // partition arrives (from whichever egress owns it).
    EXPECT_TRUE(WaitUntil([&] { return Arrived(peer_).size() == 2; }, seconds(20)));
    h_.Produce(MakeRecord(IdOnPartition(0, "c"), "after0@org.test", {"r2@dest.test"}));
    h_.Produce(MakeRecord(IdOnPartition(1, "d"), "after1@org.test", {"r3@dest.test"}));
    EXPECT_TRUE(WaitUntil([&] { return Arrived(peer_).size() == 4; }, seconds(40)));
    // A second delivery by B would have been read before the markers and
    // has had their time and more to arrive.
    WaitUntil([&] { return peer_.Events("data").size() > 4; }, seconds(3));
    WaitUntil([&] { return peer_.Events("message").size() >= peer_.Events("data").size(); },
              seconds(5));
    auto out = Arrived(peer_);
    if (second) second->Stop();
    return out;
  }

  std::unique_ptr<EgressHarness> hp_;
  EgressHarness& h_;
  SmtpPeer peer_;
  sg::testing::TempDir second_dir_;
  metrics::Registry second_registry_;
};

INSTANTIATE_TEST_SUITE_P(Queues, EgressRebalanceTest, ::testing::Values("embedded", "kafka"),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(EgressRebalanceTest, ADeliveryInFlightWhenItsPartitionMovesArrivesOnce) {
  const auto arrived = RunScenario("20s");
  for (const char* from : {"p0@org.test", "p1@org.test", "after0@org.test", "after1@org.test"}) {
    const int n = arrived.count(from) ? arrived.at(from) : 0;
    if (GetParam() == "kafka") {
      // The drain runs (the group waits for A, then goes on and B takes
      // over), but the test broker refuses A's last commit during the
      // rebalance (docs/operations.md "Rebalancing and egress"): at least
      // once here, exactly once needs a broker that takes that commit.
      EXPECT_GE(n, 1) << from;
    } else {
      EXPECT_EQ(n, 1) << from;
    }
  }
  EXPECT_EQ(h_.Metric("smimegate_egress_rebalance_undrained_total"), 0);
}

// The wait is bounded: a delivery still running when
// egress.rebalance_drain_timeout has passed (on egress's clock) is left to
// run, the partition goes, and the record is counted as undrained.
TEST_P(EgressRebalanceTest, ADeliveryLongerThanTheBoundIsCountedAndItsPartitionGoes) {
  peer_ = StartSmtpPeer(h_.dir(), "peer", {"--slow-data", "4"});
  h_.Start(Yaml(peer_.port, "1s"));
  h_.Produce(MakeRecord(IdOnPartition(1, "b"), "p1@org.test", {"r1@dest.test"}));
  ASSERT_TRUE(WaitUntil([&] { return peer_.Events("data").size() == 1; }, seconds(15)));
  auto second = h_.StartAnother(Yaml(peer_.port, "1s"), second_dir_.path(), second_registry_);
  ASSERT_NE(second, nullptr);
  const bool counted = WaitUntil(
      [&] {
        h_.clock().AdvanceMs(300);
        return h_.Metric("smimegate_egress_rebalance_undrained_total") >= 1;
      },
      seconds(20));
  EXPECT_TRUE(counted);
  EXPECT_EQ(h_.Metric("smimegate_egress_rebalance_undrained_total"), 1);
  second->Stop();
}

}  // namespace
}  // namespace sg::egress::testing
