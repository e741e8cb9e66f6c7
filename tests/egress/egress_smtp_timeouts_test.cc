// The deadlines of an SMTP client session, stage by stage (RFC 5321
// 4.5.3.2; issue 13 point 7), on fake timers: each stage's timer is armed
// with that stage's configured value, nothing fails a millisecond before
// it, and the stage fails exactly at it. The data budget grows with the
// message size.
#include <gtest/gtest.h>

#include <optional>

#include "egress/egress_config.h"
#include "egress/egress_smtp_session.h"
#include "tests/egress/fake_timers.h"
#include "tests/egress/scripted_server.h"

namespace sg::egress {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeTimers;
using testing::Gate;
using testing::Loop;
using testing::ScriptedServer;
using testing::ServerConn;

// A distinct value per stage, so the armed timer tells which stage runs.
SmtpClientConfig StagedConfig() {
  SmtpClientConfig c;
  c.helo_name = "gw.test";
  c.timeouts.connect = seconds(1);
  c.timeouts.greeting = seconds(2);
  c.timeouts.command = seconds(3);
  c.timeouts.mail = seconds(4);
  c.timeouts.rcpt = seconds(5);
  c.timeouts.data_init = seconds(6);
  c.timeouts.data_block = seconds(7);
  c.timeouts.data_done = seconds(8);
  c.timeouts.data_min_rate = 1000;  // bytes per second
  return c;
}

TlsPolicy Plain() {
  TlsPolicy p;
  p.mode = TlsMode::kNone;
  return p;
}

SmtpTransaction Txn(const std::string* body) {
  SmtpTransaction t;
  t.mail_from = "alice@org.test";
  for (const char* a : {"bob@x.test", "carol@x.test"}) {
    smimegate::v1::Recipient r;
    r.set_address(a);
    t.recipients.push_back(r);
  }
  t.message = body;
  return t;
}

TEST(SmtpTimeouts, DataBudgetGrowsWithTheMessageSize) {
  SmtpTimeouts t;
  t.data_block = seconds(180);
  t.data_min_rate = 8 << 10;
  EXPECT_EQ(DataTransferBudget(t, 0), seconds(180));
  EXPECT_EQ(DataTransferBudget(t, 8 << 10), seconds(181));
  EXPECT_EQ(DataTransferBudget(t, 64ull << 20), seconds(180 + 8192));
  EXPECT_EQ(DataTransferBudget(t, 4 << 10), milliseconds(180'500));
  t.data_min_rate = 0;  // no limit
  EXPECT_GT(DataTransferBudget(t, 64ull << 20), std::chrono::hours(24 * 365));
}

TEST(SmtpTimeouts, EachStageHasItsOwnDeadline) {
  Gate gate;
  ScriptedServer server([&](ServerConn& c) {
    gate.Wait();
    c.Send("220 hi\r\n");
    c.Line();  // EHLO
    gate.Wait();
    c.Send("250-peer\r\n250 PIPELINING\r\n");
    c.Line();  // MAIL
    c.Line();
    c.Line();  // RCPT x2
    c.Line();  // DATA
    gate.Wait();
    c.Send("250 ok\r\n");
    gate.Wait();
    c.Send("250 ok\r\n250 ok\r\n");
    gate.Wait();
    c.Send("354 go\r\n");
    c.Data();
    gate.Wait();  // never opened: the final reply does not come
  });
  Loop loop;
  FakeTimers timers;
  const SmtpClientConfig cfg = StagedConfig();
  SmtpSession session(&loop.loop, cfg, Plain(), *TlsClientContext::Create(Plain()), &timers);
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });

  // Walks one stage: its deadline is armed, and a millisecond short of it nothing fails.
  auto stage = [&](seconds expect, const std::function<bool()>& done_yet) {
    loop.RunUntil([&] { return timers.IsArmed(expect); });
    timers.Advance(expect - milliseconds(1));
    EXPECT_FALSE(done_yet()) << "stage of " << expect.count() << " s failed early";
    gate.Open();
  };
  stage(seconds(2), [&] { return opened.has_value(); });  // greeting (after the connect)
  stage(seconds(3), [&] { return opened.has_value(); });  // EHLO
  loop.RunUntil([&] { return opened.has_value(); });
  ASSERT_TRUE(opened->ok()) << opened->error().ToString();

  const std::string body = "Subject: x\r\n\r\n" + std::string(2000, 'a') + "\r\n";
  std::optional<TransactionResult> res;
  auto txn = Txn(&body);
  session.Send(txn, [&](TransactionResult r) { res = std::move(r); });
  stage(seconds(4), [&] { return res.has_value(); });  // MAIL
  stage(seconds(5), [&] { return res.has_value(); });  // RCPT (each)
  stage(seconds(6), [&] { return res.has_value(); });  // DATA: the 354
  loop.RunUntil([&] { return timers.IsArmed(seconds(8)); });  // every block written
  EXPECT_EQ(timers.Armed().size(), 1u);  // the block and budget timers are stopped
  timers.Advance(seconds(8) - milliseconds(1));
  loop.RunUntil([] { return true; });
  EXPECT_FALSE(res.has_value());
  timers.Advance(milliseconds(1));  // the final reply's deadline
  ASSERT_TRUE(res.has_value());
  ASSERT_EQ(res->recipients.size(), 2u);
  EXPECT_EQ(res->recipients[0].code, 421);  // unknown whether it was taken: retried
  EXPECT_NE(res->recipients[0].text.find("data_done_timeout"), std::string::npos)
      << res->recipients[0].text;
  EXPECT_NE(res->recipients[0].text.find("8 s"), std::string::npos) << res->recipients[0].text;
  gate.Open();
}

TEST(SmtpTimeouts, ASilentServerFailsAtTheGreetingDeadline) {
  Gate gate;
  ScriptedServer server([&](ServerConn&) { gate.Wait(); });
  Loop loop;
  FakeTimers timers;
  const SmtpClientConfig cfg = StagedConfig();
  SmtpSession session(&loop.loop, cfg, Plain(), *TlsClientContext::Create(Plain()), &timers);
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });
  loop.RunUntil([&] { return timers.IsArmed(seconds(2)); });
  timers.Advance(seconds(2));
  ASSERT_TRUE(opened.has_value());
  ASSERT_FALSE(opened->ok());
  EXPECT_EQ(opened->error().code, ErrorCode::kTimeout);
  EXPECT_NE(opened->error().message.find("greeting_timeout"), std::string::npos)
      << opened->error().message;
  gate.Open();
}

// A peer that reads, but a trickle: every block is taken within the block
// deadline, yet the whole message is not within its size-scaled budget.
TEST(SmtpTimeouts, APeerThatReadsATrickleFailsAtTheSizeScaledBudget) {
  const std::string body = std::string(32 << 20, 'a') + "\r\n";  // no line ends: one long line
  Gate gate;
  ScriptedServer server([&](ServerConn& c) {
    c.Send("220 hi\r\n");
    c.Line();
    c.Send("250-peer\r\n250 PIPELINING\r\n");
    for (int i = 0; i < 3; ++i) c.Line();
    c.Send("250 ok\r\n250 ok\r\n354 go\r\n");
    for (int i = 0; i < 60; ++i) {
      gate.Wait();
      c.Discard(512 << 10);
    }
  });
  Loop loop;
  FakeTimers timers;
  SmtpClientConfig cfg = StagedConfig();
  cfg.timeouts.data_block = seconds(10);
  cfg.timeouts.data_min_rate = 1 << 20;  // budget: 10 s + 32 s
  SmtpSession session(&loop.loop, cfg, Plain(), *TlsClientContext::Create(Plain()), &timers);
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });
  loop.RunUntil([&] { return opened.has_value(); });
  ASSERT_TRUE(opened->ok()) << opened->error().ToString();
  std::optional<TransactionResult> res;
  SmtpTransaction txn;
  txn.mail_from = "alice@org.test";
  txn.recipients.resize(1);
  txn.recipients[0].set_address("bob@x.test");
  txn.message = &body;
  session.Send(txn, [&](TransactionResult r) { res = std::move(r); });
  const auto budget = DataTransferBudget(cfg.timeouts, body.size() + 3);
  loop.RunUntil([&] { return timers.IsArmed(budget); });
  // Every 3 s (less than the block deadline) the peer takes 512 KB more.
  int advances = 0;
  while (!res.has_value() && advances < 60) {
    const uint64_t before = timers.starts();
    timers.Advance(seconds(3));
    ++advances;
    if (res.has_value()) break;
    gate.Open();
    loop.RunUntil([&] { return timers.starts() > before || res.has_value(); });
  }
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(advances, 14);  // 14 * 3 s = 42 s = the budget
  EXPECT_EQ(res->recipients[0].code, 421);
  EXPECT_NE(res->recipients[0].text.find("data_min_rate"), std::string::npos)
      << res->recipients[0].text;
  for (int i = 0; i < 60; ++i) gate.Open();
}

// A peer that stops reading fails at the block deadline, long before the budget.
TEST(SmtpTimeouts, APeerThatStopsReadingFailsAtTheBlockDeadline) {
  const std::string body = std::string(32 << 20, 'a') + "\r\n";
  Gate gate;
  ScriptedServer server([&](ServerConn& c) {
    c.Send("220 hi\r\n");
    c.Line();
    c.Send("250-peer\r\n250 PIPELINING\r\n");
    for (int i = 0; i < 3; ++i) c.Line();
    c.Send("250 ok\r\n250 ok\r\n354 go\r\n");
    gate.Wait();
  });
  Loop loop;
  FakeTimers timers;
  SmtpClientConfig cfg = StagedConfig();
  cfg.timeouts.data_block = seconds(10);
  cfg.timeouts.data_min_rate = 1000;  // budget: hours
  SmtpSession session(&loop.loop, cfg, Plain(), *TlsClientContext::Create(Plain()), &timers);
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });
  loop.RunUntil([&] { return opened.has_value(); });
  ASSERT_TRUE(opened->ok());
  std::optional<TransactionResult> res;
  SmtpTransaction txn;
  txn.mail_from = "alice@org.test";
  txn.recipients.resize(1);
  txn.recipients[0].set_address("bob@x.test");
  txn.message = &body;
  session.Send(txn, [&](TransactionResult r) { res = std::move(r); });
  loop.RunUntil([&] { return timers.IsArmed(seconds(10)); });
  // Let the socket buffers fill: the blocks stop being taken.
  uint64_t starts = 0;
  do {
    starts = timers.starts();
    for (int i = 0; i < 50; ++i) uv_run(&loop.loop, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(milliseconds(20));
    for (int i = 0; i < 50; ++i) uv_run(&loop.loop, UV_RUN_NOWAIT);
  } while (timers.starts() != starts);
  timers.Advance(seconds(10) - milliseconds(1));
  EXPECT_FALSE(res.has_value());
  timers.Advance(milliseconds(1));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->recipients[0].code, 421);
  EXPECT_NE(res->recipients[0].text.find("data_block_timeout"), std::string::npos)
      << res->recipients[0].text;
  gate.Open();
}

}  // namespace
}  // namespace sg::egress
