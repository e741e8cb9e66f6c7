// Recipient verification by SMTP callout against a real SMTP peer
// (aiosmtpd, tests/egress/peers/smtp_peer.py) standing in for the internal
// mail server: 250 known, 550 unknown, 451 / silence / refusal unavailable
// within the timeout; and the whole MX listener over the wire with a
// callout and a recipient list (issue 13 point 4).
#include "ingress/ingress_recipient_callout.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "ingress/ingress_server.h"
#include "tests/egress/peer_process.h"
#include "tests/ingress/fake_producer.h"
#include "tests/ingress/smtp_test_client.h"
#include "tests/ingress/test_listeners.h"
#include "tests/support/loopback.h"
#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;
using egress::testing::StartSmtpPeer;
using testing::CodeOf;
using testing::SmtpTestClient;

TEST(CalloutTest, AnswersOfARealSmtpServer) {
  sg::testing::TempDir dir;
  auto peer = StartSmtpPeer(dir.path(), "internal", {"--reject-rcpt", "nobody"});
  ASSERT_GT(peer.port, 0);
  CalloutSource callout(
      CalloutConfig{"127.0.0.1", static_cast<uint16_t>(peer.port), 5s, "gw.test"});
  EXPECT_EQ(callout.Lookup("alice@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ(callout.Lookup("nobody@example.org"), RecipientStatus::kUnknown);
  // Only the dialogue up to RCPT: the peer never saw a message.
  EXPECT_TRUE(peer.Events("message").empty());
  ASSERT_EQ(peer.Events("mail").size(), 2u);
  EXPECT_EQ(peer.Events("mail")[0]["from"], "<>");  // the null sender
}

TEST(CalloutTest, TemporaryFailureRefusalAndSilenceAreUnavailableWithinTheTimeout) {
  sg::testing::TempDir dir;
  auto peer = StartSmtpPeer(dir.path(), "busy", {"--tempfail-rcpt", "1"});
  ASSERT_GT(peer.port, 0);
  CalloutSource busy(CalloutConfig{"127.0.0.1", static_cast<uint16_t>(peer.port), 5s, "gw.test"});
  EXPECT_EQ(busy.Lookup("alice@example.org"), RecipientStatus::kUnavailable);  // 451
  EXPECT_EQ(busy.Lookup("alice@example.org"), RecipientStatus::kKnown);
  // Nothing listens.
  const int closed_port = ::sg::testing::FreeLoopbackPort();
  CalloutSource refused(
      CalloutConfig{"127.0.0.1", static_cast<uint16_t>(closed_port), 5s, "gw.test"});
  EXPECT_EQ(refused.Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  // Accepts, never greets: the timeout bounds the whole lookup.
  ::sg::testing::LoopbackListenSocket mute_peer(4);
  ASSERT_TRUE(mute_peer.ok());
  CalloutSource silent(CalloutConfig{"127.0.0.1", mute_peer.port(), 300ms, "gw.test"});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(silent.Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  mute_peer.Close();
}

TEST(CalloutTest, MxListenerVerifiesByListThenCalloutOverTheWire) {
  sg::testing::TempDir dir;
  auto peer = StartSmtpPeer(dir.path(), "internal", {"--reject-rcpt", "nobody"});
  ASSERT_GT(peer.port, 0);
  { std::ofstream(dir.Sub("list.txt")) << "listed@example.org\n"; }
  IngressConfig config;
  config.hostname = "gw.example.org";
  config.threads = 1;
  config.listeners = {testing::LoopbackListener()};
  RecipientDomainConfig d;
  d.config_path = "ingress.recipient_verification.domains[0]";
  d.domain = "example.org";
  d.sources = {"list", "callout"};
  d.list_file = dir.Sub("list.txt");
  d.callout = CalloutConfig{"127.0.0.1", static_cast<uint16_t>(peer.port), 5s, ""};
  config.recipient_verification.domains = {d};
  testing::FakeProducer producer;
  metrics::Registry registry;
  IngressServer server(config, {"example.org"}, IngressTopics{}, producer, registry);
  ASSERT_TRUE(server.Start().ok());
  SmtpTestClient c;
  ASSERT_TRUE(c.Connect(server.Port("mx")));
  c.ReadReply();
  c.Cmd("EHLO remote.example");
  c.Cmd("MAIL FROM:<forged@victim.example>");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<listed@example.org>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<bob@example.org>")), "250 2.1.5");     // callout: 250
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<nobody@example.org>")), "550 5.1.1");  // callout: 550
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("Subject: s\r\n\r\nx\r\n.")), "250 2.0.0");
  ASSERT_EQ(producer.RecordCount(), 1u);
  smimegate::v1::MessageRecord rec;
  ASSERT_TRUE(rec.ParseFromString(producer.Records()[0].value));
  EXPECT_EQ(rec.envelope().recipients_size(), 2);  // nobody was never accepted
  EXPECT_EQ(peer.Events("mail").size(), 2u);       // one callout each for bob and nobody
  const std::string metrics = registry.Serialize();
  EXPECT_NE(metrics.find("smimegate_ingress_recipient_checks_total{listener=\"mx\","
                         "result=\"unknown\",cached=\"false\"} 1"),
            std::string::npos)
      << metrics;
  // The internal server goes away: 451 4.4.3, never a 250 to bounce later.
  peer.process.Stop();
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<forged@victim.example>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<carol@example.org>")), "451 4.4.3");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<bob@example.org>")), "250 2.1.5");  // cached
  EXPECT_EQ(CodeOf(c.Cmd("QUIT")), "221 2.0.0");
  server.Stop();
}

}  // namespace
}  // namespace sg::ingress
