// EmbeddedQueue's ready callback (common/queue_ready.h, issue 21):
// a member that polls from an event loop is told the moment records of a
// partition it owns are durable, so it need not wait for a poll interval.
// No sleeps: the callback runs before the produce callback, so a producer
// that has its ack can check at once that the reader was told.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

#include "common/embedded_queue.h"
#include "common/queue_ready.h"
#include "tests/support/temp_dir.h"

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

// Every embedded consumer can notify.
ReadyNotifier& Notifier(Consumer& c) {
  ReadyNotifier* n = ReadyNotifierOf(c);
  EXPECT_NE(n, nullptr);
  return *n;
}

class EmbeddedQueueReadyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedQueueOptions o;
    o.path = dir_.Sub("q");
    o.sync = false;
    o.cleanup_interval = std::chrono::hours(1);
    auto q = EmbeddedQueue::Open(o);
    ASSERT_TRUE(q.ok()) << q.error().ToString();
    queue_ = std::move(*q);
    ASSERT_TRUE(queue_->EnsureTopics({{"deliver", 2}, {"other", 1}}).ok());
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    producer_ = std::move(*p);
  }

  // Produces one record and waits for its durable ack.
  void ProduceAcked(const std::string& topic, int32_t partition) {
    std::promise<Status> done;
    OutRecord r;
    r.topic = topic;
    r.key = "k";
    r.value = "v";
    r.partition = partition;
    producer_->Produce(std::move(r), [&](Status s) { done.set_value(std::move(s)); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  sg::testing::TempDir dir_;
  std::unique_ptr<EmbeddedQueue> queue_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(EmbeddedQueueReadyTest, TheOwnerIsToldBeforeTheAckAndTheRecordIsReadableThen) {
  auto c = queue_->CreateConsumer("egress", {"deliver"});
  ASSERT_TRUE(c.ok());
  std::atomic<int> calls{0};
  Notifier(**c).SetReadyCallback([&] { calls.fetch_add(1); });
  ProduceAcked("deliver", 1);
  EXPECT_EQ(calls.load(), 1);
  // Readable by a poll that does not wait.
  auto polled = (*c)->Poll(10, 0ms);
  ASSERT_TRUE(polled.ok());
  EXPECT_EQ(polled->size(), 1u);
}

TEST_F(EmbeddedQueueReadyTest, OnlyMembersOwningAnUnpausedWrittenPartitionAreTold) {
  auto deliver = queue_->CreateConsumer("egress", {"deliver"});
  auto other = queue_->CreateConsumer("workers", {"other"});
  ASSERT_TRUE(deliver.ok() && other.ok());
  std::atomic<int> deliver_calls{0};
  std::atomic<int> other_calls{0};
  Notifier(**deliver).SetReadyCallback([&] { deliver_calls.fetch_add(1); });
  Notifier(**other).SetReadyCallback([&] { other_calls.fetch_add(1); });
  ProduceAcked("other", 0);
  EXPECT_EQ(deliver_calls.load(), 0);
  EXPECT_EQ(other_calls.load(), 1);
  (*deliver)->Pause({"deliver", 0});
  ProduceAcked("deliver", 0);
  EXPECT_EQ(deliver_calls.load(), 0) << "a paused partition is not polled: no wake-up";
  (*deliver)->Resume({"deliver", 0});
  ProduceAcked("deliver", 0);
  EXPECT_EQ(deliver_calls.load(), 1);
  EXPECT_EQ(other_calls.load(), 1);
}

// A Poll blocked on its own member's condition variable (issue 21: the
// writer wakes only the owners of a written partition) still ends as soon
// as a record of its partition is durable, not at its timeout.
TEST_F(EmbeddedQueueReadyTest, ABlockedPollEndsWhenItsPartitionIsWritten) {
  auto worker = queue_->CreateConsumer("workers", {"other"});
  auto egress = queue_->CreateConsumer("egress", {"deliver"});
  ASSERT_TRUE(worker.ok() && egress.ok());
  const auto start = std::chrono::steady_clock::now();
  auto polled = std::async(std::launch::async, [&] { return (*worker)->Poll(10, 20s); });
  ProduceAcked("deliver", 0);  // not the worker's: it sleeps on
  ProduceAcked("other", 0);
  ASSERT_EQ(polled.wait_for(10s), std::future_status::ready) << "the Poll was not woken";
  auto got = polled.get();
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].topic, "other");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(EmbeddedQueueReadyTest, AClearedCallbackIsNotCalled) {
  auto c = queue_->CreateConsumer("egress", {"deliver"});
  ASSERT_TRUE(c.ok());
  std::atomic<int> calls{0};
  Notifier(**c).SetReadyCallback([&] { calls.fetch_add(1); });
  Notifier(**c).SetReadyCallback(nullptr);
  ProduceAcked("deliver", 0);
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace sg::queue
