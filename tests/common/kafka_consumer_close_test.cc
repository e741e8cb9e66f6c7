// Closing a Kafka consumer whose librdkafka queue still holds fetched
// records that were never polled: egress at max_inflight polls fewer records
// than a fetch brings, so a shutdown at full load closes consumers in that
// state. Debian's librdkafka 2.0.2 aborted in such a close
// ("rd_kafka_q_serve: assert: res != RD_KAFKA_OP_RES_PASS") when the close
// queue was served as callbacks (common/kafka_queue.cc, KafkaConsumer::Close).
//
// What a user checks: the close returns, and the records it dropped are not
// committed by it - the group's next member reads exactly what was not
// committed explicitly, nothing lost, nothing skipped.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/kafka_queue.h"
#include "common/queue_ready.h"
#include "tests/support/kafka_test_queue.h"

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

using Offsets = std::set<std::pair<int32_t, int64_t>>;  // partition, offset

TEST(KafkaConsumerCloseTest, ClosingWithFetchedUnpolledRecordsCommitsNothingAndLosesNothing) {
  testing::KafkaTestQueue kafka({{"t", 2}});
  ASSERT_TRUE(kafka.ok());
  auto* q = &kafka.queue();

  // Enough records that one fetch brings many more than one Poll takes.
  constexpr int kRecords = 600;
  ASSERT_TRUE(kafka.ProduceAll("t", 0, kRecords, std::string(512, 'v')));
  Offsets produced;
  for (int32_t p = 0; p < 2; ++p) {
    auto range = q->Offsets({"t", p});
    ASSERT_TRUE(range.ok()) << range.error().ToString();
    for (int64_t off = range->low; off < range->high; ++off) produced.insert({p, off});
  }
  ASSERT_EQ(produced.size(), static_cast<size_t>(kRecords));

  // Each round: a member of group "g" (with a ready callback, as egress
  // sets one) takes one record, commits it, and closes with the rest of
  // what it fetched still queued.
  std::map<int32_t, int64_t> committed;  // partition -> next offset, explicit commits only
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    auto c = q->CreateConsumer("g", {"t"});
    ASSERT_TRUE(c.ok()) << c.error().ToString();
    auto* notifier = dynamic_cast<ReadyNotifier*>(c->get());
    ASSERT_NE(notifier, nullptr);
    notifier->SetReadyCallback([] {});
    std::vector<Record> got;
    const auto deadline = std::chrono::steady_clock::now() + 40s;
    while (got.empty() && std::chrono::steady_clock::now() < deadline) {
      auto r = (*c)->Poll(1, 100ms);
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      got = std::move(*r);
    }
    ASSERT_EQ(got.size(), 1u) << "round " << round << ": nothing read in 40 s";
    const Record& rec = got[0];
    // Where the group's commit left this partition, or its start.
    auto it = committed.find(rec.partition);
    const int64_t start = it != committed.end() ? it->second
                                                : produced.lower_bound({rec.partition, 0})->second;
    EXPECT_EQ(rec.offset, start) << "round " << round << ": a close committed or skipped records";
    ASSERT_TRUE((*c)->Commit({"t", rec.partition}, rec.offset + 1).ok());
    committed[rec.partition] = rec.offset + 1;
    // The same fetch response brought the partition's following records:
    // the queue is not empty now.
    (*c)->Close();
  }

  // The group's next member reads exactly what was not committed.
  auto last = q->CreateConsumer("g", {"t"});
  ASSERT_TRUE(last.ok()) << last.error().ToString();
  Offsets expected;
  for (const auto& [p, off] : produced) {
    auto it = committed.find(p);
    if (it == committed.end() || off >= it->second) expected.insert({p, off});
  }
  Offsets read;
  size_t duplicates = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (read.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
    auto r = (*last)->Poll(200, 100ms);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    for (const auto& rec : *r) {
      if (!read.insert({rec.partition, rec.offset}).second) ++duplicates;
    }
  }
  EXPECT_EQ(read, expected);
  EXPECT_EQ(duplicates, 0u);
  (*last)->Close();
}

}  // namespace
}  // namespace sg::queue
