// Egress against real SMTP peers on loopback: Python aiosmtpd
// (tests/egress/peers/smtp_peer.py) and Postfix smtp-sink. Every test runs
// the real EgressService on an embedded queue in a temp dir.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/deadletter_admin.h"
#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"
#include "tests/support/captured_log.h"
#include "tests/support/loopback.h"

namespace sg::egress::testing {
namespace {
namespace v1 = smimegate::v1;
using std::chrono::seconds;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Common settings: fast polling, short idle time so tests end quickly.
std::string Yaml(const std::string& outbound, const std::string& inbound = "{transport: maildir}",
                 const std::string& extra = "") {
  return "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
         "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 5s}\n"
         "  retry: {initial: 10s, multiplier: 2, max_interval: 1m, max_age: 1h}\n"
         "  outbound: " + outbound + "\n  inbound: " + inbound + "\n" + extra;
}

std::string SmtpRoute(int port, const std::string& tls = "") {
  return "{transport: smtp, allowed_networks: [127.0.0.1/32], hosts: [\"127.0.0.1:" +
         std::to_string(port) + "\"]" +
         (tls.empty() ? "" : ", tls: " + tls) + "}";
}

class EgressPeerTest : public ::testing::Test {
 protected:
  EgressHarness h_;
};

TEST_F(EgressPeerTest, DeliversToAiosmtpdAndDoesNotDeliverAgainAfterRestart) {
  auto peer = StartSmtpPeer(h_.dir(), "peer", {});
  ASSERT_GT(peer.port, 0);
  h_.Start(Yaml(SmtpRoute(peer.port)));
  h_.Produce(MakeRecord("m1", "alice@org.test", {"bob@remote.test", "carol@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return peer.Events("message").size() == 1; }, seconds(10)));
  auto msg = peer.Events("message")[0];
  EXPECT_EQ(msg["from"], "alice@org.test");
  EXPECT_EQ(msg["rcpts"], nlohmann::json({"bob@remote.test", "carol@remote.test"}));
  EXPECT_EQ(msg["message_id"], "<m1@test>");
  // Dot-stuffing undone by the peer: the body arrives byte for byte.
  EXPECT_NE(ReadFile(msg["file"]).find("BODY-MARKER\r\n.leading dot\r\n"), std::string::npos);
  ASSERT_TRUE(WaitUntil([&] {
    return h_.Metric("smimegate_egress_deliveries_total{outcome=\"delivered\",route=\"outbound\"}") == 2;
  }, seconds(5)));

  // Restart: the record was committed (or is suppressed): nothing is delivered twice.
  h_.Stop();
  h_.Start(Yaml(SmtpRoute(peer.port)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(peer.Events("message").size(), 1u);
}

TEST_F(EgressPeerTest, DeliversToPostfixSmtpSink) {
  const int port = ::sg::testing::FreeLoopbackPort();
  const std::string dump = h_.dir() + "/sink";
  std::filesystem::create_directories(dump);
  // smtp-sink drops privileges to nobody, who must reach the dump directory.
  chmod(h_.dir().c_str(), 0711);
  chmod(dump.c_str(), 0777);
  ChildProcess sink({"/usr/sbin/smtp-sink", "-u", "nobody", "-d", dump + "/%H%M%S.",
                     "127.0.0.1:" + std::to_string(port), "10"});
  ASSERT_TRUE(WaitUntil([&] {
    const int fd = ::sg::testing::ConnectLoopback(static_cast<uint16_t>(port));
    if (fd >= 0) close(fd);
    return fd >= 0;
  }, seconds(10)));
  h_.Start(Yaml(SmtpRoute(port)));
  for (int i = 0; i < 5; ++i) {
    h_.Produce(MakeRecord("sink" + std::to_string(i), "alice@org.test", {"bob@remote.test"}));
  }
  auto count_dumped = [&] {
    int n = 0;
    for (auto& e : std::filesystem::directory_iterator(dump)) {
      if (ReadFile(e.path()).find("Message-ID: <sink") != std::string::npos) ++n;
    }
    return n;
  };
  ASSERT_TRUE(WaitUntil([&] { return count_dumped() == 5; }, seconds(10))) << count_dumped();
  ASSERT_TRUE(WaitUntil([&] {
    return h_.Metric("smimegate_egress_deliveries_total{outcome=\"delivered\",route=\"outbound\"}") == 5;
  }, seconds(5)));
}

TEST_F(EgressPeerTest, TemporaryFailureIsRetriedThroughTheQueueThenDelivered) {
  auto peer = StartSmtpPeer(h_.dir(), "peer", {"--tempfail-rcpt", "1"});
  h_.Start(Yaml(SmtpRoute(peer.port)));
  const int64_t t0 = h_.clock().NowMs();
  h_.Produce(MakeRecord("m2", "alice@org.test", {"bob@remote.test"}));
  // The deferral is a record on the retry topic, due after the first backoff step.
  std::vector<queue::Record> retry;
  ASSERT_TRUE(WaitUntil([&] { return !(retry = h_.ReadAll("retry")).empty(); }, seconds(10)));
  v1::MessageRecord rec;
  ASSERT_TRUE(rec.ParseFromString(retry[0].value));
  EXPECT_EQ(rec.delivery().attempt(), 1u);
  EXPECT_EQ(rec.delivery().next_attempt_at_ms(), t0 + 10'000);
  EXPECT_NE(rec.delivery().last_error().find("451"), std::string::npos);
  // Not due yet: nothing happens while the clock stands still.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(peer.Events("message").empty());
  h_.clock().AdvanceMs(10'000);
  ASSERT_TRUE(WaitUntil([&] { return peer.Events("message").size() == 1; }, seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(peer.Events("message").size(), 1u);
  EXPECT_EQ(h_.Metric("smimegate_egress_deliveries_total{outcome=\"deferred\",route=\"outbound\"}"), 1);
  EXPECT_EQ(h_.Metric("smimegate_egress_retries_scheduled_total{route=\"outbound\"}"), 1);
  ASSERT_TRUE(WaitUntil([&] {
    return h_.Metric("smimegate_egress_deliveries_total{outcome=\"delivered\",route=\"outbound\"}") == 1;
  }, seconds(5)));
}

TEST_F(EgressPeerTest, RetryExpiryBouncesWithStatus447) {
  auto peer = StartSmtpPeer(h_.dir(), "peer", {"--tempfail-rcpt", "1000"});
  h_.Start(Yaml(SmtpRoute(peer.port), "{transport: maildir, path: mail/inbound}"));
  h_.Produce(MakeRecord("m9", "alice@org.test", {"bob@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return h_.ReadAll("retry").size() == 1; }, seconds(10)));
  // Past retry.max_age (1h): the next attempt fails for good and bounces.
  h_.clock().AdvanceMs(2 * 3'600'000);
  const std::string box = h_.dir() + "/mail/inbound/new";
  std::string dsn;
  ASSERT_TRUE(WaitUntil([&] {
    for (auto& e : std::filesystem::directory_iterator(box)) {
      dsn = ReadFile(e.path());
      return true;
    }
    return false;
  }, seconds(10)));
  EXPECT_NE(dsn.find("Status: 4.4.7"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("retry time expired"), std::string::npos);
  EXPECT_NE(dsn.find("Delivered-To: alice@org.test"), std::string::npos);
  EXPECT_EQ(h_.ReadAll("retry").size(), 1u);  // no further retry was scheduled
  EXPECT_TRUE(peer.Events("message").empty());
}

TEST_F(EgressPeerTest, PermanentFailureSendsAnRfc3464DsnToTheSender) {
  auto remote = StartSmtpPeer(h_.dir(), "remote", {"--reject-rcpt", "bad", "--dsn"});
  auto internal = StartSmtpPeer(h_.dir(), "internal", {});
  sg::testing::CapturedLog log("json");
  h_.Start(Yaml(SmtpRoute(remote.port), SmtpRoute(internal.port)));
  auto rec = MakeRecord("m3", "alice@org.test", {"good@remote.test", "bad@remote.test"});
  rec.mutable_envelope()->set_dsn_envid("ENVID-77");
  rec.mutable_envelope()->set_dsn_ret(v1::DSN_RET_HDRS);
  rec.mutable_envelope()->mutable_recipients(1)->set_orcpt("rfc822;Bad@Remote.Test");
  h_.Produce(rec);
  ASSERT_TRUE(WaitUntil([&] { return remote.Events("message").size() == 1; }, seconds(10)));
  EXPECT_EQ(remote.Events("message")[0]["rcpts"], nlohmann::json({"good@remote.test"}));
  // DSN parameters were passed on to a DSN-capable peer.
  auto opts = remote.Events("mail")[0]["options"].dump();
  EXPECT_NE(opts.find("ENVID=ENVID-77"), std::string::npos) << opts;
  EXPECT_NE(opts.find("RET=HDRS"), std::string::npos) << opts;

  ASSERT_TRUE(WaitUntil([&] { return internal.Events("message").size() == 1; }, seconds(10)));
  auto dsn = internal.Events("message")[0];
  EXPECT_EQ(dsn["from"], "<>");  // from the null sender (aiosmtpd writes it so)
  EXPECT_EQ(dsn["rcpts"], nlohmann::json({"alice@org.test"}));
  std::string cmd = "/usr/bin/python3 " + PeersDir() + "/check_dsn.py " + dsn["file"].get<std::string>() +
                    " --to alice@org.test --rcpt bad@remote.test --status 5.1.1"
                    " --orcpt 'rfc822; Bad@Remote.Test' --envid ENVID-77 --ret hdrs"
                    " --orig-subject 'test m3'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dsn["file"]);
  EXPECT_EQ(h_.Metric("smimegate_egress_dsn_total"), 1);
  EXPECT_EQ(h_.Metric("smimegate_egress_deliveries_total{outcome=\"bounced\",route=\"outbound\"}"), 1);

  // The lines about m3 are data (issue 16 point 8): one per recipient, one for the DSN.
  h_.Stop();
  std::map<std::string, nlohmann::json> by_action;
  for (const auto& j : log.JsonLines()) {
    if (j.value("stage", "") == "egress" && j.value("message_id", "") == "m3") {
      by_action[j.value("action", "")] = j;
    }
  }
  ASSERT_EQ(by_action.count("delivered"), 1u) << log.Text();
  EXPECT_EQ(by_action["delivered"]["rcpt"], "good@remote.test");
  ASSERT_EQ(by_action.count("failed"), 1u) << log.Text();
  EXPECT_EQ(by_action["failed"]["rcpt"], "bad@remote.test");
  EXPECT_EQ(by_action["failed"]["status"], "5.1.1");
  ASSERT_EQ(by_action.count("dsn"), 1u) << log.Text();
  EXPECT_EQ(by_action["dsn"]["to"], "alice@org.test");
  EXPECT_EQ(by_action["dsn"]["rcpts"], 1);
}

TEST_F(EgressPeerTest, FailureFromTheNullSenderIsDeadLetteredWithItsReason) {
  auto remote = StartSmtpPeer(h_.dir(), "remote", {"--reject-rcpt", "bad"});
  h_.Start(Yaml(SmtpRoute(remote.port)));
  h_.Produce(MakeRecord("m4", "", {"bad@remote.test"}));
  std::vector<queue::Record> dead;
  ASSERT_TRUE(WaitUntil([&] { return !(dead = h_.ReadAll("deadletter")).empty(); }, seconds(10)));
  auto reason = dead[0].FindHeader("sg-reason");
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("null sender"), std::string::npos);
  EXPECT_NE(reason->find("550"), std::string::npos);
  EXPECT_TRUE(h_.ReadAll("deliver").size() == 1);  // no DSN was produced
}

TEST_F(EgressPeerTest, RequiredTlsToAPeerWithoutStarttlsDefersAndNeverSendsInClear) {
  auto peer = StartSmtpPeer(h_.dir(), "plain", {});
  h_.Start(Yaml(SmtpRoute(peer.port, "{mode: required}")));
  h_.Produce(MakeRecord("m5", "alice@org.test", {"bob@remote.test"}));
  std::vector<queue::Record> retry;
  ASSERT_TRUE(WaitUntil([&] { return !(retry = h_.ReadAll("retry")).empty(); }, seconds(10)));
  v1::MessageRecord rec;
  ASSERT_TRUE(rec.ParseFromString(retry[0].value));
  EXPECT_NE(rec.delivery().last_error().find("STARTTLS"), std::string::npos)
      << rec.delivery().last_error();
  EXPECT_TRUE(peer.Events("mail").empty());  // not even MAIL FROM went out in clear
  EXPECT_TRUE(peer.Events("message").empty());
  EXPECT_EQ(h_.Metric("smimegate_egress_deliveries_total{outcome=\"deferred\",route=\"outbound\"}"), 1);
}

// Issue 13 point 4: backscatter. Mail from the internet to a hosted user
// the organisation's server refuses: the (possibly forged) sender asked for
// RET=FULL but gets the header only, and DSNs to one domain are limited;
// the excess is kept on the dead-letter topic with the reason.
TEST_F(EgressPeerTest, ForgedInternetSendersGetHeadersOnlyAndARateLimitedNumberOfDsns) {
  auto internal = StartSmtpPeer(h_.dir(), "internal", {"--reject-rcpt", "gone"});
  auto internet = StartSmtpPeer(h_.dir(), "internet", {});
  h_.Start(Yaml(SmtpRoute(internet.port), SmtpRoute(internal.port),
                "  dsn_rate_limit: {max_per_domain: 2, interval: 1h}\n"));
  auto inbound = [](int i) {
    auto rec = MakeRecord("in" + std::to_string(i), "forged" + std::to_string(i) + "@victim.test",
                          {"gone@org.test"}, v1::DIRECTION_INBOUND);
    rec.mutable_envelope()->set_dsn_ret(v1::DSN_RET_FULL);
    return rec;
  };
  for (int i = 1; i <= 3; ++i) h_.Produce(inbound(i));
  ASSERT_TRUE(WaitUntil([&] { return internet.Events("message").size() == 2; }, seconds(10)));
  std::vector<queue::Record> dead;
  ASSERT_TRUE(WaitUntil([&] { return !(dead = h_.ReadAll("deadletter")).empty(); }, seconds(10)));
  ASSERT_EQ(dead.size(), 1u);
  auto reason = dead[0].FindHeader("sg-reason");
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("more than 2 DSNs to victim.test"), std::string::npos) << *reason;
  v1::MessageRecord kept;
  ASSERT_TRUE(kept.ParseFromString(dead[0].value));
  EXPECT_EQ(kept.envelope().mail_from(), "");  // the DSN itself is kept, ready to replay
  EXPECT_EQ(h_.Metric("smimegate_egress_refused_total{reason=\"dsn_rate_limit\"}"), 1);

  // No body came back, whatever RET=FULL said.
  for (const auto& m : internet.Events("message")) {
    const std::string file = m["file"];
    EXPECT_EQ(ReadFile(file).find("BODY-MARKER"), std::string::npos) << ReadFile(file);
    const std::string who = m["rcpts"][0];
    std::string cmd = "/usr/bin/python3 " + PeersDir() + "/check_dsn.py " + file + " --to " + who +
                      " --rcpt gone@org.test --status 5.1.1 --ret hdrs --orig-subject 'test in'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile(file);
  }
  // Half an hour later one DSN (of two per hour) is allowed again.
  h_.clock().AdvanceMs(1'800'000);
  h_.Produce(inbound(4));
  ASSERT_TRUE(WaitUntil([&] { return internet.Events("message").size() == 3; }, seconds(10)));
  EXPECT_EQ(h_.ReadAll("deadletter").size(), 1u);
  // The administrator sends the kept one after all: the limit does not apply.
  h_.Produce(inbound(5));  // over the limit again
  ASSERT_TRUE(WaitUntil([&] { return h_.ReadAll("deadletter").size() == 2; }, seconds(10)));
  deadletter::QueueDeadLetters admin(h_.queue(), "");
  auto topic = admin.Replay(deadletter::Id{0, 0});
  ASSERT_TRUE(topic.ok()) << topic.error().ToString();
  EXPECT_EQ(*topic, "deliver");
  ASSERT_TRUE(WaitUntil([&] { return internet.Events("message").size() == 4; }, seconds(10)));
  // The first one kept (which of the three was over the limit depends on order).
  EXPECT_EQ(internet.Events("message")[3]["rcpts"],
            nlohmann::json({kept.envelope().recipients(0).address()}));
  EXPECT_EQ(h_.ReadAll("deadletter").size(), 2u);
}

// Issue 13 point 3: a message with a bare line ending (here a smuggling
// attempt inside the signed part of a multipart/signed message) is neither
// sent nor repaired: not a single command reaches the next hop, the sender
// gets a DSN (5.6.0) and the message is kept on the dead-letter topic.
TEST_F(EgressPeerTest, ABareLineEndingIsRefusedNeverRewrittenAndBouncedAndKept) {
  auto remote = StartSmtpPeer(h_.dir(), "remote", {});
  auto internal = StartSmtpPeer(h_.dir(), "internal", {});
  h_.Start(Yaml(SmtpRoute(remote.port), SmtpRoute(internal.port)));
  auto rec = MakeRecord("bare1", "alice@org.test", {"bob@remote.test", "eve@remote.test"});
  rec.set_message(
      "From: alice@org.test\r\nTo: bob@remote.test\r\nSubject: signed\r\n"
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsigned text\n.\r\nMAIL FROM:<x@y>\r\n--b--\r\n");
  h_.Produce(rec);
  ASSERT_TRUE(WaitUntil([&] { return internal.Events("message").size() == 1; }, seconds(10)));
  const std::string dsn = ReadFile(internal.Events("message")[0]["file"]);
  EXPECT_NE(dsn.find("Status: 5.6.0"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("bare LF"), std::string::npos) << dsn;
  std::vector<queue::Record> dead;
  ASSERT_TRUE(WaitUntil([&] { return !(dead = h_.ReadAll("deadletter")).empty(); }, seconds(10)));
  ASSERT_EQ(dead.size(), 1u);  // one copy for both recipients
  v1::MessageRecord kept;
  ASSERT_TRUE(kept.ParseFromString(dead[0].value));
  EXPECT_EQ(kept.message(), rec.message());  // byte for byte, not repaired
  EXPECT_EQ(kept.envelope().recipients_size(), 2);
  EXPECT_TRUE(remote.Events("mail").empty());  // not even MAIL FROM
  EXPECT_TRUE(remote.Events("message").empty());
  EXPECT_EQ(h_.Metric("smimegate_egress_refused_total{reason=\"bare_line_ending\"}"), 1);
  EXPECT_EQ(h_.Metric("smimegate_egress_deliveries_total{outcome=\"bounced\",route=\"outbound\"}"), 2);
}

class EgressTlsTest : public EgressPeerTest {
 protected:
  void MakeCert() {
    cert_ = h_.dir() + "/cert.pem";
    key_ = h_.dir() + "/key.pem";
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
                      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key_ +
                      " -out " + cert_ + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string cert_, key_;
};

TEST_F(EgressTlsTest, RequiredVerifiedTlsDeliversEncrypted) {
  MakeCert();
  auto peer = StartSmtpPeer(h_.dir(), "tls", {"--tls", cert_, key_});
  h_.Start(Yaml(SmtpRoute(peer.port, "{mode: required, verify: true, ca_file: " + cert_ + "}")));
  h_.Produce(MakeRecord("m6", "alice@org.test", {"bob@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return peer.Events("message").size() == 1; }, seconds(10)));
  EXPECT_TRUE(peer.Events("mail")[0]["tls"].get<bool>());
  EXPECT_TRUE(peer.Events("message")[0]["tls"].get<bool>());
  EXPECT_EQ(h_.Metric("smimegate_egress_connections_total{route=\"outbound\",tls=\"on\"}"), 1);
}

TEST_F(EgressTlsTest, RequiredVerifiedTlsRefusesAnUntrustedCertificate) {
  MakeCert();
  auto peer = StartSmtpPeer(h_.dir(), "tls", {"--tls", cert_, key_});
  // The system trust store does not know the peer's self-signed certificate.
  h_.Start(Yaml(SmtpRoute(peer.port, "{mode: required, verify: true}")));
  h_.Produce(MakeRecord("m7", "alice@org.test", {"bob@remote.test"}));
  std::vector<queue::Record> retry;
  ASSERT_TRUE(WaitUntil([&] { return !(retry = h_.ReadAll("retry")).empty(); }, seconds(10)));
  v1::MessageRecord rec;
  ASSERT_TRUE(rec.ParseFromString(retry[0].value));
  EXPECT_NE(rec.delivery().last_error().find("verif"), std::string::npos)
      << rec.delivery().last_error();
  EXPECT_TRUE(peer.Events("mail").empty());
}

TEST_F(EgressTlsTest, OpportunisticTlsIsUsedWhenOffered) {
  MakeCert();
  auto peer = StartSmtpPeer(h_.dir(), "tls", {"--tls", cert_, key_});
  h_.Start(Yaml(SmtpRoute(peer.port)));
  h_.Produce(MakeRecord("m8", "alice@org.test", {"bob@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return peer.Events("message").size() == 1; }, seconds(10)));
  EXPECT_TRUE(peer.Events("message")[0]["tls"].get<bool>());
}

TEST_F(EgressPeerTest, ManyMessagesReuseOneConnection) {
  auto peer = StartSmtpPeer(h_.dir(), "peer", {});
  h_.Start(Yaml("{transport: smtp, max_connections: 1, allowed_networks: [127.0.0.1/32],"
                " hosts: [\"127.0.0.1:" +
                std::to_string(peer.port) + "\"]}"));
  constexpr int kMessages = 30;
  for (int i = 0; i < kMessages; ++i) {
    h_.Produce(MakeRecord("r" + std::to_string(i), "alice@org.test", {"bob@remote.test"}));
  }
  ASSERT_TRUE(WaitUntil([&] { return peer.Events("message").size() == kMessages; }, seconds(20)));
  std::set<std::string> client_ports;
  std::set<std::string> ids;
  for (auto& m : peer.Events("message")) {
    client_ports.insert(m["peer"].dump());
    ids.insert(m["message_id"]);
  }
  EXPECT_EQ(client_ports.size(), 1u);  // one TCP connection carried everything
  EXPECT_EQ(ids.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(h_.Metric("smimegate_egress_connection_reuse_total{route=\"outbound\"}"), kMessages - 1);
  EXPECT_EQ(h_.Metric("smimegate_egress_connections_total{route=\"outbound\",tls=\"off\"}"), 1);
}

// The next hop closes a cached session (its idle timeout, a restart): the next
// message opens a new session instead of failing on the dead one (which would
// send it through the retry topic, 10 s here).
TEST_F(EgressPeerTest, ASessionTheServerClosedIsNotReusedForTheNextMessage) {
  const int port = ::sg::testing::FreeLoopbackPort();
  auto first = StartSmtpPeer(h_.dir(), "first", {}, "127.0.0.1", port);
  ASSERT_EQ(first.port, port);
  h_.Start("egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
           "  smtp: {idle_timeout: 30s, connect_timeout: 3s, command_timeout: 5s}\n"
           "  retry: {initial: 10s, multiplier: 2, max_interval: 1m, max_age: 1h}\n"
           "  outbound: " + SmtpRoute(port) + "\n  inbound: {transport: maildir}\n");
  h_.Produce(MakeRecord("c1", "alice@org.test", {"bob@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return first.Events("message").size() == 1; }, seconds(10)));
  first.process.Stop();  // the cached session sees EOF
  auto second = StartSmtpPeer(h_.dir(), "second", {}, "127.0.0.1", port);
  ASSERT_EQ(second.port, port);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  h_.Produce(MakeRecord("c2", "alice@org.test", {"bob@remote.test"}));
  ASSERT_TRUE(WaitUntil([&] { return second.Events("message").size() == 1; }, seconds(5)));
  EXPECT_EQ(h_.Metric("smimegate_egress_retries_scheduled_total{route=\"outbound\"}"), 0);
  EXPECT_EQ(h_.Metric("smimegate_egress_connections_total{route=\"outbound\",tls=\"off\"}"), 2);
}

}  // namespace
}  // namespace sg::egress::testing
