// DANE TLSA (RFC 7672) end to end: egress delivers to real SMTP peers with
// STARTTLS (aiosmtpd, tests/egress/peers/smtp_peer.py) on 127.0.0.2 and
// 127.0.0.3 and finds MX hosts, addresses and TLSA records in a local DNS
// server (dnslib) that plays the validating resolver: AD set on every
// answer ("!ad"), cleared for names marked NOAD, SERVFAIL for a bogus one.
// Certificates come from a test CA made here; egress trusts no CA at all.
//
//   127.0.0.2 "good":  a certificate for mx.match.test, mx.ta.test,
//                      mx2.bogus.test, mx.cnameta.test, sent with the CA
//                      certificate (its chain)
//   127.0.0.3 "other": a certificate with another key, for other.test
//
// Counts are checked on the TLS-RPT metrics (egress_tls_sessions_total).
// The CA, peers, DNS server and egress come from tls_peer_fixture.h.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/egress/tls_peer_fixture.h"

namespace sg::egress::testing {
namespace {
using std::chrono::seconds;

class EgressDaneTest : public TlsPeerTest {
 protected:
  void SetUp() override {
    const std::string d = dir();
    MakeCa();
    Leaf("good", "DNS:mx.match.test,DNS:mx.ta.test,DNS:mx2.bogus.test,DNS:mx.cnameta.test");
    Leaf("other", "DNS:other.test");
    // DANE-TA(2): the server sends its chain up to the trust anchor (RFC 7672 3.1.2).
    std::ofstream(d + "/good-chain.pem")
        << std::ifstream(d + "/good.pem").rdbuf() << std::ifstream(d + "/ca.pem").rdbuf();
    good_ = StartTlsPeer("good", "good-chain.pem", "127.0.0.2", 0);
    ASSERT_GT(good_.port, 0);
    other_ = StartTlsPeer("other", "other.pem", "127.0.0.3", good_.port);
    ASSERT_EQ(other_.port, good_.port);

    const std::string good_ee = "3 1 1 " + SpkiSha256Hex(d + "/good.pem");
    const std::string other_ee = "3 1 1 " + SpkiSha256Hex(d + "/other.pem");
    const std::string ca_ta = "2 1 1 " + SpkiSha256Hex(d + "/ca.pem");
    ASSERT_EQ(good_ee.size(), 6 + 64u);
    std::ofstream zone(d + "/zone");
    for (const std::string& line : std::vector<std::string>{
             "!ad",
             // DANE-EE matching the good peer's key.
             "match.test MX 10 mx.match.test",
             "mx.match.test A 127.0.0.2",
             "_25._tcp.mx.match.test TLSA " + good_ee,
             // The same record, but the MX host presents another key.
             "mismatch.test MX 10 mx.mismatch.test",
             "mx.mismatch.test A 127.0.0.3",
             "_25._tcp.mx.mismatch.test TLSA " + good_ee,
             // A mismatching record whose answer is not validated: not DANE.
             "insecure.test MX 10 mx.insecure.test",
             "mx.insecure.test A 127.0.0.3",
             "_25._tcp.mx.insecure.test TLSA " + good_ee,
             "_25._tcp.mx.insecure.test NOAD",
             // Validated A records, but the AAAA answer is not: not DANE.
             "insecureaaaa.test MX 10 mx.insecureaaaa.test",
             "mx.insecureaaaa.test A 127.0.0.3",
             "mx.insecureaaaa.test NOAD AAAA",
             "_25._tcp.mx.insecureaaaa.test TLSA " + good_ee,
             // Unsigned MX records name a host with a mismatching record: not DANE.
             "insecuremx.test MX 10 mx.mismatch.test",
             "insecuremx.test NOAD",
             // DANE-TA: the test CA's key; the certificate must name the MX host.
             "ta.test MX 10 mx.ta.test",
             "mx.ta.test A 127.0.0.2",
             "_25._tcp.mx.ta.test TLSA " + ca_ta,
             "tawrong.test MX 10 mx.tawrong.test",
             "mx.tawrong.test A 127.0.0.2",
             "_25._tcp.mx.tawrong.test TLSA " + ca_ta,
             // The preferred MX host's TLSA look-up fails (bogus): skipped.
             "bogus.test MX 10 mx1.bogus.test",
             "bogus.test MX 20 mx2.bogus.test",
             "mx1.bogus.test A 127.0.0.3",
             "_25._tcp.mx1.bogus.test SERVFAIL",
             "mx2.bogus.test A 127.0.0.2",
             "_25._tcp.mx2.bogus.test TLSA " + good_ee,
             // MX hosts that are aliases (RFC 7672 2.2.3): the TLSA records of the
             // expanded name come first (a mismatching record at the MX name is
             // not used) ...
             "cname.test MX 10 mx.cname.test",
             "mx.cname.test CNAME host1.provider.test",
             "host1.provider.test A 127.0.0.2",
             "_25._tcp.host1.provider.test TLSA " + good_ee,
             "_25._tcp.mx.cname.test TLSA " + other_ee,
             // ... the MX name's when the expanded name has none ...
             "cnamefb.test MX 10 mx.cnamefb.test",
             "mx.cnamefb.test CNAME host2.provider.test",
             "host2.provider.test A 127.0.0.2",
             "_25._tcp.mx.cnamefb.test TLSA " + good_ee,
             // ... and DANE-TA at the expanded name accepts a certificate for the MX name.
             "cnameta.test MX 10 mx.cnameta.test",
             "mx.cnameta.test CNAME host3.provider.test",
             "host3.provider.test A 127.0.0.2",
             "_25._tcp.host3.provider.test TLSA " + ca_ta,
         }) {
      zone << line << "\n";
    }
    zone.close();
    StartDns({});
    ASSERT_GT(dns_port_, 0);
  }

  void Start(bool enabled = true) {
    StartEgress(good_.port, ", trust_ad: true",
                std::string("  dane: {enabled: ") + (enabled ? "true" : "false") + "}\n");
  }

  SmtpPeer good_, other_;
};

TEST_F(EgressDaneTest, AMatchingDaneEeRecordDelivers) {
  Start();
  h_.Produce(MakeRecord("m1", "alice@org.test", {"bob@match.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(good_.Events("message")[0]["tls"].get<bool>());
  EXPECT_EQ(good_.Events("message")[0]["sni"], "mx.match.test");
  EXPECT_EQ(Tls("tlsa", "success"), 1);
}

TEST_F(EgressDaneTest, AMismatchingRecordDefersAndNothingGoesInClear) {
  Start();
  h_.Produce(MakeRecord("x1", "alice@org.test", {"bob@mismatch.test"}));
  const std::string err = RetryError();
  EXPECT_NE(err.find("4.7.5"), std::string::npos) << err;
  EXPECT_TRUE(other_.Events("mail").empty());  // no transaction, neither in clear nor in TLS
  EXPECT_EQ(Tls("tlsa", "tlsa-invalid"), 1);
}

TEST_F(EgressDaneTest, ARecordWithoutValidationIsIgnored) {
  Start();
  h_.Produce(MakeRecord("i1", "alice@org.test", {"bob@insecure.test"}));
  ASSERT_TRUE(WaitUntil([&] { return other_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(other_.Events("message")[0]["tls"].get<bool>());  // opportunistic, as before
  EXPECT_EQ(Tls("no-policy-found", "success"), 1);
  EXPECT_EQ(Tls("tlsa", "tlsa-invalid"), 0);
}

TEST_F(EgressDaneTest, AnUnsignedMxRecordSetMeansNoDane) {
  Start();
  h_.Produce(MakeRecord("u1", "alice@org.test", {"bob@insecuremx.test"}));
  ASSERT_TRUE(WaitUntil([&] { return other_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("no-policy-found", "success"), 1);
}

TEST_F(EgressDaneTest, ADaneTaRecordAuthenticatesTheChainAndTheMxName) {
  Start();
  h_.Produce(MakeRecord("t1", "alice@org.test", {"bob@ta.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("tlsa", "success"), 1);
  // The same trust anchor, but the certificate names neither mx.tawrong.test nor tawrong.test.
  h_.Produce(MakeRecord("t2", "alice@org.test", {"bob@tawrong.test"}));
  const std::string err = RetryError();
  EXPECT_NE(err.find("4.7.5"), std::string::npos) << err;
  EXPECT_EQ(good_.Events("mail").size(), 1u);
  EXPECT_EQ(Tls("tlsa", "certificate-host-mismatch"), 1);
}

TEST_F(EgressDaneTest, ABogusAnswerSkipsTheHost) {
  Start();
  h_.Produce(MakeRecord("b1", "alice@org.test", {"bob@bogus.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(other_.Events("mail").empty());
  EXPECT_EQ(Tls("tlsa", "dnssec-invalid"), 1);
  EXPECT_EQ(Tls("tlsa", "success"), 1);
}

TEST_F(EgressDaneTest, AnAliasMxHostUsesTheRecordsOfItsExpandedNameFirst) {
  Start();
  h_.Produce(MakeRecord("c1", "alice@org.test", {"bob@cname.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("tlsa", "success"), 1);
  EXPECT_EQ(Tls("tlsa", "tlsa-invalid"), 0);  // the MX name's mismatching record was not used
  // The SNI name is the TLSA base domain (RFC 7671 10.2).
  EXPECT_EQ(good_.Events("message")[0]["sni"], "host1.provider.test");
}

TEST_F(EgressDaneTest, AnAliasMxHostFallsBackToTheRecordsOfItsOwnName) {
  Start();
  h_.Produce(MakeRecord("c2", "alice@org.test", {"bob@cnamefb.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("tlsa", "success"), 1);
  EXPECT_EQ(good_.Events("message")[0]["sni"], "mx.cnamefb.test");
}

TEST_F(EgressDaneTest, DaneTaAtAnExpandedNameAcceptsACertificateForTheMxName) {
  Start();
  h_.Produce(MakeRecord("c3", "alice@org.test", {"bob@cnameta.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("tlsa", "success"), 1);
  EXPECT_EQ(good_.Events("message")[0]["sni"], "host3.provider.test");
}

TEST_F(EgressDaneTest, AnUnvalidatedAaaaAnswerMeansNoDane) {
  Start();
  h_.Produce(MakeRecord("a1", "alice@org.test", {"bob@insecureaaaa.test"}));
  ASSERT_TRUE(WaitUntil([&] { return other_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(other_.Events("message")[0]["tls"].get<bool>());  // opportunistic
  EXPECT_EQ(Tls("no-policy-found", "success"), 1);
  EXPECT_EQ(Tls("tlsa", "tlsa-invalid"), 0);
}

TEST_F(EgressDaneTest, OffByDefaultTlsaRecordsAreNotAskedFor) {
  Start(/*enabled=*/false);
  h_.Produce(MakeRecord("o1", "alice@org.test", {"bob@mismatch.test"}));
  ASSERT_TRUE(WaitUntil([&] { return other_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("no-policy-found", "success"), 1);
}

}  // namespace
}  // namespace sg::egress::testing
