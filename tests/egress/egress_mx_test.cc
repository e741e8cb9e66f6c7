// MX routing through a local DNS server (tests/egress/peers/dns_server.py,
// dnslib) on loopback: preference order, fallback to the next MX when the
// first refuses, A fallback without MX, NXDOMAIN bounces. SMTP peers listen
// on 127.0.0.2 and 127.0.0.3 (same port), which the MX hosts resolve to.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"

namespace sg::egress::testing {
namespace {
using std::chrono::seconds;

class EgressMxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mx1_ = StartSmtpPeer(h_.dir(), "mx1", {}, "127.0.0.2", 0);
    ASSERT_GT(mx1_.port, 0);
    mx2_ = StartSmtpPeer(h_.dir(), "mx2", {}, "127.0.0.3", mx1_.port);
    ASSERT_EQ(mx2_.port, mx1_.port);
    std::vector<std::string> argv{"/usr/bin/python3", PeersDir() + "/dns_server.py", "--port-file",
                                  h_.dir() + "/dns.port"};
    for (const char* r : {
             // Listed in the reverse of preference order on purpose.
             "pref.test MX 20 mx2.pref.test", "pref.test MX 10 mx1.pref.test",
             "mx1.pref.test A 127.0.0.2", "mx2.pref.test A 127.0.0.3",
             // The preferred MX refuses connections (nothing listens on 127.0.0.4).
             "fallback.test MX 10 down.fallback.test", "fallback.test MX 20 up.fallback.test",
             "down.fallback.test A 127.0.0.4", "up.fallback.test A 127.0.0.3",
             // No MX: the domain's own address (RFC 5321 5.1).
             "nomx.test A 127.0.0.3",
             // Issue 13 point 11: MX hosts pointing where mail must not go.
             "private.test MX 10 mx.private.test", "mx.private.test A 10.9.9.9",
             "loop.test MX 10 mx.loop.test", "mx.loop.test A 198.51.100.9",
             "mixed.test MX 10 a.mixed.test", "mixed.test MX 20 b.mixed.test",
             "a.mixed.test A 10.9.9.9", "b.mixed.test A 127.0.0.3",
         }) {
      argv.push_back("--record");
      argv.push_back(r);
    }
    dns_ = ChildProcess(argv);
    dns_port_ = WaitForPortFile(h_.dir() + "/dns.port", seconds(10));
    ASSERT_GT(dns_port_, 0);
    h_.Start(Config("allowed_networks: [127.0.0.0/8], "));
  }

  // The loopback peers are allowed explicitly (`allowed`), as a test must.
  std::string Config(const std::string& allowed) {
    return "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
           "  smtp: {idle_timeout: 300ms, connect_timeout: 3s}\n"
           "  dns: {servers: [\"127.0.0.1:" + std::to_string(dns_port_) + "\"], timeout: 2s}\n"
           "  own_addresses: [198.51.100.9]\n"
           "  outbound: {transport: mx, " + allowed + "port: " + std::to_string(mx1_.port) + "}\n"
           "  inbound: {transport: maildir, path: mail/inbound}\n";
  }

  // The first DSN in the sender's Maildir (inbound route).
  std::string WaitForDsn() {
    const std::string box = h_.dir() + "/mail/inbound/new";
    std::string dsn;
    EXPECT_TRUE(WaitUntil([&] {
      if (!std::filesystem::exists(box)) return false;
      for (auto& e : std::filesystem::directory_iterator(box)) {
        std::ifstream in(e.path());
        dsn.assign(std::istreambuf_iterator<char>(in), {});
        return true;
      }
      return false;
    }, seconds(10)));
    return dsn;
  }

  EgressHarness h_;
  SmtpPeer mx1_, mx2_;
  ChildProcess dns_;
  int dns_port_ = 0;
};

TEST_F(EgressMxTest, DeliversToTheMostPreferredMx) {
  h_.Produce(MakeRecord("p1", "alice@org.test", {"bob@pref.test"}));
  ASSERT_TRUE(WaitUntil([&] { return mx1_.Events("message").size() == 1; }, seconds(10)));
  EXPECT_TRUE(mx2_.Events("message").empty());
  EXPECT_EQ(mx1_.Events("message")[0]["rcpts"], nlohmann::json({"bob@pref.test"}));
}

TEST_F(EgressMxTest, FallsBackToTheNextMxWhenTheFirstRefuses) {
  h_.Produce(MakeRecord("p2", "alice@org.test", {"bob@fallback.test"}));
  ASSERT_TRUE(WaitUntil([&] { return mx2_.Events("message").size() == 1; }, seconds(10)));
  EXPECT_TRUE(mx1_.Events("message").empty());
  EXPECT_GE(h_.Metric("smimegate_egress_connection_failures_total{route=\"outbound\"}"), 1);
}

TEST_F(EgressMxTest, UsesTheDomainAddressWithoutMx) {
  h_.Produce(MakeRecord("p3", "alice@org.test", {"bob@nomx.test"}));
  ASSERT_TRUE(WaitUntil([&] { return mx2_.Events("message").size() == 1; }, seconds(10)));
}

TEST_F(EgressMxTest, RecipientsInTwoDomainsGoToTheirOwnMx) {
  h_.Produce(MakeRecord("p4", "alice@org.test", {"a@pref.test", "b@nomx.test"}));
  ASSERT_TRUE(WaitUntil([&] {
    return mx1_.Events("message").size() == 1 && mx2_.Events("message").size() == 1;
  }, seconds(10)));
  EXPECT_EQ(mx1_.Events("message")[0]["rcpts"], nlohmann::json({"a@pref.test"}));
  EXPECT_EQ(mx2_.Events("message")[0]["rcpts"], nlohmann::json({"b@nomx.test"}));
}

TEST_F(EgressMxTest, NonExistentDomainBouncesToTheSendersMaildir) {
  h_.Produce(MakeRecord("p5", "alice@org.test", {"bob@nxdomain.test"}));
  const std::string box = h_.dir() + "/mail/inbound/new";
  std::string dsn;
  ASSERT_TRUE(WaitUntil([&] {
    if (!std::filesystem::exists(box)) return false;
    for (auto& e : std::filesystem::directory_iterator(box)) {
      std::ifstream in(e.path());
      dsn.assign(std::istreambuf_iterator<char>(in), {});
      return true;
    }
    return false;
  }, seconds(10)));
  EXPECT_NE(dsn.find("Delivered-To: alice@org.test"), std::string::npos);
  EXPECT_NE(dsn.find("Status: 5.1.2"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; bob@nxdomain.test"), std::string::npos);
}

// An MX that resolves to a private address is never connected to: the
// sender gets a DSN saying where the domain's mail exchangers point.
TEST_F(EgressMxTest, AnMxOnAPrivateAddressBouncesWithoutAConnection) {
  h_.Produce(MakeRecord("n1", "alice@org.test", {"bob@private.test"}));
  const std::string dsn = WaitForDsn();
  EXPECT_NE(dsn.find("Status: 5.4.4"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("10.9.9.9 is a private address"), std::string::npos) << dsn;
  EXPECT_EQ(h_.Metric("smimegate_egress_connection_failures_total{route=\"outbound\"}"), 0);
  EXPECT_EQ(h_.Metric("smimegate_egress_refused_total{reason=\"destination_private\"}"), 1);
}

// An MX on one of the gateway's own addresses is a mail loop: 5.4.6.
TEST_F(EgressMxTest, AnMxOnTheGatewaysOwnAddressIsALoop) {
  h_.Produce(MakeRecord("n2", "alice@org.test", {"bob@loop.test"}));
  const std::string dsn = WaitForDsn();
  EXPECT_NE(dsn.find("Status: 5.4.6"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("loops back to this gateway"), std::string::npos) << dsn;
  EXPECT_EQ(h_.Metric("smimegate_egress_refused_total{reason=\"destination_own\"}"), 1);
}

// A refused MX is skipped; the next usable one gets the mail.
TEST_F(EgressMxTest, ARefusedMxIsSkippedForTheNextOne) {
  h_.Produce(MakeRecord("n3", "alice@org.test", {"bob@mixed.test"}));
  ASSERT_TRUE(WaitUntil([&] { return mx2_.Events("message").size() == 1; }, seconds(10)));
  EXPECT_EQ(h_.Metric("smimegate_egress_refused_total{reason=\"destination_private\"}"), 1);
}

// Without allowed_networks even the test's loopback peers are refused.
TEST_F(EgressMxTest, LoopbackIsRefusedUnlessAllowed) {
  h_.Stop();
  h_.Start(Config(""));
  h_.Produce(MakeRecord("n4", "alice@org.test", {"bob@pref.test"}));
  const std::string dsn = WaitForDsn();
  EXPECT_NE(dsn.find("Status: 5.4.4"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("is a loopback address, not in egress.outbound.allowed_networks"),
            std::string::npos)
      << dsn;
  EXPECT_TRUE(mx1_.Events("mail").empty());
}

}  // namespace
}  // namespace sg::egress::testing
