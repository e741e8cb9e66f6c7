// Consumer::OwnedLag in the Kafka mode (issue 24) with what aborted inside
// librdkafka in session 32: two members of one group in one process, each
// polled on its own thread, while a third thread reads both members' lag
// during rebalances. OwnedLag reads only what the polling threads publish,
// so this must neither abort nor count a partition twice, and once every
// record is committed the members together report no lag.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/kafka_queue.h"
#include "tests/support/kafka_test_queue.h"

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

TEST(KafkaOwnedLagTest, TwoMembersInOneProcessReportDisjointLagWhileRebalancing) {
  testing::KafkaTestQueue kafka({{"t", 6}});
  ASSERT_TRUE(kafka.ok());
  auto* q = &kafka.queue();
  constexpr int kRecords = 120;
  std::atomic<bool> stop{false};

  // A member polls and commits everything it gets, on its own thread.
  auto run_member = [&](Consumer& c) {
    while (!stop.load()) {
      auto r = c.Poll(50, 50ms);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) return;
      std::map<int32_t, int64_t> next;
      for (const auto& rec : *r) next[rec.partition] = rec.offset + 1;
      // Refused after a rebalance: the new owner reads them again.
      for (const auto& [p, off] : next) (void)c.Commit({"t", p}, off);
    }
  };
  auto c1 = q->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c1.ok());
  std::thread t1([&] { run_member(**c1); });

  // The foreign thread: reads both members' lag all the time.
  std::unique_ptr<Consumer> c2;
  std::atomic<Consumer*> second{nullptr};
  std::atomic<int> overlaps{0};
  std::atomic<int64_t> reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      std::set<int32_t> seen;
      for (Consumer* c : {c1->get(), second.load()}) {
        if (c == nullptr) continue;
        for (const auto& l : c->OwnedLag()) {
          if (!seen.insert(l.tp.partition).second) ++overlaps;
        }
      }
      ++reads;
      std::this_thread::sleep_for(1ms);
    }
  });

  ASSERT_TRUE(kafka.ProduceAll("t", 0, kRecords / 2, "v"));
  // The first member owns all six partitions before the second one joins,
  // so the rebalance takes partitions away from it.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((*c1)->OwnedLag().size() < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ((*c1)->OwnedLag().size(), 6u);
  auto joined = q->CreateConsumer("g", {"t"});
  ASSERT_TRUE(joined.ok());
  c2 = std::move(*joined);
  second = c2.get();
  std::thread t2([&] { run_member(*c2); });
  // Records flow during the rebalance.
  ASSERT_TRUE(kafka.ProduceAll("t", kRecords / 2, kRecords, "v"));

  // Both own partitions, together all six once, and nothing is left.
  auto total = [&] {
    int64_t lag = 0;
    size_t parts = 0;
    for (Consumer* c : {c1->get(), c2.get()}) {
      for (const auto& l : c->OwnedLag()) {
        lag += l.lag();
        ++parts;
      }
    }
    return std::make_pair(parts, lag);
  };
  deadline = std::chrono::steady_clock::now() + 60s;
  auto settled = [&] {
    return total() == std::make_pair(size_t{6}, int64_t{0}) && !(*c1)->Assignment().empty() &&
           !c2->Assignment().empty();
  };
  while (!settled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(total(), std::make_pair(size_t{6}, int64_t{0}));
  EXPECT_FALSE((*c1)->OwnedLag().empty());
  EXPECT_FALSE(c2->OwnedLag().empty());
  stop = true;
  t1.join();
  t2.join();
  reader.join();
  EXPECT_GT(reads.load(), 0);
  // Eager rebalancing: a member gives up all its partitions before the
  // group hands any of them to another one.
  EXPECT_EQ(overlaps.load(), 0);
  CloseAll({c1->get(), c2.get()});
}

}  // namespace
}  // namespace sg::queue
