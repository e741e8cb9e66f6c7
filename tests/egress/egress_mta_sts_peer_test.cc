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
// The CA, peers, DNS server and egress come from tls_peer_fixture.h. With
// DANE on as well (StartWithDane), the DNS server plays a validating
// resolver ("!ad"): DANE takes precedence over the policy (RFC 8461 2).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/egress/tls_peer_fixture.h"

namespace sg::egress::testing {
namespace {
using std::chrono::seconds;

// Both MX names are listed (one through a wildcard); rogue.notlisted.test is not (Policy).

class EgressMtaStsTest : public TlsPeerTest {
 protected:
  void SetUp() override {
    const std::string d = dir();
    MakeCa();
    Leaf("good",
         "DNS:mx1.enforce.test,DNS:mx1.testing.test,DNS:mx1.notlisted.test,"
         "DNS:rogue.notlisted.test,DNS:mta-sts.enforce.test,DNS:mta-sts.testing.test,"
         "DNS:mta-sts.notlisted.test,DNS:mta-sts.onlybad.test,DNS:mx1.onlybad.test,"
         "DNS:mta-sts.danenotlisted.test");
    Leaf("bad", "DNS:wrong.test");
    good_ = StartTlsPeer("good", "good.pem", "127.0.0.2", 0);
    ASSERT_GT(good_.port, 0);
    bad_ = StartTlsPeer("bad", "bad.pem", "127.0.0.3", good_.port);
    ASSERT_EQ(bad_.port, good_.port);

    std::filesystem::create_directories(d + "/policies");
    for (const char* dom : {"enforce.test", "notlisted.test", "onlybad.test", "danenotlisted.test"})
      Policy(dom, "enforce");
    Policy("testing.test", "testing");
    https_ = ChildProcess({"/usr/bin/python3", PeersDir() + "/mta_sts_server.py", "--port-file",
                           d + "/https.port", "--cert", d + "/good.pem", "--key", d + "/good.key",
                           "--dir", d + "/policies"});
    https_port_ = WaitForPortFile(d + "/https.port", seconds(10));
    ASSERT_GT(https_port_, 0);

    const std::string good_ee = "3 1 1 " + SpkiSha256Hex(d + "/good.pem");
    std::vector<std::string> records{
        // Validated answers: only StartWithDane (trust_ad) believes them.
        "!ad",
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
        // Not listed either, but DANE authenticates it (validated TLSA records).
        "danenotlisted.test MX 10 rogue.danenotlisted.test",
        "rogue.danenotlisted.test A 127.0.0.2",
        "_25._tcp.rogue.danenotlisted.test TLSA " + good_ee,
    };
    std::ofstream zone(d + "/zone");  // TXT records here: a test may change them
    for (const char* dom :
         {"enforce.test", "testing.test", "notlisted.test", "onlybad.test", "danenotlisted.test"}) {
      zone << "_mta-sts." << dom << " TXT v=STSv1; id=1\n";
      records.push_back(std::string("mta-sts.") + dom + " A 127.0.0.1");
    }
    zone.close();
    StartDns(records);
    ASSERT_GT(dns_port_, 0);
  }

  void Policy(const std::string& domain, const std::string& mode) {
    // "*.<domain>" would list rogue.<domain> too: those domains get mx1 only.
    const bool rogue = domain == "notlisted.test" || domain == "danenotlisted.test";
    const std::string wild = rogue ? "mx1." + domain : domain;
    std::string text = "version: STSv1\nmode: enforce\nmx: mx1." + domain + "\nmx: *." + wild +
                       "\nmax_age: 86400\n";
    text.replace(text.find("enforce"), 7, mode);
    std::ofstream(dir() + "/policies/" + domain) << text;
  }

  void Start(bool enabled = true, const std::string& more = "", const std::string& dns = "") {
    StartEgress(good_.port, dns,
                "  mta_sts: {enabled: " + std::string(enabled ? "true" : "false") +
                    ", ca_file: " + dir() + "/ca.pem, https_port: " + std::to_string(https_port_) +
                    ", fetch_timeout: 3s, cache_path: " + dir() + "/sts-cache}\n" + more);
  }
  // MTA-STS and DANE, the DNS server's AD bit trusted.
  void StartWithDane() { Start(true, "  dane: {enabled: true}\n", ", trust_ad: true"); }

  SmtpPeer good_, bad_;
  ChildProcess https_;
  int https_port_ = 0;
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

TEST_F(EgressMtaStsTest, DaneAuthenticatesAnMxHostThePolicyDoesNotList) {
  StartWithDane();
  h_.Produce(MakeRecord("d1", "alice@org.test", {"bob@danenotlisted.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(good_.Events("message")[0]["tls"].get<bool>());
  EXPECT_EQ(Tls("tlsa", "success"), 1);
  EXPECT_EQ(Tls("sts", "validation-failure"), 0);
}

TEST_F(EgressMtaStsTest, WithDaneOnAnUnlistedMxWithoutTlsaRecordsIsStillNotUsed) {
  StartWithDane();
  h_.Produce(MakeRecord("d2", "alice@org.test", {"bob@notlisted.test"}));
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
  std::ofstream(dir() + "/zone") << "_mta-sts.onlybad.test TXT v=STSv1; id=2\n";
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
