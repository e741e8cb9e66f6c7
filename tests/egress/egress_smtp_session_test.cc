// SmtpSession against a scripted in-process server (a thread with blocking
// sockets): protocol details that a friendly peer never shows - STARTTLS
// response injection, servers without PIPELINING, SIZE limits, a
// connection lost after the data, mixed RCPT replies.
#include "egress/egress_smtp_session.h"

#include <gtest/gtest.h>

#include <optional>

#include "tests/egress/scripted_server.h"

namespace sg::egress {
namespace {

using testing::Loop;
using testing::ScriptedServer;
using testing::ServerConn;

SmtpClientConfig TestConfig() {
  SmtpClientConfig c;
  c.helo_name = "gw.test";
  for (auto* t : {&c.timeouts.connect, &c.timeouts.greeting, &c.timeouts.command, &c.timeouts.mail,
                 &c.timeouts.rcpt, &c.timeouts.data_init, &c.timeouts.data_block,
                 &c.timeouts.data_done}) {
    *t = std::chrono::seconds(5);
  }
  return c;
}

std::shared_ptr<TlsClientContext> Ctx(const TlsPolicy& p) { return *TlsClientContext::Create(p); }

SmtpTransaction Txn(const std::string& body, std::vector<std::string> rcpts) {
  SmtpTransaction t;
  t.mail_from = "alice@org.test";
  for (auto& r : rcpts) {
    smimegate::v1::Recipient rr;
    rr.set_address(r);
    t.recipients.push_back(rr);
  }
  static std::string storage;
  storage = body;
  t.message = &storage;
  return t;
}

TEST(SmtpSession, RefusesPlaintextInjectedAfterTheStarttlsReply) {
  ScriptedServer server([](ServerConn& c) {
    c.Send("220 hi\r\n");
    c.Line();  // EHLO
    c.Send("250-peer\r\n250 STARTTLS\r\n");
    c.Line();  // STARTTLS
    c.Send("220 go ahead\r\n250-injected\r\n");  // CVE-2011-0411 style
    c.Line();
  });
  Loop loop;
  auto cfg = TestConfig();
  TlsPolicy policy;
  SmtpSession session(&loop.loop, cfg, policy, Ctx(policy));
  std::optional<Status> result;
  session.Open("peer", server.addr(), [&](Status st) { result = st; });
  loop.RunUntil([&] { return result.has_value(); });
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, ErrorCode::kCorruption);
  EXPECT_NE(result->error().message.find("injection"), std::string::npos);
}

TEST(SmtpSession, WithoutPipeliningWaitsForEachReplyAndMixesRcptOutcomes) {
  bool pipelined_anyway = false;
  std::string data;
  ScriptedServer server([&](ServerConn& c) {
    c.Send("220 hi\r\n");
    c.Line();
    c.Send("250-peer\r\n250 8BITMIME\r\n");  // no PIPELINING
    EXPECT_EQ(c.Line().rfind("MAIL FROM:<alice@org.test>", 0), 0u);
    pipelined_anyway |= c.MoreWithin(100);
    c.Send("250 ok\r\n");
    EXPECT_EQ(c.Line(), "RCPT TO:<good@x.test>");
    pipelined_anyway |= c.MoreWithin(100);
    c.Send("250 ok\r\n");
    EXPECT_EQ(c.Line(), "RCPT TO:<bad@x.test>");
    c.Send("550 5.1.1 unknown\r\n");
    EXPECT_EQ(c.Line(), "DATA");
    c.Send("354 go\r\n");
    data = c.Data();
    c.Send("250 2.0.0 queued\r\n");
    c.Line();
  });
  Loop loop;
  auto cfg = TestConfig();
  TlsPolicy policy;
  policy.mode = TlsMode::kNone;
  SmtpSession session(&loop.loop, cfg, policy, Ctx(policy));
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });
  loop.RunUntil([&] { return opened.has_value(); });
  ASSERT_TRUE(opened->ok()) << opened->error().ToString();
  auto txn = Txn("Subject: x\r\n\r\n.dot\r\n", {"good@x.test", "bad@x.test"});
  std::optional<TransactionResult> res;
  session.Send(txn, [&](TransactionResult r) { res = std::move(r); });
  loop.RunUntil([&] { return res.has_value(); });
  session.Quit();
  EXPECT_FALSE(pipelined_anyway);
  ASSERT_EQ(res->recipients.size(), 2u);
  EXPECT_EQ(res->recipients[0].code, 250);
  EXPECT_EQ(res->recipients[1].code, 550);
  EXPECT_EQ(res->recipients[1].text, "5.1.1 unknown");
  EXPECT_EQ(data, "Subject: x\r\n\r\n..dot\r\n");  // dot-stuffed on the wire
}

TEST(SmtpSession, MessageOverTheAdvertisedSizeFailsWithoutBeingSent) {
  bool got_mail = false;
  ScriptedServer server([&](ServerConn& c) {
    c.Send("220 hi\r\n");
    c.Line();
    c.Send("250-peer\r\n250 SIZE 10\r\n");
    got_mail = c.Line().rfind("MAIL", 0) == 0;
  });
  Loop loop;
  auto cfg = TestConfig();
  TlsPolicy policy;
  SmtpSession session(&loop.loop, cfg, policy, Ctx(policy));
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });
  loop.RunUntil([&] { return opened.has_value(); });
  ASSERT_TRUE(opened->ok());
  auto txn = Txn(std::string(100, 'x') + "\r\n", {"a@x.test"});
  std::optional<TransactionResult> res;
  session.Send(txn, [&](TransactionResult r) { res = std::move(r); });
  loop.RunUntil([&] { return res.has_value(); });
  EXPECT_EQ(res->recipients[0].code, 552);
  EXPECT_EQ(res->recipients[0].text.rfind("5.3.4", 0), 0u);
  session.Quit();
  (void)got_mail;
}

TEST(SmtpSession, ConnectionLostAfterTheDataIsATemporaryFailure) {
  ScriptedServer server([](ServerConn& c) {
    c.Send("220 hi\r\n");
    c.Line();
    c.Send("250-peer\r\n250 PIPELINING\r\n");
    c.Line();
    c.Line();
    c.Line();
    c.Send("250 ok\r\n250 ok\r\n354 go\r\n");
    c.Data();
    // Closes without the final reply.
  });
  Loop loop;
  auto cfg = TestConfig();
  TlsPolicy policy;
  SmtpSession session(&loop.loop, cfg, policy, Ctx(policy));
  std::optional<Status> opened;
  session.Open("peer", server.addr(), [&](Status st) { opened = st; });
  loop.RunUntil([&] { return opened.has_value(); });
  ASSERT_TRUE(opened->ok());
  auto txn = Txn("Subject: x\r\n\r\nhi\r\n", {"a@x.test"});
  std::optional<TransactionResult> res;
  session.Send(txn, [&](TransactionResult r) { res = std::move(r); });
  loop.RunUntil([&] { return res.has_value(); });
  EXPECT_EQ(res->recipients[0].code, 421);
  EXPECT_FALSE(session.usable());
}

TEST(SmtpSession, GreetingRefusalAndGarbageAreErrorsNotCrashes) {
  ScriptedServer refuse([](ServerConn& c) { c.Send("554 go away\r\n"); });
  ScriptedServer garbage([](ServerConn& c) { c.Send("HTTP/1.1 400 Bad Request\r\n\r\n"); });
  Loop loop;
  auto cfg = TestConfig();
  TlsPolicy policy;
  SmtpSession s1(&loop.loop, cfg, policy, Ctx(policy));
  SmtpSession s2(&loop.loop, cfg, policy, Ctx(policy));
  std::optional<Status> r1, r2;
  s1.Open("a", refuse.addr(), [&](Status st) { r1 = st; });
  s2.Open("b", garbage.addr(), [&](Status st) { r2 = st; });
  loop.RunUntil([&] { return r1.has_value() && r2.has_value(); });
  ASSERT_FALSE(r1->ok());
  EXPECT_NE(r1->error().message.find("554"), std::string::npos);
  ASSERT_FALSE(r2->ok());
  EXPECT_EQ(r2->error().code, ErrorCode::kCorruption);
}

}  // namespace
}  // namespace sg::egress
