// EmbeddedQueue pins (common/queue.h "Pins", common/embedded_queue_pins.h):
// the clean-up skips a pinned record and removes it with its last pin, and
// pins survive a restart.
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "common/embedded_queue.h"
#include "tests/support/temp_dir.h"

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<EmbeddedQueue> OpenAt(const std::string& path) {
  EmbeddedQueueOptions o;
  o.path = path;
  o.cleanup_interval = std::chrono::hours(1);  // the tests call CleanupNow
  auto q = EmbeddedQueue::Open(o);
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().ToString());
  if (!q.ok()) return nullptr;
  EXPECT_TRUE((*q)->EnsureTopics({{"in", 1}, {"out", 2}}).ok());
  return std::move(*q);
}

Status Produce(Queue& q, const std::string& topic, int32_t partition, const std::string& value,
               std::vector<RecordRef> pins = {}) {
  auto p = q.CreateProducer();
  if (!p.ok()) return p.error();
  std::promise<Status> done;
  OutRecord r;
  r.topic = topic;
  r.key = "m";
  r.value = value;
  r.partition = partition;
  r.pins = std::move(pins);
  (*p)->Produce(std::move(r), [&](Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// Reads every record of `topics` as group `group` and commits them.
void ConsumeAll(Queue& q, const std::string& group, const std::vector<std::string>& topics) {
  auto c = q.CreateConsumer(group, topics);
  ASSERT_TRUE(c.ok());
  while (true) {
    auto r = (*c)->Poll(1000, 100ms);
    ASSERT_TRUE(r.ok());
    if (r->empty()) break;
    for (const auto& rec : *r) {
      ASSERT_TRUE((*c)->Commit({rec.topic, rec.partition}, rec.offset + 1).ok());
    }
  }
  (*c)->Close();
}

TEST(EmbeddedQueuePinsTest, CleanupKeepsAPinnedRecordUntilItsLastPinIsGone) {
  testing::TempDir dir;
  auto q = OpenAt(dir.path() + "/q");
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Produce(*q, "in", 0, "body" + std::to_string(i)).ok());
  // Two records pin in@1 (a message split into two forms), one pins in@2.
  ASSERT_TRUE(Produce(*q, "out", 0, "a", {{"in", 0, 1}}).ok());
  ASSERT_TRUE(Produce(*q, "out", 1, "b", {{"in", 0, 1}, {"in", 0, 2}}).ok());
  EXPECT_EQ(q->PinnedRecords({"in", 0}), 2u);
  ConsumeAll(*q, "workers", {"in"});
  q->CleanupNow();
  EXPECT_EQ(q->StoredRecords({"in", 0}), 2) << "in@0 and in@3 go, the pinned in@1 and in@2 stay";
  EXPECT_TRUE(q->ReadRecord({"in", 0, 1}).ok());
  EXPECT_TRUE(q->ReadRecord({"in", 0, 2}).ok());

  // out/0 is delivered: in@1 keeps its second pin.
  auto egress = q->CreateConsumer("egress", {"out"});
  ASSERT_TRUE(egress.ok());
  ASSERT_TRUE((*egress)->Poll(10, 1s).ok());
  ASSERT_TRUE((*egress)->Commit({"out", 0}, 1).ok());
  q->CleanupNow();
  EXPECT_EQ(q->StoredRecords({"out", 0}), 0);
  EXPECT_EQ(q->StoredRecords({"in", 0}), 2);
  auto body = q->ReadRecord({"in", 0, 1});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->value, "body1");

  // out/1 is delivered too: nothing pins, the clean-up reclaims both.
  ASSERT_TRUE((*egress)->Commit({"out", 1}, 1).ok());
  q->CleanupNow();
  EXPECT_EQ(q->StoredRecords({"in", 0}), 0);
  EXPECT_EQ(q->PinnedRecords({"in", 0}), 0u);
  EXPECT_EQ(q->ReadRecord({"in", 0, 1}).error().code, ErrorCode::kNotFound);
}

TEST(EmbeddedQueuePinsTest, PinsSurviveARestartAndAreReleasedAfterIt) {
  testing::TempDir dir;
  {
    auto q = OpenAt(dir.path() + "/q");
    ASSERT_NE(q, nullptr);
    ASSERT_TRUE(Produce(*q, "in", 0, "body").ok());
    ASSERT_TRUE(Produce(*q, "out", 0, "ref", {{"in", 0, 0}}).ok());
    ConsumeAll(*q, "workers", {"in"});
    q->CleanupNow();
    ASSERT_TRUE(q->ReadRecord({"in", 0, 0}).ok());
  }
  auto q = OpenAt(dir.path() + "/q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->PinnedRecords({"in", 0}), 1u);
  ASSERT_TRUE(Produce(*q, "in", 0, "next").ok());
  ConsumeAll(*q, "workers", {"in"});
  q->CleanupNow();
  auto body = q->ReadRecord({"in", 0, 0});
  ASSERT_TRUE(body.ok()) << "a restart freed a pinned record";
  EXPECT_EQ(body->value, "body");
  EXPECT_EQ(q->StoredRecords({"in", 0}), 1);
  ConsumeAll(*q, "egress", {"out"});
  q->CleanupNow();
  EXPECT_EQ(q->StoredRecords({"in", 0}), 0);
  EXPECT_EQ(q->StoredRecords({"out", 0}), 0);
}

TEST(EmbeddedQueuePinsTest, APinOnARecordNotWrittenYetIsRefused) {
  testing::TempDir dir;
  auto q = OpenAt(dir.path() + "/q");
  ASSERT_NE(q, nullptr);
  auto st = Produce(*q, "out", 0, "ref", {{"in", 0, 5}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_NE(st.error().message.find("in/0@5"), std::string::npos) << st.error().message;
  st = Produce(*q, "out", 0, "ref", {{"nope", 0, 0}});
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(q->StoredRecords({"out", 0}), 0);
}

}  // namespace
}  // namespace sg::queue
