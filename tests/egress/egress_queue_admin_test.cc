// `smimegatectl queue` against a real egress (common/mail_queue.h): deferred
// mail for two domains (an aiosmtpd peer that answers every RCPT with 451),
// then summary, show, hold (durable across a restart), retry --domain,
// release and delete (kept as a dead letter with its reason). Every test
// runs on the embedded queue and on Kafka (the test broker).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "common/deadletter_admin.h"
#include "common/mail_queue.h"
#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"
#include "tests/support/temp_dir.h"

namespace sg::egress::testing {
namespace {
namespace v1 = smimegate::v1;
using std::chrono::seconds;

std::string Yaml(int port) {
  return "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
         "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 5s}\n"
         "  retry: {initial: 10m, multiplier: 2, max_interval: 1h, max_age: 5d}\n"
         "  outbound: {transport: smtp, allowed_networks: [127.0.0.1/32], hosts: [\"127.0.0.1:" +
         std::to_string(port) + "\"]}\n  inbound: {transport: maildir}\n";
}

size_t Attempts(const SmtpPeer& peer, const std::string& from) {
  auto mails = peer.Events("mail");
  return static_cast<size_t>(std::count_if(mails.begin(), mails.end(), [&](const auto& e) {
    return e.value("from", "") == from;
  }));
}

std::map<std::string, std::string> States(mailqueue::Admin& q) {
  std::map<std::string, std::string> out;
  auto list = q.List();
  if (!list.ok()) return out;
  for (const auto& e : *list) out[e.message_id] = e.state;
  return out;
}

std::unique_ptr<EgressHarness> MakeHarness(const std::string& kind) {
  if (kind == "kafka") return std::make_unique<EgressHarness>(std::string(SMIMEGATE_TEST_BROKER));
  return std::make_unique<EgressHarness>();
}

class EgressQueueAdminTest : public ::testing::TestWithParam<std::string> {
 protected:
  EgressQueueAdminTest() : hp_(MakeHarness(GetParam())), h_(*hp_) {}
  void SetUp() override {
    peer_ = StartSmtpPeer(h_.dir(), "peer", {"--tempfail-rcpt", "100000"});
    h_.Start(Yaml(peer_.port));
    h_.Produce(MakeRecord("m1", "one@org.test", {"a@one.test"}));
    h_.Produce(MakeRecord("m2", "two@org.test", {"b@two.test", "c@TWO.test"}));
    ASSERT_TRUE(WaitUntil([&] {
      auto s = States(q());
      return s["m1"] == "deferred" && s["m2"] == "deferred";
    }, seconds(10)));
  }
  mailqueue::Admin& q() { return h_.service().queue_admin(); }

  std::unique_ptr<EgressHarness> hp_;
  EgressHarness& h_;
  SmtpPeer peer_;
};

INSTANTIATE_TEST_SUITE_P(Queues, EgressQueueAdminTest, ::testing::Values("embedded", "kafka"),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(EgressQueueAdminTest, SummaryCountsRecipientsPerDomainAndAge) {
  h_.clock().AdvanceMs(int64_t{7} * 60'000);  // 7 minutes old: the 5-10 minute bucket
  auto list = q().List();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  const auto s = mailqueue::Summarize(*list, h_.clock().NowMs());
  ASSERT_EQ(s.rows.size(), 2u);
  EXPECT_EQ(s.rows[0].domain, "two.test");  // most recipients first, lower case
  EXPECT_EQ(s.rows[0].total, 2u);
  EXPECT_EQ(s.rows[0].buckets[1], 2u);
  EXPECT_EQ(s.rows[1].domain, "one.test");
  EXPECT_EQ(s.total.total, 3u);
  EXPECT_EQ(s.states.at("deferred"), 2u);
}

TEST_P(EgressQueueAdminTest, ShowGivesEnvelopeAttemptsAndLastErrorNeverTheBody) {
  auto shown = q().Show("m2");
  ASSERT_TRUE(shown.ok()) << shown.error().ToString();
  ASSERT_EQ(shown->size(), 1u);
  const auto& e = (*shown)[0];
  EXPECT_EQ(e.state, "deferred");
  EXPECT_EQ(e.mail_from, "two@org.test");
  EXPECT_EQ(e.recipients, (std::vector<std::string>{"b@two.test", "c@TWO.test"}));
  EXPECT_EQ(e.attempts, 1u);
  EXPECT_NE(e.last_error.find("451"), std::string::npos) << e.last_error;
  EXPECT_GT(e.message_bytes, 0u);
  EXPECT_EQ(e.position.rfind("retry:", 0), 0u) << e.position;
  auto missing = q().Show("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(EgressQueueAdminTest, HeldMessageIsNeverAttemptedAndStaysHeldAcrossARestart) {
  auto held = q().Hold("m1", "CN=admin");
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  EXPECT_EQ(*held, 1u);
  ASSERT_TRUE(WaitUntil([&] { return States(q())["m1"] == "held"; }, seconds(10)));
  // Both due long ago: m2 is attempted, m1 is not.
  h_.clock().AdvanceMs(3'600'000);
  ASSERT_TRUE(WaitUntil([&] { return Attempts(peer_, "two@org.test") == 2; }, seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Attempts(peer_, "one@org.test"), 1u);

  h_.Stop();
  h_.Start(Yaml(peer_.port));
  ASSERT_TRUE(WaitUntil([&] { return States(q())["m1"] == "held"; }, seconds(10)));
  auto shown = q().Show("m1");
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->size(), 1u) << "one held record, the deferred one was let go";
  EXPECT_EQ((*shown)[0].held_by, "CN=admin");
  h_.clock().AdvanceMs(3'600'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Attempts(peer_, "one@org.test"), 1u);
  // Holding again changes nothing; releasing attempts it at once.
  EXPECT_EQ(*q().Hold("m1", "CN=admin"), 0u);
  auto released = q().Release("m1");
  ASSERT_TRUE(released.ok()) << released.error().ToString();
  EXPECT_EQ(*released, 1u);
  ASSERT_TRUE(WaitUntil([&] { return Attempts(peer_, "one@org.test") == 2; }, seconds(10)));
  ASSERT_TRUE(WaitUntil([&] { return States(q())["m1"] == "deferred"; }, seconds(10)));
  EXPECT_EQ(q().Release("m1").error().code, ErrorCode::kNotFound);
}

TEST_P(EgressQueueAdminTest, RetryOfOneDomainAttemptsOnlyItsMessagesNow) {
  auto none = q().Retry("elsewhere.test");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  auto n = q().Retry("two.test");
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 1u);
  ASSERT_TRUE(WaitUntil([&] { return Attempts(peer_, "two@org.test") == 2; }, seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Attempts(peer_, "one@org.test"), 1u);
  // Deferred again (its next record read back from the retry topic).
  ASSERT_TRUE(WaitUntil([&] {
    auto m2 = q().Show("m2");
    return m2.ok() && (*m2)[0].state == "deferred" && (*m2)[0].attempts == 2;
  }, seconds(10)));
  EXPECT_EQ(*q().Retry(""), 2u);  // flush: every deferred message
  ASSERT_TRUE(WaitUntil([&] { return Attempts(peer_, "one@org.test") == 2; }, seconds(10)));
}

TEST_P(EgressQueueAdminTest, DeleteKeepsTheMessageAsADeadLetterWithWhoDeletedIt) {
  auto n = q().Delete("m2", "CN=admin");
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 1u);
  deadletter::QueueDeadLetters dead(h_.queue(), "");
  Result<deadletter::ListResult> held = MakeError(ErrorCode::kNotFound, "not yet");
  ASSERT_TRUE(WaitUntil([&] { return (held = dead.List({})).ok() && held->held == 1; }, seconds(10)));
  ASSERT_EQ(held->entries.size(), 1u);
  EXPECT_EQ(held->entries[0].key, "m2");
  EXPECT_EQ(held->entries[0].source_topic, "retry");  // a replay puts it onto deliver
  EXPECT_NE(held->entries[0].reason.find("deleted from the queue by CN=admin"), std::string::npos)
      << held->entries[0].reason;
  EXPECT_EQ(States(q()).count("m2"), 0u);
  EXPECT_EQ(q().Delete("m2", "CN=admin").error().code, ErrorCode::kNotFound);
  // Gone for good: a restart does not bring it back.
  h_.Stop();
  h_.Start(Yaml(peer_.port));
  ASSERT_TRUE(WaitUntil([&] { return States(q()).count("m1") == 1; }, seconds(10)));
  EXPECT_EQ(States(q()).count("m2"), 0u);
}

// A second egress (another pod) joins both groups while messages wait for
// their retry: the retry partitions it takes over are read by it and no
// longer held by the first one (and the partitions the first one keeps,
// restarted at their last commit in Kafka's eager rebalance, are not read
// twice). So every waiting message is held by one pod, and attempted once
// when it is due.
TEST_P(EgressQueueAdminTest, ASecondEgressTakesOverWaitingRetriesWithoutDoubles) {
  std::vector<std::string> senders = {"one@org.test", "two@org.test"};
  for (int i = 3; i <= 10; ++i) {
    const std::string n = std::to_string(i);
    senders.push_back("s" + n + "@org.test");
    h_.Produce(MakeRecord("m" + n, senders.back(), {"r@d" + n + ".test"}));
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto s = States(q());
        return s.size() == 10 && std::all_of(s.begin(), s.end(),
                                             [](const auto& e) { return e.second == "deferred"; });
      },
      seconds(20)));
  sg::testing::TempDir second_dir;
  metrics::Registry second_registry;
  auto second = h_.StartAnother(Yaml(peer_.port), second_dir.path(), second_registry);
  ASSERT_NE(second, nullptr);
  // Each message id held by exactly one of the two, and the second holds some.
  std::map<std::string, int> holders;
  size_t on_second = 0;
  const bool settled = WaitUntil(
      [&] {
        holders.clear();
        auto mine = q().List();
        auto theirs = second->queue_admin().List();
        if (!mine.ok() || !theirs.ok()) return false;
        for (const auto& e : *mine) holders[e.message_id]++;
        for (const auto& e : *theirs) holders[e.message_id]++;
        on_second = theirs->size();
        return on_second > 0 && holders.size() == 10 &&
               std::all_of(holders.begin(), holders.end(),
                           [](const auto& e) { return e.second == 1; });
      },
      seconds(40));
  std::string seen;
  for (const auto& [id, n] : holders) seen += id + "x" + std::to_string(n) + " ";
  ASSERT_TRUE(settled) << "held by the two egress: " << seen << "(second: " << on_second << ")";
  // Due now on both: each message is attempted once more, by its holder.
  std::map<std::string, size_t> before;
  for (const auto& s : senders) before[s] = Attempts(peer_, s);
  ASSERT_TRUE(q().Retry("").ok());
  ASSERT_TRUE(second->queue_admin().Retry("").ok());
  auto all_once_more = [&] {
    return std::all_of(senders.begin(), senders.end(),
                       [&](const auto& s) { return Attempts(peer_, s) >= before[s] + 1; });
  };
  ASSERT_TRUE(WaitUntil(all_once_more, seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // room for a second attempt
  for (const auto& s : senders) EXPECT_EQ(Attempts(peer_, s), before[s] + 1) << s;
  second->Stop();
}

}  // namespace
}  // namespace sg::egress::testing
