// MTA-STS (RFC 8461) end to end: egress delivers to real SMTP peers with
// STARTTLS (aiosmtpd, tests/egress/peers/smtp_peer.py) on 127.0.0.2 and
// 127.0.0.3, finds their names in a local DNS server (dnslib) and fetches
// each domain's policy from a local HTTPS server (mta_sts_server.py) whose
// certificate, like the MX hosts', comes from a test CA made here.
//
//   127.0.0.2 "good": a certificate for mx1.*.test names (valid)
//   127.0.0.3 "bad":  a certificate for wrong.test (host name mismatch)
//
// Counts are checked on the TLS-RPT metrics (egress_tls_sessions_total).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"

namespace sg::egress::testing {
namespace {
using std::chrono::seconds;
namespace v1 = smimegate::v1;

void Shell(const std::string& cmd) {
  // NOLINTNEXTLINE(cert-env33-c): the test's own openssl command lines
  ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
}

// Both MX names are listed (one through a wildcard); rogue.notlisted.test is not (Policy).

class EgressMtaStsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = h_.dir();
    Shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
        "/CN=Test-CA -keyout " +
        d + "/ca.key -out " + d + "/ca.pem");
    Leaf("good",
         "DNS:mx1.enforce.test,DNS:mx1.testing.test,DNS:mx1.notlisted.test,"
         "DNS:rogue.notlisted.test,DNS:mta-sts.enforce.test,DNS:mta-sts.testing.test,"
         "DNS:mta-sts.notlisted.test,DNS:mta-sts.onlybad.test,DNS:mx1.onlybad.test");
    Leaf("bad", "DNS:wrong.test");
    good_ = StartSmtpPeer(d, "good", {"--tls", d + "/good.pem", d + "/good.key"}, "127.0.0.2", 0);
    ASSERT_GT(good_.port, 0);
    bad_ =
        StartSmtpPeer(d, "bad", {"--tls", d + "/bad.pem", d + "/bad.key"}, "127.0.0.3", good_.port);
    ASSERT_EQ(bad_.port, good_.port);

    std::filesystem::create_directories(d + "/policies");
    for (const char* dom : {"enforce.test", "notlisted.test", "onlybad.test"})
      Policy(dom, "enforce");
    Policy("testing.test", "testing");
    https_ = ChildProcess({"/usr/bin/python3", PeersDir() + "/mta_sts_server.py", "--port-file",
                           d + "/https.port", "--cert", d + "/good.pem", "--key", d + "/good.key",
                           "--dir", d + "/policies"});
    https_port_ = WaitForPortFile(d + "/https.port", seconds(10));
    ASSERT_GT(https_port_, 0);

    std::vector<std::string> argv{"/usr/bin/python3", PeersDir() + "/dns_server.py",
                                  "--port-file",      d + "/dns.port",
                                  "--zone-file",      d + "/zone"};
    for (const char* r : {
             // The preferred MX has a certificate for another name; the second a valid one.
             "enforce.test MX 10 mx2.enforce.test",
             "enforce.test MX 20 mx1.enforce.test",
             "mx2.enforce.test A 127.0.0.3",
             "mx1.enforce.test A 127.0.0.2",
             "testing.test MX 10 mx2.testing.test",
             "mx2.testing.test A 127.0.0.3",
             "onlybad.test MX 10 mx2.onlybad.test",
             "mx2.onlybad.test A 127.0.0.3",
             // A valid certificate, but the policy does not list this MX.
             "notlisted.test MX 10 rogue.notlisted.test",
             "rogue.notlisted.test A 127.0.0.2",
             "nopolicy.test MX 10 mx2.nopolicy.test",
             "mx2.nopolicy.test A 127.0.0.3",
         }) {
      argv.emplace_back("--record");
      argv.emplace_back(r);
    }
    std::ofstream zone(d + "/zone");  // TXT records here: a test may change them
    for (const char* dom : {"enforce.test", "testing.test", "notlisted.test", "onlybad.test"}) {
      zone << "_mta-sts." << dom << " TXT v=STSv1; id=1\n";
      argv.emplace_back("--record");
      argv.push_back(std::string("mta-sts.") + dom + " A 127.0.0.1");
    }
    zone.close();
    dns_ = ChildProcess(argv);
    dns_port_ = WaitForPortFile(d + "/dns.port", seconds(10));
    ASSERT_GT(dns_port_, 0);
  }

  void Leaf(const std::string& name, const std::string& san) {
    const std::string d = h_.dir() + "/";
    Shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
          " -keyout " + d + name + ".key -out " + d + name + ".csr");
    std::ofstream(d + name + ".ext") << "subjectAltName=" << san << "\n";
    Shell("openssl x509 -req -days 2 -in " + d + name + ".csr -CA " + d + "ca.pem -CAkey " + d +
          "ca.key -CAcreateserial -extfile " + d + name + ".ext -out " + d + name + ".pem");
  }

  void Policy(const std::string& domain, const std::string& mode) {
    // "*.<domain>" would list rogue.notlisted.test too: that domain gets mx1 only.
    const std::string wild = domain == "notlisted.test" ? "mx1." + domain : domain;
    std::string text = "version: STSv1\nmode: enforce\nmx: mx1." + domain + "\nmx: *." + wild +
                       "\nmax_age: 86400\n";
    text.replace(text.find("enforce"), 7, mode);
    std::ofstream(h_.dir() + "/policies/" + domain) << text;
  }

  void Start(bool enabled = true) {
    h_.Start(
        "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
        "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 5s}\n"
        "  retry: {initial: 10s, multiplier: 2, max_interval: 1m, max_age: 1h}\n"
        "  dns: {servers: [\"127.0.0.1:" +
        std::to_string(dns_port_) +
        "\"], timeout: 2s}\n"
        "  mta_sts: {enabled: " +
        (enabled ? "true" : "false") + ", ca_file: " + h_.dir() +
        "/ca.pem, https_port: " + std::to_string(https_port_) +
        ", fetch_timeout: 3s, "
        "cache_path: " +
        h_.dir() +
        "/sts-cache}\n"
        "  outbound: {transport: mx, allowed_networks: [127.0.0.0/8], port: " +
        std::to_string(good_.port) +
        "}\n"
        "  inbound: {transport: maildir, path: mail/inbound}\n");
  }

  // The last_error of the first retry record.
  std::string RetryError() {
    std::vector<queue::Record> retry;
    EXPECT_TRUE(WaitUntil([&] { return !(retry = h_.ReadAll("retry")).empty(); }, seconds(15)));
    if (retry.empty()) return "";
    v1::MessageRecord rec;
    EXPECT_TRUE(rec.ParseFromString(retry[0].value));
    return rec.delivery().last_error();
  }

  double Tls(const std::string& type, const std::string& result) {
    return h_.Metric("smimegate_egress_tls_sessions_total{policy_type=\"" + type + "\",result=\"" +
                     result + "\"}");
  }

  EgressHarness h_;
  SmtpPeer good_, bad_;
  ChildProcess https_, dns_;
  int https_port_ = 0, dns_port_ = 0;
};

TEST_F(EgressMtaStsTest, EnforceSkipsAnMxWithABadCertificateAndDeliversToAGoodOne) {
  Start();
  h_.Produce(MakeRecord("e1", "alice@org.test", {"bob@enforce.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(good_.Events("message")[0]["tls"].get<bool>());
  EXPECT_TRUE(bad_.Events("mail").empty());  // never a transaction to the bad certificate
  EXPECT_EQ(Tls("sts", "certificate-host-mismatch"), 1);
  EXPECT_EQ(Tls("sts", "success"), 1);
  EXPECT_EQ(h_.Metric("smimegate_egress_mta_sts_policies_total{result=\"fetched\"}"), 1);
  EXPECT_TRUE(std::filesystem::exists(h_.dir() + "/sts-cache/enforce.test"));
}

TEST_F(EgressMtaStsTest, EnforceDefersWhenNoMxHasAValidCertificate) {
  Start();
  h_.Produce(MakeRecord("e2", "alice@org.test", {"bob@onlybad.test"}));
  const std::string err = RetryError();
  EXPECT_NE(err.find("verif"), std::string::npos) << err;
  EXPECT_TRUE(bad_.Events("mail").empty());
  EXPECT_EQ(Tls("sts", "certificate-host-mismatch"), 1);
}

TEST_F(EgressMtaStsTest, EnforceNeverUsesAnMxThePolicyDoesNotList) {
  Start();
  h_.Produce(MakeRecord("e3", "alice@org.test", {"bob@notlisted.test"}));
  const std::string err = RetryError();
  EXPECT_NE(err.find("4.7.5"), std::string::npos) << err;
  EXPECT_NE(err.find("MTA-STS"), std::string::npos) << err;
  EXPECT_TRUE(good_.Events("mail").empty());
  EXPECT_EQ(Tls("sts", "validation-failure"), 1);
}

TEST_F(EgressMtaStsTest, TestingModeDeliversAndCountsTheFailure) {
  Start();
  h_.Produce(MakeRecord("t1", "alice@org.test", {"bob@testing.test"}));
  ASSERT_TRUE(WaitUntil([&] { return bad_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(bad_.Events("message")[0]["tls"].get<bool>());
  EXPECT_EQ(Tls("sts", "certificate-host-mismatch"), 1);
}

TEST_F(EgressMtaStsTest, WithoutAPolicyDeliveryIsOpportunisticAndCounted) {
  Start();
  h_.Produce(MakeRecord("n1", "alice@org.test", {"bob@nopolicy.test"}));
  ASSERT_TRUE(WaitUntil([&] { return bad_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("no-policy-found", "success"), 1);
}

TEST_F(EgressMtaStsTest, OffByDefaultAnUnlistedMxIsUsed) {
  Start(/*enabled=*/false);
  h_.Produce(MakeRecord("o1", "alice@org.test", {"bob@notlisted.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
}

TEST_F(EgressMtaStsTest, ACachedPolicyHoldsAfterARestartWhenTheFetchFails) {
  Start();
  h_.Produce(MakeRecord("c1", "alice@org.test", {"bob@enforce.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  h_.Stop();
  // The policy server is gone and the TXT id changed: the cached enforce policy still applies.
  https_.Stop();
  std::ofstream(h_.dir() + "/zone") << "_mta-sts.onlybad.test TXT v=STSv1; id=2\n";
  std::filesystem::copy_file(h_.dir() + "/sts-cache/enforce.test",
                             h_.dir() + "/sts-cache/onlybad.test");
  Start();
  h_.Produce(MakeRecord("c2", "alice@org.test", {"bob@onlybad.test"}));
  const std::string err = RetryError();
  EXPECT_NE(err.find("4.7.5"), std::string::npos)
      << err;  // mx2.onlybad.test is not in the copied policy
  EXPECT_TRUE(bad_.Events("mail").empty());
  EXPECT_EQ(h_.Metric("smimegate_egress_mta_sts_policies_total{result=\"fetch_error\"}"), 1);
  EXPECT_EQ(Tls("sts", "sts-policy-fetch-error"), 1);
}

}  // namespace
}  // namespace sg::egress::testing
