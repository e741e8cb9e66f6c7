// DANE TLSA (RFC 7672) end to end: egress delivers to real SMTP peers with
// STARTTLS (aiosmtpd, tests/egress/peers/smtp_peer.py) on 127.0.0.2 and
// 127.0.0.3 and finds MX hosts, addresses and TLSA records in a local DNS
// server (dnslib) that plays the validating resolver: AD set on every
// answer ("!ad"), cleared for names marked NOAD, SERVFAIL for a bogus one.
// Certificates come from a test CA made here; egress trusts no CA at all.
//
//   127.0.0.2 "good":  a certificate for mx.match.test, mx.ta.test,
//                      mx2.bogus.test, sent with the CA certificate (its chain)
//   127.0.0.3 "other": a certificate with another key, for other.test
//
// Counts are checked on the TLS-RPT metrics (egress_tls_sessions_total).
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>

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

// The TLSA "x 1 1" association data of a PEM certificate: SHA-256 of its
// SubjectPublicKeyInfo, in hex.
std::string SpkiSha256Hex(const std::string& pem) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem.c_str(), "r"), &std::fclose);
  if (f == nullptr) return "";
  X509* cert = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(der, static_cast<size_t>(len), md.data());
  OPENSSL_free(der);
  X509_free(cert);
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

class EgressDaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = h_.dir();
    Shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
        "/CN=Test-CA -keyout " +
        d + "/ca.key -out " + d + "/ca.pem");
    Leaf("good", "DNS:mx.match.test,DNS:mx.ta.test,DNS:mx2.bogus.test");
    Leaf("other", "DNS:other.test");
    // DANE-TA(2): the server sends its chain up to the trust anchor (RFC 7672 3.1.2).
    std::ofstream(d + "/good-chain.pem")
        << std::ifstream(d + "/good.pem").rdbuf() << std::ifstream(d + "/ca.pem").rdbuf();
    good_ =
        StartSmtpPeer(d, "good", {"--tls", d + "/good-chain.pem", d + "/good.key"}, "127.0.0.2", 0);
    ASSERT_GT(good_.port, 0);
    other_ = StartSmtpPeer(d, "other", {"--tls", d + "/other.pem", d + "/other.key"}, "127.0.0.3",
                           good_.port);
    ASSERT_EQ(other_.port, good_.port);

    const std::string good_ee = "3 1 1 " + SpkiSha256Hex(d + "/good.pem");
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
         }) {
      zone << line << "\n";
    }
    zone.close();
    dns_ = ChildProcess({"/usr/bin/python3", PeersDir() + "/dns_server.py", "--port-file",
                         d + "/dns.port", "--zone-file", d + "/zone"});
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

  void Start(bool enabled = true) {
    h_.Start(
        "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
        "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 5s}\n"
        "  retry: {initial: 10s, multiplier: 2, max_interval: 1m, max_age: 1h}\n"
        "  dns: {servers: [\"127.0.0.1:" +
        std::to_string(dns_port_) + "\"], timeout: 2s, trust_ad: true}\n" +
        "  dane: {enabled: " + (enabled ? "true" : "false") + "}\n" +
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
  SmtpPeer good_, other_;
  ChildProcess dns_;
  int dns_port_ = 0;
};

TEST_F(EgressDaneTest, AMatchingDaneEeRecordDelivers) {
  Start();
  h_.Produce(MakeRecord("m1", "alice@org.test", {"bob@match.test"}));
  ASSERT_TRUE(WaitUntil([&] { return good_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_TRUE(good_.Events("message")[0]["tls"].get<bool>());
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

TEST_F(EgressDaneTest, OffByDefaultTlsaRecordsAreNotAskedFor) {
  Start(/*enabled=*/false);
  h_.Produce(MakeRecord("o1", "alice@org.test", {"bob@mismatch.test"}));
  ASSERT_TRUE(WaitUntil([&] { return other_.Events("message").size() == 1; }, seconds(15)));
  EXPECT_EQ(Tls("no-policy-found", "success"), 1);
}

}  // namespace
}  // namespace sg::egress::testing
