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
  Status Reply(const v1::MessageRecord&) override { return OkStatus(); }

  std::mutex mu;
  std::string fail_for;
  ErrorCode fail_code = ErrorCode::kInternal;
  std::function<void(const std::string&)> before_deliver;
  std::vector<std::string> delivered;
  std::vector<std::string> mails;
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

  void StartLoop(IntakeLoop::Handler handler = nullptr, IntakeLoop::Health health = nullptr) {
    if (!handler) handler = [this](const v1::MessageRecord& r) { return intake_->Handle(r); };
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
  MemoryPortalStore store_;
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
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
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
    return intake_->Handle(r);
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
    return intake_->Handle(r);
  });
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
  EXPECT_EQ(outbox_.delivered[0], "bob@partner.example");
  EXPECT_EQ(poison_calls.load(), IntakeLoop::kMaxAttempts);
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
  ASSERT_TRUE(Eventually([&] { return Delivered() == 1; }));
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

}  // namespace
}  // namespace sg::portal
