// The portal topic's consumer loop (review findings M3, L6): a record whose
// notification fails for good is kept as a dead letter with its reason and
// the next record is stored and notified; a transient failure is read again;
// an exception out of the intake never reaches the thread; a message deleted
// while it is notified finishes without an error.
#include "portal/portal_intake_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <new>
#include <stdexcept>
#include <regex>
#include <set>
#include <thread>

#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "portal/portal_intake.h"
#include "portal/portal_links.h"
#include "portal/portal_mailer.h"
#include "portal/portal_store_memory.h"
#include "portal/portal_templates.h"
#include "portal/portal_vault.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::portal {
namespace {

namespace v1 = smimegate::v1;
using namespace std::chrono_literals;

// Delivers into a list; fails for chosen recipients with a chosen code, or
// runs a hook first (to delete the message while it is notified).
class FakeOutbox : public Outbox {
 public:
  Status Deliver(const v1::MessageRecord& record) override {
    std::lock_guard<std::mutex> lock(mu);
    const std::string to = record.envelope().recipients(0).address();
    if (to == fail_for) return MakeError(fail_code, "refused by the test");
    if (before_deliver) before_deliver(to);
    delivered.push_back(to);
    mails.push_back(record.message());
    return OkStatus();
  }
  std::vector<Status> DeliverAll(const std::vector<v1::MessageRecord>& records) override {
    ++deliver_all_calls;
    return Outbox::DeliverAll(records);
  }
  Status Reply(const v1::MessageRecord&) override { return OkStatus(); }

  std::atomic<int> deliver_all_calls{0};

  std::mutex mu;
  std::string fail_for;
  ErrorCode fail_code = ErrorCode::kInternal;
  std::function<void(const std::string&)> before_deliver;
  std::vector<std::string> delivered;
  std::vector<std::string> mails;
};

// Counts the batched store writes.
class CountingStore : public MemoryPortalStore {
 public:
  Result<std::vector<PutOutcome>> PutMessages(const std::vector<NewMessage>& batch) override {
    ++put_calls;
    return MemoryPortalStore::PutMessages(batch);
  }
  std::atomic<int> put_calls{0};
};

std::string Mail() {
  return "From: alice@corp.example\r\nTo: x@partner.example\r\nSubject: Merger plans\r\n"
         "Message-ID: <m@corp.example>\r\nContent-Type: text/plain\r\n\r\nHi.\r\n";
}

class PortalIntakeLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue::EmbeddedQueueOptions opts;
    opts.path = dir_.Sub("queue");
    opts.sync = false;
    auto q = queue::EmbeddedQueue::Open(opts);
    ASSERT_TRUE(q.ok()) << q.error().ToString();
    queue_ = std::move(*q);
    ASSERT_TRUE(queue_->EnsureTopics({{"portal", 1}, {"deadletter", 1}}).ok());
    auto v = PortalVault::Open(kek_, store_, clock_);
    ASSERT_TRUE(v.ok()) << v.error().ToString();
    vault_ = std::move(*v);
    auto t = Templates::Load(config_);
    ASSERT_TRUE(t.ok()) << t.error().ToString();
    templates_ = std::move(*t);
    mailer_ = std::make_unique<Mailer>(config_, *templates_, outbox_, clock_, metrics_);
    intake_ = std::make_unique<Intake>(config_, *vault_, links_, *mailer_, metrics_, clock_);
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    producer_ = std::move(*p);
    auto c = queue_->CreateConsumer("portal", {"portal"});
    ASSERT_TRUE(c.ok());
    consumer_ = std::move(*c);
  }
  void TearDown() override {
    if (loop_) loop_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  // `one`: a handler of one record at a time instead of the intake's batches.
  void StartLoop(std::function<Status(const v1::MessageRecord&)> one = nullptr,
                 IntakeLoop::Health health = nullptr) {
    IntakeLoop::Handler handler =
        one ? IntakeLoop::PerRecord(std::move(one))
            : [this](const std::vector<v1::MessageRecord>& r) { return intake_->HandleBatch(r); };
    if (!health) health = [] { return OkStatus(); };
    loop_ = std::make_unique<IntakeLoop>(*consumer_, *producer_, "deadletter", metrics_,
                                         std::move(handler), std::move(health));
    thread_ = std::thread([this] { loop_->Run(); });
  }

  static v1::MessageRecord Record(const std::string& queue_id, const std::string& rcpt) {
    v1::MessageRecord r;
    r.mutable_envelope()->set_message_id(queue_id);
    r.mutable_envelope()->set_mail_from("alice@corp.example");
    r.mutable_envelope()->add_recipients()->set_address(rcpt);
    r.set_message(Mail());
    return r;
  }
  void Put(const std::string& queue_id, const std::string& rcpt) {
    Produce("portal", queue_id, Record(queue_id, rcpt).SerializeAsString());
  }
  void Produce(const std::string& topic, const std::string& key, const std::string& value) {
    std::promise<Status> done;
    producer_->Produce({topic, key, {}, value, std::nullopt},
                       [&done](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  std::vector<queue::Record> DeadLetters() {
    auto r = queue_->ReadRange({"deadletter", 0}, 0, 100);
    return r.ok() ? *r : std::vector<queue::Record>{};
  }
  size_t Delivered() {
    std::lock_guard<std::mutex> lock(outbox_.mu);
    return outbox_.delivered.size();
  }
  // Bounded wait for a condition the loop's thread brings about.
  template <class F>
  bool Eventually(F f) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return f();
  }

  sg::testing::TempDir dir_;
  sg::testing::FakeClock clock_;
  PortalConfig config_;
  CountingStore store_;
  SecretKey kek_ = SecretKey::Random();
  metrics::Registry registry_;
  PortalMetrics metrics_{registry_};
  FakeOutbox outbox_;
  Links links_{store_, clock_, "https://portal.example"};
  std::unique_ptr<PortalVault> vault_;
  std::unique_ptr<Templates> templates_;
  std::unique_ptr<Mailer> mailer_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  std::unique_ptr<queue::Producer> producer_;
  std::unique_ptr<queue::Consumer> consumer_;
  std::unique_ptr<IntakeLoop> loop_;
  std::thread thread_;
};

TEST_F(PortalIntakeLoopTest, APermanentNotificationFailureIsDeadLetteredAndTheNextRecordIsStored) {
  outbox_.fail_for = "poison@partner.example";
  outbox_.fail_code = ErrorCode::kInternal;
  Put("q1", "poison@partner.example");
  Put("q2", "bob@partner.example");
  StartLoop();
  // The batch notifies q2 beside q1: wait for both outcomes.
  ASSERT_TRUE(Eventually([&] {
    return Delivered() == 1 && DeadLetters().size() == 1 && metrics_.dead_letters.Value() == 1;
  }));
  EXPECT_EQ(outbox_.delivered[0], "bob@partner.example");
  EXPECT_EQ(*store_.CountMessages("bob@partner.example"), 1u);
  auto dead = DeadLetters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].key, "q1");
  auto reason = dead[0].FindHeader("sg-reason");
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("refused by the test"), std::string::npos) << *reason;
  EXPECT_EQ(dead[0].FindHeader("sg-source-topic").value_or(""), "portal");
  EXPECT_EQ(metrics_.dead_letters.Value(), 1);
}

TEST_F(PortalIntakeLoopTest, ATransientFailureIsReadAgainNotDeadLettered) {
  outbox_.fail_for = "bob@partner.example";
  outbox_.fail_code = ErrorCode::kUnavailable;
  Put("q1", "bob@partner.example");
  StartLoop();
  ASSERT_TRUE(Eventually([&] { return metrics_.intake_errors.Value() >= 2; }));
  EXPECT_TRUE(DeadLetters().empty());
  {
    std::lock_guard<std::mutex> lock(outbox_.mu);
    outbox_.fail_for.clear();  // the queue is back
  }
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
  EXPECT_TRUE(DeadLetters().empty());
}

TEST_F(PortalIntakeLoopTest, AnExceptionInTheIntakeIsCaughtAndTheRecordReadAgain) {
  std::atomic<int> calls{0};
  Put("q1", "bob@partner.example");
  StartLoop([&](const v1::MessageRecord& r) -> Status {
    if (calls++ == 0) throw std::bad_alloc();
    return intake_->Handle(r).status;
  });
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
  EXPECT_GE(calls.load(), 2);
  EXPECT_FALSE(loop_->finished());
  EXPECT_TRUE(DeadLetters().empty());
}

// Review R5: a record that throws every time (bad_alloc on a huge message,
// regex_error from its content) must not stop the single-partition topic.
TEST_F(PortalIntakeLoopTest, ARecordThatAlwaysThrowsIsDeadLetteredAndTheNextIsStored) {
  std::atomic<int> poison_calls{0};
  Put("q1", "poison@partner.example");
  Put("q2", "bob@partner.example");
  StartLoop([&](const v1::MessageRecord& r) -> Status {
    if (r.envelope().message_id() == "q1") {
      ++poison_calls;
      throw std::length_error("the test's poison");
    }
    return intake_->Handle(r).status;
  });
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1 && DeadLetters().size() == 1; }));
  EXPECT_EQ(outbox_.delivered[0], "bob@partner.example");
  // Each pass: the batch throws, then the record alone (the strike).
  EXPECT_GE(poison_calls.load(), IntakeLoop::kMaxAttempts);
  auto dead = DeadLetters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].key, "q1");
  const std::string reason(dead[0].FindHeader("sg-reason").value_or(""));
  EXPECT_NE(reason.find("the test's poison"), std::string::npos) << reason;
  EXPECT_NE(reason.find("5 times in a row"), std::string::npos) << reason;
  EXPECT_TRUE(loop_->ready());
}

// Review R12: kCancelled means the queue is closing, not a bad record.
TEST_F(PortalIntakeLoopTest, ACancelledSendIsReadAgainNotDeadLettered) {
  outbox_.fail_for = "bob@partner.example";
  outbox_.fail_code = ErrorCode::kCancelled;
  Put("q1", "bob@partner.example");
  StartLoop();
  ASSERT_TRUE(Eventually([&] { return metrics_.intake_errors.Value() >= 2; }));
  EXPECT_TRUE(DeadLetters().empty());
  {
    std::lock_guard<std::mutex> lock(outbox_.mu);
    outbox_.fail_for.clear();
  }
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
  EXPECT_TRUE(DeadLetters().empty());
}

// Review R12: with the deliver topic missing (Kafka, create_topics: false)
// every record fails with kNotFound; that stops the intake as not ready
// instead of dead-lettering every record.
TEST_F(PortalIntakeLoopTest, AMissingDeliverTopicMakesTheIntakeNotReadyAndKeepsTheRecords) {
  std::atomic<bool> topic{false};
  outbox_.fail_for = "bob@partner.example";
  outbox_.fail_code = ErrorCode::kNotFound;
  Put("q1", "bob@partner.example");
  StartLoop(nullptr, [&]() -> Status {
    if (topic) return OkStatus();
    return MakeError(ErrorCode::kNotFound, "queue topic deliver does not exist");
  });
  ASSERT_TRUE(Eventually([&] { return metrics_.intake_errors.Value() >= 2; }));
  EXPECT_FALSE(loop_->ready());
  EXPECT_FALSE(loop_->finished());
  EXPECT_TRUE(DeadLetters().empty());
  {
    std::lock_guard<std::mutex> lock(outbox_.mu);
    outbox_.fail_for.clear();  // the topic is created
  }
  topic = true;
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
  EXPECT_TRUE(DeadLetters().empty());
  EXPECT_TRUE(loop_->ready());
}

TEST_F(PortalIntakeLoopTest, AMessageDeletedWhileItIsNotifiedFinishesWithoutError) {
  outbox_.before_deliver = [this](const std::string& to) {
    auto list = store_.ListMessages(to, "", 10);
    ASSERT_TRUE(list.ok());
    for (const auto& m : *list) ASSERT_TRUE(store_.DeleteMessage(to, m.id()).ok());
  };
  v1::MessageRecord r = Record("q1", "bob@partner.example");
  EXPECT_TRUE(intake_->Handle(r).ok());
  EXPECT_EQ(*store_.CountMessages("bob@partner.example"), 0u);
}

TEST_F(PortalIntakeLoopTest, AnUnreadableRecordIsDeadLetteredWithItsReason) {
  Produce("portal", "junk", std::string("\x0a\x7f" "abc"));
  Put("q2", "bob@partner.example");
  StartLoop();
  // The dead letter and the stored message are written by the same batch,
  // in no fixed order: wait for both.
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1 && !DeadLetters().empty(); }));
  auto dead = DeadLetters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].FindHeader("sg-reason").value_or(""), "record is not a valid MessageRecord");
}

// The notification travels in clear: by default it does not name the
// subject (review L7); a domain may turn it on.
TEST_F(PortalIntakeLoopTest, TheNotificationNamesTheSubjectOnlyWhenTheDomainAllowsIt) {
  v1::MessageRecord r = Record("q1", "bob@partner.example");
  ASSERT_TRUE(intake_->Handle(r).ok());
  ASSERT_EQ(outbox_.mails.size(), 1u);
  EXPECT_EQ(outbox_.mails[0].find("Merger plans"), std::string::npos) << outbox_.mails[0];
  EXPECT_NE(outbox_.mails[0].find("Subject: Encrypted message from alice@corp.example\r\n"),
            std::string::npos)
      << outbox_.mails[0];

  DomainSettings corp = config_.defaults;
  corp.domain = "corp.example";
  corp.subject_in_notification = true;
  config_.domains.push_back(corp);
  r.mutable_envelope()->set_message_id("q2");
  ASSERT_TRUE(intake_->Handle(r).ok());
  ASSERT_EQ(outbox_.mails.size(), 2u);
  EXPECT_NE(outbox_.mails[1].find("Subject: Encrypted message from alice@corp.example: Merger plans"),
            std::string::npos)
      << outbox_.mails[1];
}

std::string TokenIn(std::string mail) {
  for (size_t at; (at = mail.find("=\r\n")) != std::string::npos;) mail.erase(at, 3);
  std::smatch m;
  if (!std::regex_search(mail, m, std::regex("/l/([A-Za-z0-9_-]{43})"))) return {};
  return m[1].str();
}

// `smimegatectl portal resend-link` (Intake::Notify again): the new link
// works, the one sent before no longer does (review L5).
TEST_F(PortalIntakeLoopTest, ANewNotificationRevokesTheLinkSentBefore) {
  v1::MessageRecord r = Record("q1", "bob@partner.example");
  ASSERT_TRUE(intake_->Handle(r).ok());
  for (int resend = 1; resend <= 2; ++resend) {
    auto list = store_.ListMessages("bob@partner.example", "", 1);
    ASSERT_TRUE(list.ok() && list->size() == 1u);
    ASSERT_TRUE(intake_->Notify((*list)[0]).ok());
    ASSERT_EQ(outbox_.mails.size(), static_cast<size_t>(resend + 1));
    const std::string before = TokenIn(outbox_.mails[resend - 1]);
    const std::string now = TokenIn(outbox_.mails[resend]);
    ASSERT_EQ(before.size(), 43u);
    ASSERT_EQ(now.size(), 43u);
    EXPECT_FALSE(links_.Peek(before, pb::LinkToken::PURPOSE_MESSAGE)->has_value()) << resend;
    EXPECT_TRUE(links_.Peek(now, pb::LinkToken::PURPOSE_MESSAGE)->has_value()) << resend;
  }
}

// Point 1 of session 29: a batch of records is stored in ONE store write
// (messages, contents, source keys and first links together) and its
// notifications are handed to the deliver topic together, then marked.
TEST_F(PortalIntakeLoopTest, ABatchIsStoredInOneWriteAndNotifiedInOneHandOver) {
  std::vector<v1::MessageRecord> batch;
  batch.reserve(5);
  for (int i = 0; i < 5; ++i) {
    batch.push_back(Record("q" + std::to_string(i), "r" + std::to_string(i) + "@partner.example"));
  }
  auto out = intake_->HandleBatch(batch);
  ASSERT_EQ(out.size(), 5u);
  for (const auto& o : out) EXPECT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(store_.put_calls.load(), 1);
  EXPECT_EQ(outbox_.deliver_all_calls.load(), 1);
  EXPECT_EQ(Delivered(), 5u);
  for (int i = 0; i < 5; ++i) {
    auto list = store_.ListMessages("r" + std::to_string(i) + "@partner.example", "", 10);
    ASSERT_TRUE(list.ok() && list->size() == 1u) << i;
    EXPECT_TRUE((*list)[0].notified()) << i;
    // The link sent is the one stored with the message, and it opens.
    const std::string token = TokenIn(outbox_.mails[static_cast<size_t>(i)]);
    auto link = links_.Peek(token, pb::LinkToken::PURPOSE_MESSAGE);
    ASSERT_TRUE(link.ok() && link->has_value()) << i;
    EXPECT_EQ((*link)->message_id(), (*list)[0].id());
  }
  // Read again (a crash before the commit): nothing stored or sent twice.
  out = intake_->HandleBatch(batch);
  for (const auto& o : out) EXPECT_TRUE(o.ok());
  EXPECT_EQ(Delivered(), 5u);
  EXPECT_EQ(metrics_.duplicates.Value(), 5);
}

// Review R8: every recipient is checked before any is stored; one that
// fails for good is a dead letter of its own (a copy with only it), and the
// record's other recipients are stored and notified.
TEST_F(PortalIntakeLoopTest, OneBadRecipientIsADeadLetterOfItsOwnAndTheOthersGoOn) {
  outbox_.fail_for = "poison@partner.example";
  outbox_.fail_code = ErrorCode::kInternal;
  v1::MessageRecord r = Record("q1", "not an address");
  for (const char* a : {"bob@partner.example", "poison@partner.example", "carol@partner.example"}) {
    r.mutable_envelope()->add_recipients()->set_address(a);
  }
  Produce("portal", "q1", r.SerializeAsString());
  Put("q2", "dave@partner.example");
  StartLoop();
  ASSERT_TRUE(Eventually([&] { return Delivered() == 3 && DeadLetters().size() == 2; }));
  EXPECT_EQ(*store_.CountMessages("bob@partner.example"), 1u);
  EXPECT_EQ(*store_.CountMessages("carol@partner.example"), 1u);
  EXPECT_EQ(*store_.CountMessages("dave@partner.example"), 1u);
  EXPECT_EQ(*store_.CountMessages("poison@partner.example"), 1u);  // stored, not notified
  auto dead = DeadLetters();
  std::set<std::string> who;
  for (const auto& d : dead) {
    EXPECT_EQ(d.key, "q1");
    v1::MessageRecord copy;
    ASSERT_TRUE(copy.ParseFromString(d.value));
    ASSERT_EQ(copy.envelope().recipients_size(), 1);
    who.insert(copy.envelope().recipients(0).address());
    const std::string reason(d.FindHeader("sg-reason").value_or(""));
    EXPECT_NE(reason.find("recipient <" + copy.envelope().recipients(0).address() + ">"),
              std::string::npos)
        << reason;
  }
  EXPECT_EQ(who, (std::set<std::string>{"not an address", "poison@partner.example"}));
  // Nothing is read again: the record was committed.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(DeadLetters().size(), 2u);
}

// Review R9: a message deleted by its reader leaves a tombstone, so its
// record read again (a crash before the commit) stores and notifies nothing.
TEST_F(PortalIntakeLoopTest, ADeletedMessageIsNotStoredAgainWhenItsRecordComesBack) {
  v1::MessageRecord r = Record("q1", "bob@partner.example");
  ASSERT_TRUE(intake_->Handle(r).ok());
  auto list = store_.ListMessages("bob@partner.example", "", 10);
  ASSERT_TRUE(list.ok() && list->size() == 1u);
  ASSERT_TRUE(store_.DeleteMessage("bob@partner.example", (*list)[0].id()).ok());
  ASSERT_TRUE(intake_->Handle(r).ok());
  EXPECT_EQ(*store_.CountMessages("bob@partner.example"), 0u);
  EXPECT_EQ(Delivered(), 1u);
}

}  // namespace
}  // namespace sg::portal
