// The queue contract (common/queue.h), one suite for every implementation.
// The Kafka mode adds its factory to kQueueKinds; the two cannot drift apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/embedded_queue.h"
#include "common/kafka_queue.h"
#include "common/queue_references.h"
#include "tests/support/kafka_broker_process.h"
#include "tests/support/temp_dir.h"

namespace sg::queue {
namespace {

using namespace std::chrono_literals;

struct QueueKind {
  std::string name;
  std::function<std::unique_ptr<Queue>(const std::string& dir)> open;
  friend void PrintTo(const QueueKind& k, std::ostream* os) { *os << k.name; }
};

// A Kafka queue that owns its own test broker (a fresh cluster per test).
class BrokerOwningQueue : public Queue, public ReferenceTermsSource {
 public:
  BrokerOwningQueue(std::unique_ptr<testing::KafkaBrokerProcess> broker, std::unique_ptr<Queue> q)
      : broker_(std::move(broker)), queue_(std::move(q)) {}
  ~BrokerOwningQueue() override { queue_.reset(); }
  Status EnsureTopics(const std::vector<TopicSpec>& t) override { return queue_->EnsureTopics(t); }
  Result<std::unique_ptr<Producer>> CreateProducer() override { return queue_->CreateProducer(); }
  Result<std::unique_ptr<Consumer>> CreateConsumer(const std::string& g,
                                                   const std::vector<std::string>& t) override {
    return queue_->CreateConsumer(g, t);
  }
  Result<int32_t> PartitionCount(const std::string& t) override { return queue_->PartitionCount(t); }
  Result<OffsetRange> Offsets(const TopicPartition& tp) override { return queue_->Offsets(tp); }
  Result<std::vector<Record>> ReadRange(const TopicPartition& tp, int64_t from,
                                          size_t max) override {
    return queue_->ReadRange(tp, from, max);
  }
  Status DeleteBefore(const TopicPartition& tp, int64_t offset) override {
    return queue_->DeleteBefore(tp, offset);
  }
  Result<Record> ReadRecord(const RecordRef& ref) override { return queue_->ReadRecord(ref); }
  ReferenceTerms ReferenceTermsFor(const std::string& topic) override {
    return queue::ReferenceTermsFor(*queue_, topic);
  }

 private:
  std::unique_ptr<testing::KafkaBrokerProcess> broker_;
  std::unique_ptr<Queue> queue_;
};

std::vector<QueueKind> QueueKinds() {
  return {{"embedded",
           [](const std::string& dir) -> std::unique_ptr<Queue> {
             EmbeddedQueueOptions o;
             o.path = dir + "/queue";
             auto q = EmbeddedQueue::Open(o);
             if (!q.ok()) ADD_FAILURE() << q.error().ToString();
             return q.ok() ? std::move(*q) : nullptr;
           }},
          {"kafka", [](const std::string&) -> std::unique_ptr<Queue> {
             auto broker = std::make_unique<testing::KafkaBrokerProcess>(
                 SMIMEGATE_TEST_BROKER, std::vector<std::pair<std::string, int>>{{"t", 4}, {"u", 1}, {"dl", 1}});
             if (!broker->ok()) {
               ADD_FAILURE() << "test broker did not start";
               return nullptr;
             }
             KafkaQueueOptions o;
             o.brokers = broker->bootstrap();
             o.session_timeout = std::chrono::milliseconds(6000);
             auto q = KafkaQueue::Open(o);
             if (!q.ok()) {
               ADD_FAILURE() << q.error().ToString();
               return nullptr;
             }
             return std::make_unique<BrokerOwningQueue>(std::move(broker), std::move(*q));
           }}};
}

class QueueContractTest : public ::testing::TestWithParam<QueueKind> {
 protected:
  void SetUp() override {
    queue_ = GetParam().open(dir_.path());
    ASSERT_NE(queue_, nullptr);
    ASSERT_TRUE(queue_->EnsureTopics({{"t", 4}, {"u", 1}}).ok());
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    producer_ = std::move(*p);
  }

  // Produces and waits for every ack.
  void ProduceAll(const std::vector<std::pair<std::string, std::string>>& kv,
                  const std::string& topic = "t") {
    std::vector<std::promise<Status>> acks(kv.size());
    for (size_t i = 0; i < kv.size(); ++i) {
      OutRecord r;
      r.topic = topic;
      r.key = kv[i].first;
      r.value = kv[i].second;
      r.headers.push_back({"h", "v" + std::to_string(i)});
      producer_->Produce(std::move(r), [&acks, i](Status s) { acks[i].set_value(std::move(s)); });
    }
    for (auto& a : acks) {
      auto s = a.get_future().get();
      ASSERT_TRUE(s.ok()) << s.error().ToString();
    }
  }

  // Polls until `n` records arrived or 5 s passed.
  std::vector<Record> PollN(Consumer& c, size_t n) {
    std::vector<Record> out;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto r = c.Poll(n - out.size(), 100ms);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) break;
      for (auto& rec : *r) out.push_back(std::move(rec));
    }
    return out;
  }

  void CommitAll(Consumer& c, const std::vector<Record>& recs) {
    std::map<std::pair<std::string, int32_t>, int64_t> next;
    for (const auto& r : recs) {
      auto& n = next[{r.topic, r.partition}];
      n = std::max(n, r.offset + 1);
    }
    for (const auto& [tp, off] : next) {
      auto s = c.Commit({tp.first, tp.second}, off);
      ASSERT_TRUE(s.ok()) << s.error().ToString();
    }
  }

  // Group membership is asynchronous in Kafka: poll (nothing is produced
  // yet) until the members together own `total` partitions.
  void AwaitAssignment(const std::vector<Consumer*>& members, size_t total) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      size_t n = 0;
      bool each = true;
      for (auto* c : members) {
        auto r = c->Poll(1, 50ms);
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(r->empty());
        n += c->Assignment().size();
        each = each && !c->Assignment().empty();
      }
      if (n == total && each) return;
    }
    FAIL() << "group members never owned " << total << " partitions";
  }

  testing::TempDir dir_;
  std::unique_ptr<Queue> queue_;
  std::unique_ptr<Producer> producer_;
};

TEST_P(QueueContractTest, ProducedRecordsAreConsumedInOffsetOrderPerPartition) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (int i = 0; i < 100; ++i) kv.push_back({"key" + std::to_string(i % 10), std::to_string(i)});
  ProduceAll(kv);
  auto c = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c.ok());
  auto recs = PollN(**c, 100);
  ASSERT_EQ(recs.size(), 100u);
  std::map<int32_t, int64_t> last;
  std::map<std::string, int32_t> key_partition;
  std::set<std::string> values;
  for (const auto& r : recs) {
    if (last.count(r.partition)) {
      EXPECT_GT(r.offset, last[r.partition]);
    }
    last[r.partition] = r.offset;
    EXPECT_EQ(r.partition, PartitionForKey(r.key, 4));
    if (key_partition.count(r.key)) {
      EXPECT_EQ(key_partition[r.key], r.partition);
    }
    key_partition[r.key] = r.partition;
    values.insert(r.value);
    ASSERT_TRUE(r.FindHeader("h").has_value());
    EXPECT_EQ(*r.FindHeader("h"), "v" + r.value);
    EXPECT_GT(r.timestamp_ms, 0);
  }
  EXPECT_EQ(values.size(), 100u);
  EXPECT_GT(last.size(), 1u) << "keys should spread over partitions";
}

// Administration (what `smimegatectl deadletter` uses): reading a range
// outside any group, the offsets held, removing records before an offset.
TEST_P(QueueContractTest, AdminReadsARangeAndDeletesBeforeAnOffset) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (int i = 0; i < 10; ++i) kv.push_back({"k", std::to_string(i)});
  ProduceAll(kv, "u");
  const TopicPartition tp{"u", 0};
  auto count = queue_->PartitionCount("u");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
  EXPECT_EQ(queue_->PartitionCount("nope").error().code, ErrorCode::kNotFound);
  auto range = queue_->Offsets(tp);
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  EXPECT_EQ(range->low, 0);
  EXPECT_EQ(range->high, 10);
  auto some = queue_->ReadRange(tp, 3, 4);
  ASSERT_TRUE(some.ok()) << some.error().ToString();
  ASSERT_EQ(some->size(), 4u);
  EXPECT_EQ((*some)[0].offset, 3);
  EXPECT_EQ((*some)[0].value, "3");
  EXPECT_EQ((*some)[3].value, "6");
  ASSERT_TRUE((*some)[0].FindHeader("h").has_value());
  // Reading is no consumption: the group still gets everything.
  auto c = queue_->CreateConsumer("g", {"u"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(PollN(**c, 10).size(), 10u);
  (*c)->Close();

  auto st = queue_->DeleteBefore(tp, 4);
  if (!st.ok() && st.error().code == ErrorCode::kUnsupported && GetParam().name == "kafka") {
    // librdkafka 2.0.2's mock cluster has no DeleteRecords; real brokers do.
    GTEST_SKIP() << "the test broker does not implement DeleteRecords: " << st.error().message;
  }
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  range = queue_->Offsets(tp);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->low, 4);
  EXPECT_EQ(range->high, 10);
  auto rest = queue_->ReadRange(tp, 0, 100);
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
  ASSERT_EQ(rest->size(), 6u);
  EXPECT_EQ(rest->front().value, "4");
  // A group that starts after the delete sees only what is left.
  auto late = queue_->CreateConsumer("late", {"u"});
  ASSERT_TRUE(late.ok());
  auto recs = PollN(**late, 6);
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs.front().value, "4");
}

TEST_P(QueueContractTest, ATopicWithARetentionIsCreatedAndKeepsCommittedRecords) {
  auto created = queue_->EnsureTopics({{"dl", 1, Retention{std::chrono::hours(24), 1 << 20}}});
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  ProduceAll({{"k", "a"}, {"k", "b"}}, "dl");
  auto c = queue_->CreateConsumer("g", {"dl"});
  ASSERT_TRUE(c.ok());
  auto recs = PollN(**c, 2);
  ASSERT_EQ(recs.size(), 2u);
  CommitAll(**c, recs);
  auto held = queue_->ReadRange({"dl", 0}, 0, 10);
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  EXPECT_EQ(held->size(), 2u);
}

TEST(KafkaTopicConfig, RetentionBecomesTopicConfiguration) {
  EXPECT_TRUE(KafkaTopicConfig(TopicSpec("t", 4)).empty());
  auto cfg = KafkaTopicConfig(TopicSpec("d", 1, Retention{std::chrono::hours(24 * 14), 1ull << 30}));
  std::map<std::string, std::string> m(cfg.begin(), cfg.end());
  EXPECT_EQ(m["retention.ms"], "1209600000");
  EXPECT_EQ(m["retention.bytes"], "1073741824");
  EXPECT_EQ(m["cleanup.policy"], "delete");
  auto age_only = KafkaTopicConfig(TopicSpec("d", 1, Retention{std::chrono::hours(1), 0}));
  std::map<std::string, std::string> a(age_only.begin(), age_only.end());
  EXPECT_EQ(a["retention.bytes"], "-1");
}

// Pins (issue 21): a record produced with pins keeps the records it names
// until it is removed itself; a queue without pins refuses them, so its
// callers copy.
TEST_P(QueueContractTest, APinnedRecordStaysUntilThePinningRecordIsRemoved) {
  ProduceAll({{"k", "0"}, {"k", "1"}, {"k", "2"}}, "u");
  auto read = queue_->ReadRecord({"u", 0, 1});
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(read->value, "1");
  EXPECT_EQ(read->offset, 1);
  auto produce_pinning = [&](int64_t pinned) {
    std::promise<Status> done;
    OutRecord r;
    r.topic = "t";
    r.key = "k";
    r.value = "holder";
    r.partition = 0;
    r.pins.push_back({"u", 0, pinned});
    producer_->Produce(std::move(r), [&](Status st) { done.set_value(std::move(st)); });
    return done.get_future().get();
  };
  if (!queue_->SupportsPins()) {
    auto st = produce_pinning(1);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kUnsupported) << st.error().ToString();
    return;
  }
  auto st = produce_pinning(1);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  ASSERT_TRUE(queue_->DeleteBefore({"u", 0}, 3).ok());
  EXPECT_EQ(queue_->ReadRecord({"u", 0, 0}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(queue_->ReadRecord({"u", 0, 2}).error().code, ErrorCode::kNotFound);
  read = queue_->ReadRecord({"u", 0, 1});
  ASSERT_TRUE(read.ok()) << "a pinned record went with DeleteBefore";
  EXPECT_EQ(read->value, "1");
  // A record that is gone cannot be pinned: a clear error, not a dangling pin.
  st = produce_pinning(0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound) << st.error().ToString();
  // Removing the pinning record (offset 0 of t/0) frees the pinned one.
  ASSERT_TRUE(queue_->DeleteBefore({"t", 0}, 1).ok());
  EXPECT_EQ(queue_->ReadRecord({"u", 0, 1}).error().code, ErrorCode::kNotFound);
}

// ReadRecord (egress resolving a body reference, issue 21): exactly the
// record named, from any partition in any order; one never written is
// kNotFound, not another record. Kafka: through the queue's one dedicated
// reader (common/kafka_record_reader.h), reassigned for every read.
TEST_P(QueueContractTest, ReadRecordReadsExactlyTheRecordNamed) {
  ProduceAll({{"k", "u0"}, {"k", "u1"}, {"k", "u2"}}, "u");
  ProduceAll({{"a", "t-a"}, {"b", "t-b"}});
  const int32_t pa = PartitionForKey("a", 4);
  for (const auto& [ref, want] : std::vector<std::pair<RecordRef, std::string>>{
           {{"u", 0, 2}, "u2"}, {{"t", pa, 0}, "t-a"}, {{"u", 0, 0}, "u0"}, {{"u", 0, 1}, "u1"}}) {
    auto r = queue_->ReadRecord(ref);
    ASSERT_TRUE(r.ok()) << ref.topic << "@" << ref.offset << ": " << r.error().ToString();
    EXPECT_EQ(r->value, want);
    EXPECT_EQ(r->offset, ref.offset);
    EXPECT_EQ(r->partition, ref.partition);
  }
  auto beyond = queue_->ReadRecord({"u", 0, 7});
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, ErrorCode::kNotFound) << beyond.error().ToString();
}

// What each mode allows a referring record (common/queue.h ReferenceMode):
// the embedded queue pins; Kafka never pins and, against the test broker
// (which does not answer DescribeConfigs), copies: the retention is not known.
TEST_P(QueueContractTest, ReferenceTermsFollowWhatTheModeCanGuarantee) {
  ReferenceTerms terms = ReferenceTermsFor(*queue_, "u");
  if (GetParam().name == "embedded") {
    EXPECT_EQ(terms.mode, ReferenceMode::kPinned);
    return;
  }
  EXPECT_EQ(terms.mode, ReferenceMode::kCopy) << terms.reason;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (terms.pending && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    terms = ReferenceTermsFor(*queue_, "u");
  }
  EXPECT_FALSE(terms.pending) << "the answer (or its failure) came within 15 s";
  EXPECT_EQ(terms.mode, ReferenceMode::kCopy);
  EXPECT_NE(terms.reason.find("retention not known"), std::string::npos) << terms.reason;
  EXPECT_NE(terms.reason.find("queue.kafka.assume_retention"), std::string::npos) << terms.reason;
}

// queue.kafka.assume_retention (brokers that do not answer DescribeConfigs):
// the stated retention is held against queue.kafka.share_min_retention.
TEST(KafkaReferenceTerms, AStatedRetentionShorterThanTheMinimumTurnsReferencesOff) {
  testing::KafkaBrokerProcess broker(SMIMEGATE_TEST_BROKER, {{"u", 1}});
  ASSERT_TRUE(broker.ok());
  auto terms_with = [&](std::chrono::milliseconds stated) {
    KafkaQueueOptions o;
    o.brokers = broker.bootstrap();
    o.share_min_retention = std::chrono::hours(24);
    o.assume_retention = stated;
    auto q = KafkaQueue::Open(o);
    EXPECT_TRUE(q.ok());
    return q.ok() ? ReferenceTermsFor(**q, "u") : ReferenceTerms{};
  };
  ReferenceTerms short_one = terms_with(std::chrono::hours(1));
  EXPECT_EQ(short_one.mode, ReferenceMode::kCopy);
  EXPECT_NE(short_one.reason.find("share_min_retention"), std::string::npos) << short_one.reason;
  ReferenceTerms long_one = terms_with(std::chrono::hours(48));
  EXPECT_EQ(long_one.mode, ReferenceMode::kRetained) << long_one.reason;
  EXPECT_NE(long_one.reason.find("assume_retention"), std::string::npos) << long_one.reason;
}

// A record Kafka deleted (here: the test broker keeps 5 MiB per partition
// and drops the oldest records beyond, as retention.bytes would) is
// kNotFound from ReadRecord, saying it is gone - what egress dead-letters
// as an unresolved body reference - never another record.
TEST(KafkaRecordReader, ARecordThatRetentionDeletedIsGone) {
  testing::KafkaBrokerProcess broker(SMIMEGATE_TEST_BROKER, {{"u", 1}});
  ASSERT_TRUE(broker.ok());
  KafkaQueueOptions o;
  o.brokers = broker.bootstrap();
  auto q = KafkaQueue::Open(o);
  ASSERT_TRUE(q.ok());
  auto p = (*q)->CreateProducer();
  ASSERT_TRUE(p.ok());
  // Incompressible (the producer compresses with lz4): 8 MiB stored.
  uint64_t x = 88172645463325252ull;
  auto noise = [&x] {
    std::string v(1 << 20, '\0');
    for (char& c : v) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    return v;
  };
  std::string last;
  for (int i = 0; i < 8; ++i) {
    std::promise<Status> done;
    OutRecord r;
    r.topic = "u";
    r.key = "k";
    r.value = noise();
    last = r.value;
    (*p)->Produce(std::move(r), [&](Status st) { done.set_value(std::move(st)); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  auto range = (*q)->Offsets({"u", 0});
  ASSERT_TRUE(range.ok());
  ASSERT_GT(range->low, 0) << "the test broker kept every 1 MiB record";
  auto gone = (*q)->ReadRecord({"u", 0, 0});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound) << gone.error().ToString();
  EXPECT_NE(gone.error().message.find("gone"), std::string::npos) << gone.error().message;
  auto kept = (*q)->ReadRecord({"u", 0, 7});
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_EQ(kept->value, last);
}

TEST_P(QueueContractTest, UnknownTopicIsNotFound) {
  std::promise<Status> p;
  OutRecord r;
  r.topic = "nope";
  producer_->Produce(std::move(r), [&](Status s) { p.set_value(std::move(s)); });
  auto s = p.get_future().get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("nope"), std::string::npos);
  EXPECT_FALSE(queue_->CreateConsumer("g", {"nope"}).ok());
}

TEST_P(QueueContractTest, CommittedRecordsAreNotDeliveredAgainToTheGroup) {
  ProduceAll({{"a", "1"}, {"b", "2"}, {"c", "3"}});
  {
    auto c = queue_->CreateConsumer("g", {"t"});
    ASSERT_TRUE(c.ok());
    auto recs = PollN(**c, 3);
    ASSERT_EQ(recs.size(), 3u);
    CommitAll(**c, recs);
    (*c)->Close();
  }
  ProduceAll({{"d", "4"}});
  auto c = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c.ok());
  auto recs = PollN(**c, 1);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].value, "4");
  auto more = (*c)->Poll(10, std::chrono::milliseconds(100));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
}

TEST_P(QueueContractTest, UncommittedRecordsAreDeliveredAgainAfterTheConsumerLeaves) {
  ProduceAll({{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}});
  auto first = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(first.ok());
  auto recs = PollN(**first, 4);
  ASSERT_EQ(recs.size(), 4u);
  // Commit only the record of one partition, then leave.
  CommitAll(**first, {recs[0]});
  (*first)->Close();
  auto second = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(second.ok());
  auto again = PollN(**second, 3);
  std::set<std::string> values;
  for (const auto& r : again) values.insert(r.value);
  EXPECT_EQ(again.size(), 3u);
  auto more = (*second)->Poll(10, std::chrono::milliseconds(100));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
  EXPECT_FALSE(values.count(recs[0].value));
}

TEST_P(QueueContractTest, GroupMembersSharePartitionsAndEachRecordGoesToOneMember) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (int i = 0; i < 200; ++i) kv.push_back({"k" + std::to_string(i), std::to_string(i)});
  auto a = queue_->CreateConsumer("g", {"t"});
  auto b = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(a.ok() && b.ok());
  AwaitAssignment({a->get(), b->get()}, 4);
  auto assigned_a = (*a)->Assignment();
  auto assigned_b = (*b)->Assignment();
  EXPECT_EQ(assigned_a.size() + assigned_b.size(), 4u);
  EXPECT_FALSE(assigned_a.empty());
  EXPECT_FALSE(assigned_b.empty());
  ProduceAll(kv);
  std::map<std::string, int> seen;
  size_t total = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (total < 200 && std::chrono::steady_clock::now() < deadline) {
    for (auto* c : {a->get(), b->get()}) {
      auto r = c->Poll(500, 100ms);
      ASSERT_TRUE(r.ok());
      for (const auto& rec : *r) {
        seen[rec.value]++;
        ++total;
      }
    }
  }
  for (auto* c : {a->get(), b->get()}) {  // and nothing more arrives
    auto r = c->Poll(500, 200ms);
    ASSERT_TRUE(r.ok());
    for (const auto& rec : *r) seen[rec.value]++;
  }
  EXPECT_EQ(seen.size(), 200u);
  for (const auto& [v, n] : seen) EXPECT_EQ(n, 1) << v;
}

TEST_P(QueueContractTest, AMemberLearnsWhichPartitionsWentToAnotherMember) {
  auto a = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(a.ok());
  AwaitAssignment({a->get()}, 4);
  EXPECT_TRUE((*a)->TakeLostPartitions().empty());
  auto b = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(b.ok());
  AwaitAssignment({a->get(), b->get()}, 4);
  auto lost = (*a)->TakeLostPartitions();
  auto owned_b = (*b)->Assignment();
  std::set<std::pair<std::string, int32_t>> lost_set, b_set;
  for (const auto& tp : lost) lost_set.insert({tp.topic, tp.partition});
  for (const auto& tp : owned_b) b_set.insert({tp.topic, tp.partition});
  EXPECT_EQ(lost_set, b_set);                       // exactly what b owns now, nothing a kept
  EXPECT_TRUE((*a)->TakeLostPartitions().empty());  // each once
  EXPECT_TRUE((*b)->TakeLostPartitions().empty());
  // b leaves: a gets everything back and has lost nothing more.
  (*b)->Close();
  AwaitAssignment({a->get()}, 4);
  EXPECT_TRUE((*a)->TakeLostPartitions().empty());
}

// SetDrainOnRevoke (issue 24): a partition a rebalance takes from a
// draining member stays its own - revoking: no more of its records, commits
// still work - until the member releases it; its new owner then starts
// after what the member committed, so nothing it finished is read twice.
TEST_P(QueueContractTest, ARevokingPartitionStaysUntilReleasedAndItsNewOwnerStartsAfterTheCommits) {
  auto a = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(a.ok());
  (*a)->SetDrainOnRevoke(true);
  AwaitAssignment({a->get()}, 4);
  std::vector<std::pair<std::string, std::string>> kv;
  kv.reserve(40);
  for (int i = 0; i < 40; ++i) kv.emplace_back("k" + std::to_string(i), std::to_string(i));
  ProduceAll(kv);
  const auto in_hand = PollN(**a, 40);  // nothing committed yet
  ASSERT_EQ(in_hand.size(), 40u);
  auto b = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(b.ok());
  std::vector<TopicPartition> revoking;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (revoking.empty() && std::chrono::steady_clock::now() < deadline) {
    for (auto* c : {a->get(), b->get()}) {
      auto r = c->Poll(10, 50ms);
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->empty());  // a's records are in hand, b has none yet
    }
    revoking = (*a)->RevokingPartitions();
  }
  ASSERT_FALSE(revoking.empty())
      << "the rebalance never revoked a partition of the draining member";
  // Still a's: b gets none of them while a holds on (and keeps polling).
  for (int i = 0; i < 5; ++i) {
    for (auto* c : {a->get(), b->get()}) ASSERT_TRUE(c->Poll(10, 50ms).ok());
  }
  for (const auto& tp : (*b)->Assignment()) {
    EXPECT_EQ(std::count(revoking.begin(), revoking.end(), tp), 0) << tp.topic << tp.partition;
  }
  EXPECT_EQ((*a)->RevokingPartitions().size(), revoking.size());
  if (GetParam().name == "kafka") {
    // Kafka accepts a commit of the current generation while the group
    // prepares its rebalance; the test broker (librdkafka 2.0.2's mock
    // cluster) answers REBALANCE_IN_PROGRESS in its joining state. Recorded
    // here: should it start accepting, test the hand-over as below.
    auto refused = (*a)->Commit({in_hand[0].topic, in_hand[0].partition}, in_hand[0].offset + 1);
    EXPECT_FALSE(refused.ok()) << "the test broker accepts commits during a rebalance now";
    (*a)->ReleaseRevoking();
    EXPECT_TRUE((*a)->RevokingPartitions().empty());
    // The rebalance goes on; uncommitted, every record is read again.
    std::set<std::string> again;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (again.size() < in_hand.size() && std::chrono::steady_clock::now() < until) {
      for (auto* c : {a->get(), b->get()}) {
        auto r = c->Poll(50, 50ms);
        ASSERT_TRUE(r.ok());
        for (const auto& rec : *r) again.insert(rec.value);
      }
    }
    EXPECT_EQ(again.size(), in_hand.size());
    return;
  }
  CommitAll(**a, in_hand);  // what a finished, committed before it lets go
  (*a)->ReleaseRevoking();
  EXPECT_TRUE((*a)->RevokingPartitions().empty());
  AwaitAssignment({a->get(), b->get()}, 4);
  ProduceAll({{"late", "late"}});
  std::map<std::string, int> seen;
  for (int i = 0; i < 20 && seen.empty(); ++i) {
    for (auto* c : {a->get(), b->get()}) {
      auto r = c->Poll(50, 100ms);
      ASSERT_TRUE(r.ok());
      for (const auto& rec : *r) ++seen[rec.value];
    }
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"late", 1}}));
}

TEST_P(QueueContractTest, EveryGroupGetsEveryRecord) {
  ProduceAll({{"a", "1"}, {"b", "2"}});
  auto g1 = queue_->CreateConsumer("g1", {"t"});
  auto g2 = queue_->CreateConsumer("g2", {"t"});
  ASSERT_TRUE(g1.ok() && g2.ok());
  EXPECT_EQ(PollN(**g1, 2).size(), 2u);
  EXPECT_EQ(PollN(**g2, 2).size(), 2u);
}

// CommitMany (one OffsetCommit in Kafka): each owned partition committed,
// the highest offset named for a partition wins whatever the order, and a
// partition the member does not own is refused in its own status only.
TEST_P(QueueContractTest, CommitManyCommitsEachOwnedPartitionAndRefusesTheOthers) {
  std::vector<std::pair<std::string, std::string>> kv;
  kv.reserve(12);
  for (int i = 0; i < 12; ++i) kv.emplace_back("k" + std::to_string(i), std::to_string(i));
  ProduceAll(kv);
  std::map<int32_t, std::vector<Record>> by_partition;
  int32_t partly_p = -1;
  {
    auto c = queue_->CreateConsumer("g", {"t"});
    ASSERT_TRUE(c.ok());
    for (auto& r : PollN(**c, kv.size())) by_partition[r.partition].push_back(std::move(r));
    ASSERT_GE(by_partition.size(), 2u) << "keys should spread over partitions";
    // The first partition with more than one record is committed after its
    // first record only; every other one to its end, named twice (the end,
    // then a lower offset).
    auto partly = by_partition.end();
    for (auto it = by_partition.begin(); it != by_partition.end(); ++it) {
      if (it->second.size() > 1) {
        partly = it;
        break;
      }
    }
    ASSERT_NE(partly, by_partition.end());
    partly_p = partly->first;
    std::vector<Consumer::OffsetCommit> commits;
    for (const auto& [p, recs] : by_partition) {
      if (p == partly_p) {
        commits.push_back({{"t", p}, recs.front().offset + 1});
      } else {
        commits.push_back({{"t", p}, recs.back().offset + 1});
        commits.push_back({{"t", p}, recs.front().offset});
      }
    }
    commits.push_back({{"u", 0}, 1});  // not subscribed: not owned
    auto results = (*c)->CommitMany(commits);
    ASSERT_EQ(results.size(), commits.size());
    for (size_t i = 0; i + 1 < results.size(); ++i) {
      EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].error().ToString();
    }
    ASSERT_FALSE(results.back().ok());
    EXPECT_EQ(results.back().error().code, ErrorCode::kPermissionDenied);
    (*c)->Close();
  }
  // The group's next member reads exactly the partly committed partition's rest.
  auto next = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(next.ok());
  std::vector<std::string> expected;
  const auto& rest = by_partition[partly_p];
  for (size_t i = 1; i < rest.size(); ++i) expected.push_back(rest[i].value);
  std::vector<std::string> again;
  for (const auto& r : PollN(**next, expected.size())) again.push_back(r.value);
  EXPECT_EQ(again, expected);
  auto more = (*next)->Poll(10, std::chrono::milliseconds(300));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty()) << "a partition committed to its end was read again";
}

TEST_P(QueueContractTest, CommitOfAPartitionRebalancedAwayIsRefused) {
  ProduceAll({{"a", "1"}}, "u");
  auto a = queue_->CreateConsumer("g", {"u"});
  ASSERT_TRUE(a.ok());
  auto recs = PollN(**a, 1);
  ASSERT_EQ(recs.size(), 1u);
  auto b = queue_->CreateConsumer("g", {"u"});  // one partition: stays with a
  ASSERT_TRUE(b.ok());
  (*a)->Close();
  auto s = (*a)->Commit({"u", 0}, recs[0].offset + 1);
  EXPECT_FALSE(s.ok());
  // The new owner gets the uncommitted record.
  EXPECT_EQ(PollN(**b, 1).size(), 1u);
}

TEST_P(QueueContractTest, ConcurrentProducersAllGetDurableAcks) {
  constexpr int kThreads = 8, kPerThread = 250;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto p = queue_->CreateProducer();
      ASSERT_TRUE(p.ok());
      for (int i = 0; i < kPerThread; ++i) {
        OutRecord r;
        r.topic = "t";
        r.key = std::to_string(t) + "/" + std::to_string(i);
        r.value = r.key;
        (*p)->Produce(std::move(r), [&](Status s) { (s.ok() ? ok : failed)++; });
      }
      ASSERT_TRUE((*p)->Flush(10s).ok());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  auto c = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c.ok());
  auto recs = PollN(**c, kThreads * kPerThread);
  std::set<std::string> values;
  for (const auto& r : recs) values.insert(r.value);
  EXPECT_EQ(values.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(QueueContractTest, PauseHoldsBackAPartitionAndSeekRereads) {
  auto c = queue_->CreateConsumer("g", {"u"});
  ASSERT_TRUE(c.ok());
  AwaitAssignment({c->get()}, 1);
  (*c)->Pause({"u", 0});
  ProduceAll({{"a", "1"}, {"a", "2"}}, "u");
  auto none = (*c)->Poll(10, 100ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  (*c)->Resume({"u", 0});
  auto recs = PollN(**c, 2);
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_TRUE((*c)->Seek({"u", 0}, recs[1].offset).ok());
  auto again = PollN(**c, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].value, "2");
}

TEST_P(QueueContractTest, LagIsEndMinusCommitted) {
  ProduceAll({{"a", "1"}, {"a", "2"}, {"a", "3"}}, "u");
  auto c = queue_->CreateConsumer("g", {"u"});
  ASSERT_TRUE(c.ok());
  auto recs = PollN(**c, 3);
  ASSERT_EQ(recs.size(), 3u);
  ASSERT_TRUE((*c)->Commit({"u", 0}, recs[0].offset + 1).ok());
  auto lag = (*c)->Lag();
  ASSERT_TRUE(lag.ok());
  ASSERT_EQ(lag->size(), 1u);
  EXPECT_EQ((*lag)[0].lag(), 2);
}

int64_t LagSum(const std::vector<PartitionLag>& lags) {
  int64_t n = 0;
  for (const auto& l : lags) n += l.lag();
  return n;
}

// OwnedLag (issue 24): only the partitions a member owns, against its own
// commits; summed over the members of a group each partition counts once,
// and a partition rebalanced away leaves the member that lost it.
TEST_P(QueueContractTest, OwnedLagCountsOnlyOwnedPartitionsOnce) {
  std::vector<std::pair<std::string, std::string>> kv;
  std::set<int32_t> used;
  for (int i = 0; i < 20; ++i) {
    kv.emplace_back("k" + std::to_string(i), std::to_string(i));
    used.insert(PartitionForKey(kv.back().first, 4));
  }
  ASSERT_EQ(used.size(), 4u) << "the keys should reach every partition";
  ProduceAll(kv);
  auto c1 = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c1.ok());
  // Kafka learns ends and starts from fetches: poll until all are known.
  std::vector<Record> recs;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((recs.size() < 20 || (*c1)->OwnedLag().size() < 4) &&
         std::chrono::steady_clock::now() < deadline) {
    auto r = (*c1)->Poll(20, 100ms);
    ASSERT_TRUE(r.ok());
    for (auto& rec : *r) recs.push_back(std::move(rec));
  }
  ASSERT_EQ(recs.size(), 20u);
  ASSERT_EQ((*c1)->OwnedLag().size(), 4u);
  EXPECT_EQ(LagSum((*c1)->OwnedLag()), 20);
  // Its own commit counts at once (no poll in between): one record each.
  std::map<int32_t, int64_t> first;
  for (const auto& r : recs) {
    if (!first.count(r.partition)) first[r.partition] = r.offset;
  }
  ASSERT_EQ(first.size(), 4u);
  for (const auto& [p, off] : first) ASSERT_TRUE((*c1)->Commit({"t", p}, off + 1).ok());
  EXPECT_EQ(LagSum((*c1)->OwnedLag()), 16);

  // A second member takes some partitions: each member reports only its
  // own, together every partition once, from the group's commits.
  auto c2 = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c2.ok());
  auto owned = [](Consumer& c) {
    std::set<int32_t> ps;
    for (const auto& l : c.OwnedLag()) ps.insert(l.tp.partition);
    return ps;
  };
  auto assigned = [](Consumer& c) {
    std::set<int32_t> ps;
    for (const auto& tp : c.Assignment()) ps.insert(tp.partition);
    return ps;
  };
  deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*c1)->Poll(20, 50ms).ok());  // re-delivered, not committed
    ASSERT_TRUE((*c2)->Poll(20, 50ms).ok());
    auto a1 = assigned(**c1), a2 = assigned(**c2);
    if (!a1.empty() && !a2.empty() && a1.size() + a2.size() == 4 && owned(**c1) == a1 &&
        owned(**c2) == a2) {
      break;
    }
  }
  auto o1 = owned(**c1), o2 = owned(**c2);
  EXPECT_FALSE(o1.empty());
  EXPECT_FALSE(o2.empty());
  EXPECT_EQ(o1.size() + o2.size(), 4u);
  for (int32_t p : o1) EXPECT_EQ(o2.count(p), 0u) << "partition " << p << " counted twice";
  EXPECT_EQ(o1, assigned(**c1));
  EXPECT_EQ(o2, assigned(**c2));
  EXPECT_EQ(LagSum((*c1)->OwnedLag()) + LagSum((*c2)->OwnedLag()), 16);
  (*c2)->Close();
  EXPECT_TRUE((*c2)->OwnedLag().empty());
  (*c1)->Close();
}

// Event-loop consumers (egress) poll without waiting; that alone must make
// progress, group membership included.
TEST_P(QueueContractTest, NonBlockingPollsAloneDeliverRecords) {
  ProduceAll({{"a", "1"}, {"b", "2"}});
  auto c = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c.ok());
  size_t got = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got < 2 && std::chrono::steady_clock::now() < deadline) {
    auto r = (*c)->Poll(10, 0ms);
    ASSERT_TRUE(r.ok());
    got += r->size();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(got, 2u);
}

TEST_P(QueueContractTest, WakeupEndsABlockedPoll) {
  auto c = queue_->CreateConsumer("g", {"t"});
  ASSERT_TRUE(c.ok());
  auto start = std::chrono::steady_clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    (*c)->Wakeup();
  });
  auto r = (*c)->Poll(10, 10s);
  waker.join();
  ASSERT_TRUE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

INSTANTIATE_TEST_SUITE_P(AllQueues, QueueContractTest, ::testing::ValuesIn(QueueKinds()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace sg::queue
