// A refused offset commit (integration.queue_cli_distributed found it): a
// Kafka broker refuses commits while its group rebalances, and egress used to
// drop such a commit. When the partition then came back to the same egress,
// the consumer restarted at the group's older committed offset, and a message
// egress had already deferred was attempted a second time (a second retry
// record, a second attempt at the peer). Now the commit is retried after a
// back-off, and a record this egress has finished is not attempted again.
//
// The queue here is the embedded one behind a decorator whose consumers
// refuse commits while told to, and restart their partitions at the last
// commit they accepted (what a revoke and re-assignment to the same member
// does).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "common/queue.h"
#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"
#include "tests/support/forwarding_queue.h"

namespace sg::egress::testing {
namespace {
using std::chrono::seconds;

// Shared by the decorator's consumers and the test.
struct CommitControl {
  std::atomic<bool> refuse{false};
  // Raised by the test: each consumer's next Poll restarts its partitions
  // at the last accepted commit.
  std::atomic<int> rewinds{0};
  std::atomic<int> refused{0};
  std::atomic<int64_t> last_refused{-1};  // the offset of the last refused deliver commit
  std::mutex mu;
  std::map<std::pair<std::string, int32_t>, int64_t> accepted;  // guarded by mu

  int64_t Accepted(const queue::TopicPartition& tp) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = accepted.find({tp.topic, tp.partition});
    return it == accepted.end() ? 0 : it->second;
  }
};

class RefusingConsumer : public queue::Consumer {
 public:
  RefusingConsumer(std::unique_ptr<queue::Consumer> real, CommitControl& control)
      : real_(std::move(real)), control_(control) {}

  Result<std::vector<queue::Record>> Poll(size_t max, std::chrono::milliseconds timeout) override {
    if (const int r = control_.rewinds.load(); r != rewound_) {
      rewound_ = r;
      for (const auto& tp : real_->Assignment()) {
        auto st = real_->Seek(tp, control_.Accepted(tp));
        EXPECT_TRUE(st.ok()) << st.error().ToString();
      }
    }
    return real_->Poll(max, timeout);
  }
  Status Commit(const queue::TopicPartition& tp, int64_t next) override {
    if (control_.refuse.load()) {
      ++control_.refused;
      if (tp.topic == "deliver") control_.last_refused = next;
      return MakeError(ErrorCode::kUnavailable, "REBALANCE_IN_PROGRESS (refused by the test)");
    }
    SG_RETURN_IF_ERROR(real_->Commit(tp, next));
    std::lock_guard<std::mutex> lock(control_.mu);
    control_.accepted[{tp.topic, tp.partition}] = next;
    return OkStatus();
  }
  void Pause(const queue::TopicPartition& tp) override { real_->Pause(tp); }
  void Resume(const queue::TopicPartition& tp) override { real_->Resume(tp); }
  Status Seek(const queue::TopicPartition& tp, int64_t offset) override {
    return real_->Seek(tp, offset);
  }
  std::vector<queue::TopicPartition> Assignment() override { return real_->Assignment(); }
  std::vector<queue::TopicPartition> TakeLostPartitions() override {
    return real_->TakeLostPartitions();
  }
  void SetDrainOnRevoke(bool drain) override { real_->SetDrainOnRevoke(drain); }
  std::vector<queue::TopicPartition> RevokingPartitions() override {
    return real_->RevokingPartitions();
  }
  void ReleaseRevoking() override { real_->ReleaseRevoking(); }
  Result<std::vector<queue::PartitionLag>> Lag() override { return real_->Lag(); }
  std::vector<queue::PartitionLag> OwnedLag() override { return real_->OwnedLag(); }
  void Wakeup() override { real_->Wakeup(); }
  void Close() override { real_->Close(); }

 private:
  std::unique_ptr<queue::Consumer> real_;
  CommitControl& control_;
  int rewound_ = 0;  // the polling thread's
};

class RefusingQueue : public sg::testing::ForwardingQueue {
 public:
  RefusingQueue(queue::Queue& real, CommitControl& control)
      : ForwardingQueue(real), control_(control) {}
  Result<std::unique_ptr<queue::Consumer>> CreateConsumer(
      const std::string& group, const std::vector<std::string>& topics) override {
    SG_ASSIGN_OR_RETURN(auto c, real().CreateConsumer(group, topics));
    return std::unique_ptr<queue::Consumer>(new RefusingConsumer(std::move(c), control_));
  }

 private:
  CommitControl& control_;
};

std::string Yaml(int port) {
  return "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
         "  retry: {initial: 1h, multiplier: 2, max_interval: 4h, max_age: 5d}\n"
         "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 10s}\n"
         "  outbound: {transport: smtp, allowed_networks: [127.0.0.1/32], hosts: [\"127.0.0.1:" +
         std::to_string(port) + "\"]}\n  inbound: {transport: maildir}\n";
}

TEST(EgressCommitRetryTest, ARefusedCommitIsRetriedAndTheFinishedRecordIsNotAttemptedAgain) {
  EgressHarness h;
  CommitControl control;
  RefusingQueue refusing(h.queue(), control);
  auto peer = StartSmtpPeer(h.dir(), "peer", {"--tempfail-rcpt", "100000"});
  control.refuse = true;
  h.UseQueue(refusing);
  h.Start(Yaml(peer.port));
  const auto rec = MakeRecord("<once@org.test>", "once@org.test", {"r@dest.test"});
  h.Produce(rec);
  const queue::TopicPartition tp{"deliver", queue::PartitionForKey(rec.envelope().message_id(), 2)};

  // Deferred once (a retry record), and its deliver commit (one past the
  // record) refused, after the back-off of an earlier refusal if need be.
  ASSERT_TRUE(WaitUntil([&] { return h.ReadAll("retry").size() == 1; }, seconds(20)));
  ASSERT_TRUE(WaitUntil(
      [&] {
        h.clock().AdvanceMs(200);
        return control.last_refused.load() == 1;
      },
      seconds(10)));
  EXPECT_EQ(peer.Events("mail").size(), 1U);

  // The rebalance is over: the partition is this egress's again and restarts
  // at the group's committed offset (none), and commits are taken again.
  control.refuse = false;
  ++control.rewinds;
  ASSERT_TRUE(WaitUntil(
      [&] {
        h.clock().AdvanceMs(200);  // past the commit back-off
        return control.Accepted(tp) == 1;
      },
      seconds(20)))
      << "the refused commit was not retried";
  // Read again, the deferred record is not attempted a second time: give a
  // second attempt the time to show.
  WaitUntil([&] { return peer.Events("mail").size() > 1; }, seconds(2));
  EXPECT_EQ(peer.Events("mail").size(), 1U);
  EXPECT_EQ(h.ReadAll("retry").size(), 1U);
  h.Stop();
}

}  // namespace
}  // namespace sg::egress::testing
