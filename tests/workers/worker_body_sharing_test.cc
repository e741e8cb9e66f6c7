// WorkerPool and the queue's reference terms (issue 21, the body written
// once; common/queue.h ReferenceMode): a pass-through body is referred to
// only as the queue allows - pinned (embedded), by retention with a digest
// and never a pin (Kafka, and only from workers.share_bodies_min_bytes on),
// or copied when the queue says the topic's retention is not long enough.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include "common/embedded_queue.h"
#include "common/queue_body_ref.h"
#include "common/queue_config.h"
#include "common/queue_references.h"
#include "tests/support/forwarding_queue.h"
#include "tests/support/temp_dir.h"
#include "workers/message_processor.h"
#include "workers/worker_pool.h"

namespace sg::workers {
namespace {

using namespace std::chrono_literals;

// Refuses pins as the Kafka queue does, so a referring record that tried to
// pin would never be written.
class NoPinProducer : public queue::Producer {
 public:
  explicit NoPinProducer(std::unique_ptr<queue::Producer> real) : real_(std::move(real)) {}
  void Produce(queue::OutRecord r, queue::ProduceCallback done) override {
    if (!r.pins.empty()) {
      done(MakeError(ErrorCode::kUnsupported, "no pins here"));
      return;
    }
    real_->Produce(std::move(r), std::move(done));
  }
  Status Flush(std::chrono::milliseconds t) override { return real_->Flush(t); }

 private:
  std::unique_ptr<queue::Producer> real_;
};

// An embedded queue that answers ReferenceTermsFor as the test says and,
// unless the terms are kPinned, keeps no pins (the Kafka mode's contract).
class TermsQueue : public testing::ForwardingQueue, public queue::ReferenceTermsSource {
 public:
  TermsQueue(queue::Queue& real, queue::ReferenceTerms terms)
      : ForwardingQueue(real), terms_(std::move(terms)) {}
  Result<std::unique_ptr<queue::Producer>> CreateProducer() override {
    SG_ASSIGN_OR_RETURN(auto p, real().CreateProducer());
    if (terms_.mode == queue::ReferenceMode::kPinned) return p;
    return std::unique_ptr<queue::Producer>(new NoPinProducer(std::move(p)));
  }
  // The terms alone decide, as ReferenceTermsFor answers them.
  bool SupportsPins() const override { return false; }
  queue::ReferenceTerms ReferenceTermsFor(const std::string&) override { return terms_; }

 private:
  queue::ReferenceTerms terms_;
};

// The Kafka mode before and after DescribeConfigs answered: the terms are
// pending for the first `pending_answers` questions, then final.
class LaterTermsQueue : public TermsQueue {
 public:
  LaterTermsQueue(queue::Queue& real, queue::ReferenceTerms final_terms, int pending_answers)
      : TermsQueue(real, final_terms), final_(std::move(final_terms)), pending_left_(pending_answers) {}
  queue::ReferenceTerms ReferenceTermsFor(const std::string& topic) override {
    ++asked;
    if (pending_left_ > 0) {
      --pending_left_;
      return {queue::ReferenceMode::kCopy, "topic " + topic + ": retention not read yet", true};
    }
    return final_;
  }
  std::atomic<int> asked{0};

 private:
  queue::ReferenceTerms final_;
  std::atomic<int> pending_left_;
};

class WorkerBodySharingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue::EmbeddedQueueOptions opts;
    opts.path = dir_.Sub("queue");
    opts.sync = false;
    auto q = queue::EmbeddedQueue::Open(opts);
    ASSERT_TRUE(q.ok());
    queue_ = std::move(*q);
    qc_.partitions = 1;
    ASSERT_TRUE(queue_->EnsureTopics(qc_.PipelineTopics()).ok());
  }

  // Passes one inbound message with a body of `body_bytes` through a pool
  // on `terms` with workers.share_bodies_min_bytes = `min_bytes` (nullopt:
  // the mode's default); returns the deliver record (and the sharing gauge).
  smimegate::v1::MessageRecord Deliver(queue::ReferenceTerms terms, size_t body_bytes,
                                       double* gauge, std::string* digest = nullptr,
                                       std::optional<uint64_t> min_bytes = uint64_t{64} * 1024) {
    ProduceInbound("m1", body_bytes);
    TermsQueue terms_queue(*queue_, std::move(terms));
    PassThroughProcessor processor;
    metrics::Registry registry;
    WorkerConfig wc;
    wc.threads = 1;
    wc.share_bodies_min_bytes = min_bytes;
    WorkerPool pool(wc, qc_, terms_queue, processor, registry);
    EXPECT_TRUE(pool.Start().ok());
    std::vector<queue::Record> got;
    for (int i = 0; i < 500 && got.empty(); ++i) {
      std::this_thread::sleep_for(10ms);
      got = *queue_->ReadRange({"deliver", 0}, 0, 10);
    }
    pool.Stop();
    *gauge = registry
                 .AddGauge("smimegate_worker_body_sharing",
                           "1 when deliver records may refer to the bodies of this source "
                           "topic, 0 when they are copied (its Kafka retention is unknown or "
                           "shorter than queue.kafka.share_min_retention)",
                           {"topic"})
                 .WithLabels({"inbound"})
                 .Value();
    smimegate::v1::MessageRecord out;
    EXPECT_EQ(got.size(), 1u);
    if (!got.empty()) {
      EXPECT_TRUE(out.ParseFromString(got[0].value));
      if (digest) *digest = std::string(got[0].FindHeader(queue::kBodyDigestHeader).value_or(""));
    }
    return out;
  }

  // One inbound message `id` with a body of `body_bytes` (kept in body_).
  void ProduceInbound(const std::string& id, size_t body_bytes) {
    smimegate::v1::MessageRecord rec;
    rec.mutable_envelope()->set_message_id(id);
    rec.mutable_envelope()->set_direction(smimegate::v1::DIRECTION_INBOUND);
    rec.mutable_envelope()->set_mail_from("alice@example.org");
    rec.mutable_envelope()->add_recipients()->set_address("bob@example.com");
    body_ = "Subject: x\r\n\r\n" + std::string(body_bytes, 'b') + "\r\n";
    rec.set_message(body_);
    auto p = queue_->CreateProducer();
    std::promise<Status> done;
    (*p)->Produce({"inbound", id, {}, rec.SerializeAsString(), std::nullopt},
                  [&done](const Status& st) { done.set_value(st); });
    EXPECT_TRUE(done.get_future().get().ok());
  }

  sg::testing::TempDir dir_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  queue::QueueConfig qc_;
  std::string body_;
};

// The retention of the inbound topic is not known to be long enough (Kafka:
// DescribeConfigs said less than queue.kafka.share_min_retention, or could
// not say): the deliver record carries the whole body, and the gauge says so.
TEST_F(WorkerBodySharingTest, ATooShortRetentionTurnsSharingOff) {
  double gauge = -1;
  auto out =
      Deliver({queue::ReferenceMode::kCopy, "retention.ms is 3600000"}, size_t{200} * 1024, &gauge);
  EXPECT_FALSE(out.has_body_ref());
  EXPECT_EQ(out.message(), body_);
  EXPECT_EQ(gauge, 0);
}

// Kafka with a long enough retention: a reference with the body's SHA-256
// and no pin (the queue would refuse the record).
TEST_F(WorkerBodySharingTest, ALongRetentionRefersWithADigestAndNoPin) {
  double gauge = -1;
  std::string digest;
  auto out =
      Deliver({queue::ReferenceMode::kRetained, "for ever"}, size_t{200} * 1024, &gauge, &digest);
  ASSERT_TRUE(out.has_body_ref());
  EXPECT_TRUE(out.message().empty());
  EXPECT_EQ(out.body_ref().topic(), "inbound");
  EXPECT_EQ(out.body_ref().length(), body_.size());
  EXPECT_EQ(digest, queue::BodyDigest(body_));
  EXPECT_EQ(gauge, 1);
}

// Below workers.share_bodies_min_bytes a copy is cheaper than egress
// fetching the record back: copied, although the retention allows a reference.
TEST_F(WorkerBodySharingTest, ASmallBodyIsCopiedInTheKafkaMode) {
  double gauge = -1;
  auto out = Deliver({queue::ReferenceMode::kRetained, "for ever"}, size_t{10} * 1024, &gauge);
  EXPECT_FALSE(out.has_body_ref());
  EXPECT_EQ(out.message(), body_);
}

// The embedded queue pins (no digest needed) from its own default size on
// (WorkerConfig::kSharePinnedMinBytes, 32 KiB: measured, docs/benchmarks.md).
TEST_F(WorkerBodySharingTest, TheEmbeddedQueuePinsBodiesFromItsDefaultSizeOn) {
  double gauge = -1;
  std::string digest = "unset";
  auto out = Deliver({queue::ReferenceMode::kPinned, "pinned"}, size_t{40} * 1024, &gauge, &digest,
                     std::nullopt);
  ASSERT_TRUE(out.has_body_ref());
  EXPECT_TRUE(digest.empty()) << "pins need no digest";
  EXPECT_EQ(gauge, 1);
}

// Below it the pin's bookkeeping and egress's read back cost more than the
// second write of a small body: copied.
TEST_F(WorkerBodySharingTest, TheEmbeddedQueueCopiesASmallBody) {
  double gauge = -1;
  auto out = Deliver({queue::ReferenceMode::kPinned, "pinned"}, size_t{10} * 1024, &gauge, nullptr,
                     std::nullopt);
  EXPECT_FALSE(out.has_body_ref());
  EXPECT_EQ(out.message(), body_);
}

// The Kafka mode's default is higher (egress fetches the record back by
// offset): a 200 KiB body that the embedded default would refer to is copied.
TEST_F(WorkerBodySharingTest, TheKafkaDefaultCopiesWhatTheEmbeddedOneWouldRefer) {
  double gauge = -1;
  auto out = Deliver({queue::ReferenceMode::kRetained, "for ever"}, size_t{200} * 1024, &gauge,
                     nullptr, std::nullopt);
  EXPECT_FALSE(out.has_body_ref());
  EXPECT_EQ(out.message(), body_);
}

// While the terms are pending the body is copied; the first final answer is
// kept: later records are referred to without asking the queue again.
TEST_F(WorkerBodySharingTest, PendingTermsCopyAndFinalTermsAreAskedOnce) {
  for (const char* id : {"m1", "m2", "m3"}) ProduceInbound(id, size_t{200} * 1024);
  LaterTermsQueue terms_queue(*queue_, {queue::ReferenceMode::kRetained, "for ever"}, 1);
  PassThroughProcessor processor;
  metrics::Registry registry;
  WorkerConfig wc;
  wc.threads = 1;
  wc.share_bodies_min_bytes = uint64_t{64} * 1024;
  WorkerPool pool(wc, qc_, terms_queue, processor, registry);
  ASSERT_TRUE(pool.Start().ok());
  std::vector<queue::Record> got;
  for (int i = 0; i < 500 && got.size() < 3; ++i) {
    std::this_thread::sleep_for(10ms);
    got = *queue_->ReadRange({"deliver", 0}, 0, 10);
  }
  pool.Stop();
  ASSERT_EQ(got.size(), 3u);
  std::vector<bool> referred;
  for (const auto& r : got) {
    smimegate::v1::MessageRecord out;
    ASSERT_TRUE(out.ParseFromString(r.value));
    referred.push_back(out.has_body_ref());
  }
  EXPECT_EQ(referred, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(terms_queue.asked.load(), 2) << "final terms are asked for once per topic";
}

}  // namespace
}  // namespace sg::workers
