// Dead-letter administration (common/deadletter_admin.h) on the embedded
// queue with the pipeline's topics: list, show, replay, purge.
#include "common/deadletter_admin.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "common/embedded_queue.h"
#include "common/queue_config.h"
#include "proto/envelope.pb.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::deadletter {
namespace {

namespace v1 = smimegate::v1;

class DeadLetterAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue::EmbeddedQueueOptions o;
    o.path = dir_.Sub("q");
    o.sync = false;
    o.clock = &clock_;
    auto q = queue::EmbeddedQueue::Open(o);
    ASSERT_TRUE(q.ok());
    queue_ = std::move(*q);
    queue::QueueConfig qc;
    qc.partitions = 2;
    ASSERT_TRUE(queue_->EnsureTopics(qc.PipelineTopics()).ok());
    admin_ = std::make_unique<QueueDeadLetters>(*queue_, "", &clock_);
  }

  // A dead letter as a stage writes it.
  void DeadLetter(const std::string& id, const std::string& source, const std::string& reason,
                  uint32_t attempt = 0) {
    v1::MessageRecord rec;
    rec.mutable_envelope()->set_message_id(id);
    rec.mutable_envelope()->set_mail_from("alice@example.com");
    rec.mutable_envelope()->add_recipients()->set_address("bob@example.org");
    rec.set_message("Subject: " + id + "\r\n\r\nbody\r\n");
    rec.mutable_delivery()->set_attempt(attempt);
    queue::OutRecord out{"deadletter", id, {}, rec.SerializeAsString(), std::nullopt};
    out.headers = {{"sg-attempt", "3"}, {"trace", "t1"}, {"sg-reason", reason},
                   {"sg-source-topic", source}, {"sg-stage", "egress"}};
    Produce(std::move(out));
  }
  void Produce(queue::OutRecord out) {
    auto p = queue_->CreateProducer();
    std::promise<Status> done;
    (*p)->Produce(std::move(out), [&](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  std::vector<queue::Record> ReadTopic(const std::string& topic) {
    std::vector<queue::Record> out;
    auto parts = queue_->PartitionCount(topic);
    for (int32_t p = 0; p < *parts; ++p) {
      auto r = queue_->ReadRange({topic, p}, 0, 100);
      for (auto& rec : *r) out.push_back(std::move(rec));
    }
    return out;
  }

  sg::testing::TempDir dir_;
  sg::testing::FakeClock clock_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  std::unique_ptr<QueueDeadLetters> admin_;
};

TEST_F(DeadLetterAdminTest, IdsParseAndPrint) {
  EXPECT_EQ(Id::Parse("0:17")->offset, 17);
  EXPECT_EQ(Id::Parse("17")->offset, 17);
  EXPECT_EQ(Id::Parse("2:5")->partition, 2);
  EXPECT_EQ(Id::Parse("2:5")->ToString(), "2:5");
  for (const char* bad : {"", ":", "a", "1:", "-1", "1:x", "0:17z"}) {
    EXPECT_FALSE(Id::Parse(bad).ok()) << bad;
  }
}

TEST_F(DeadLetterAdminTest, ListsShowsAndSummarises) {
  DeadLetter("m1", "deliver", "undeliverable and the sender is the null sender: 550");
  DeadLetter("m2", "outbound", "record is not a valid MessageRecord");
  auto list = admin_->List({});
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  EXPECT_EQ(list->held, 2u);
  ASSERT_EQ(list->entries.size(), 2u);
  const Entry& e = list->entries[0];
  EXPECT_EQ(e.id.ToString(), "0:0");
  EXPECT_EQ(e.key, "m1");
  EXPECT_EQ(e.reason.rfind("undeliverable", 0), 0u);
  EXPECT_EQ(e.source_topic, "deliver");
  EXPECT_EQ(e.stage, "egress");
  EXPECT_EQ(e.mail_from, "alice@example.com");
  EXPECT_EQ(e.recipients, std::vector<std::string>{"bob@example.org"});
  EXPECT_TRUE(e.value.empty());  // no bodies in a list
  auto limited = admin_->List({Id{0, 1}, 10});
  ASSERT_EQ(limited->entries.size(), 1u);
  EXPECT_EQ(limited->entries[0].key, "m2");

  auto shown = admin_->Show(Id{0, 1});
  ASSERT_TRUE(shown.ok());
  v1::MessageRecord rec;
  ASSERT_TRUE(rec.ParseFromString(shown->value));
  EXPECT_EQ(rec.envelope().message_id(), "m2");
  EXPECT_EQ(shown->headers.size(), 5u);
  EXPECT_EQ(admin_->Show(Id{0, 7}).error().code, ErrorCode::kNotFound);
}

TEST_F(DeadLetterAdminTest, ReplayPutsAFreshCopyBackWhereItCameFrom) {
  DeadLetter("m1", "retry", "undeliverable", /*attempt=*/4);
  DeadLetter("m2", "outbound", "transient failures exhausted");
  DeadLetter("m3", "somewhere", "?");
  auto t1 = admin_->Replay(Id{0, 0});
  ASSERT_TRUE(t1.ok()) << t1.error().ToString();
  EXPECT_EQ(*t1, "deliver");  // a retry record is due now: straight to deliver
  auto t2 = admin_->Replay(Id{0, 1});
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(*t2, "outbound");
  EXPECT_EQ(admin_->Replay(Id{0, 2}).error().code, ErrorCode::kInvalidArgument);

  auto delivered = ReadTopic("deliver");
  ASSERT_EQ(delivered.size(), 1u);
  v1::MessageRecord rec;
  ASSERT_TRUE(rec.ParseFromString(delivered[0].value));
  EXPECT_EQ(rec.envelope().message_id(), "m1");
  EXPECT_EQ(rec.delivery().attempt(), 0u);  // a fresh first attempt
  EXPECT_EQ(delivered[0].key, "m1");
  EXPECT_FALSE(delivered[0].FindHeader("sg-reason").has_value());
  EXPECT_FALSE(delivered[0].FindHeader("sg-attempt").has_value());  // attempts start over
  EXPECT_EQ(delivered[0].FindHeader("trace"), "t1");
  EXPECT_EQ(delivered[0].FindHeader("sg-replayed"), "deadletter@0:0");
  EXPECT_EQ(ReadTopic("outbound").size(), 1u);
  EXPECT_EQ(admin_->List({})->held, 3u);  // the dead letters stay until purged
}

TEST_F(DeadLetterAdminTest, PurgesAllBeforeAnIdOrOlderThanAnAge) {
  DeadLetter("m0", "deliver", "r");
  DeadLetter("m1", "deliver", "r");
  clock_.AdvanceMs(3'600'000);
  DeadLetter("m2", "deliver", "r");
  DeadLetter("m3", "deliver", "r");
  EXPECT_EQ(admin_->Purge({}).error().code, ErrorCode::kInvalidArgument);
  PurgeRequest both;
  both.all = true;
  both.before = Id{0, 1};
  EXPECT_EQ(admin_->Purge(both).error().code, ErrorCode::kInvalidArgument);

  PurgeRequest before;
  before.before = Id{0, 1};
  EXPECT_EQ(*admin_->Purge(before), 1u);
  PurgeRequest old;
  old.older_than = std::chrono::minutes(30);
  EXPECT_EQ(*admin_->Purge(old), 1u);  // m1; m2 and m3 are younger
  auto list = admin_->List({});
  ASSERT_EQ(list->entries.size(), 2u);
  EXPECT_EQ(list->entries[0].key, "m2");
  PurgeRequest all;
  all.all = true;
  EXPECT_EQ(*admin_->Purge(all), 2u);
  EXPECT_EQ(admin_->List({})->held, 0u);
  EXPECT_EQ(*admin_->Purge(all), 0u);
}

}  // namespace
}  // namespace sg::deadletter
