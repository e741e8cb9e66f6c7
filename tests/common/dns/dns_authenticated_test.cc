// Authenticated DNS lookups (CaresResolver::ResolveAuthenticated) against the
// local dnslib server standing in for a validating resolver: the query asks
// with AD and DO, the AD bit is reported only from trusted servers, NXDOMAIN
// and NODATA are answers, SERVFAIL and silence are errors.
#include <gtest/gtest.h>
#include <uv.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/dns/dns_answer.h"
#include "common/dns/dns_resolver.h"
#include "common/dns/tlsa_record.h"
#include "tests/support/dns_test_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace sg::dns {
namespace {

class AuthenticatedLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_TRUE(server_.ok()) << "dns_server.py did not start";
  }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // One lookup through a resolver made from `options`, run to its end.
  Result<AuthenticatedAnswer> Lookup(const ResolverOptions& options, const std::string& name,
                                     uint16_t qtype = kTypeSmimea) {
    auto resolver = CaresResolver::Create(&loop_, options);
    if (!resolver.ok()) return resolver.error();
    std::optional<Result<AuthenticatedAnswer>> got;
    (*resolver)->ResolveAuthenticated(
        name, qtype, [&](Result<AuthenticatedAnswer> r) { got.emplace(std::move(r)); });
    while (!got.has_value() && uv_run(&loop_, UV_RUN_ONCE) != 0) {
    }
    (*resolver)->Shutdown();
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (!got.has_value()) return MakeError(ErrorCode::kInternal, "callback never ran");
    return std::move(*got);
  }

  ResolverOptions Trusted() const {
    auto o = server_.Options();
    o.trust_ad = true;
    return o;
  }

  ::sg::testing::TempDir dir_;
  ::sg::testing::DnsTestServer server_{dir_.Sub("dns")};
  uv_loop_t loop_{};
};

// An RSA-2048 certificate (over 512 bytes: needs EDNS) in an SMIMEA record.
std::string CertificateRecordHex(std::string* der_out) {
  auto key = ::sg::testing::MakeRsaKey(2048);
  ::sg::testing::CertSpec spec;
  spec.subject = {{"CN", "bob"}};
  spec.not_before = std::chrono::system_clock::now();
  spec.not_after = spec.not_before + std::chrono::hours(24);
  auto cert = ::sg::testing::IssueCert(spec, key.get());
  *der_out = ::sg::testing::CertDer(cert.get());
  std::string hex;
  for (const unsigned char c : *der_out) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    hex += kDigits[c >> 4];
    hex += kDigits[c & 0x0f];
  }
  return hex;
}

TEST_F(AuthenticatedLookupTest, ValidatedAnswerFromTrustedServer) {
  std::string der;
  const std::string name = SmimeaOwnerName("bob", "example.test");
  server_.SetRecords({"!ad", name + " SMIMEA 3 0 0 " + CertificateRecordHex(&der)});
  auto got = Lookup(Trusted(), name);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_TRUE(got->authenticated);
  EXPECT_TRUE(got->name_exists);
  EXPECT_EQ(got->ttl, 60u);
  ASSERT_EQ(got->rdata.size(), 1u);
  auto record = ParseTlsaRdata(got->rdata[0]);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->usage, 3);
  EXPECT_TRUE(record->HoldsCertificate());
  EXPECT_EQ(record->data, der);
  // The query asked for validation: AD (RFC 6840 5.7) and EDNS DO.
  ASSERT_EQ(server_.QueryLog().size(), 1u);
  EXPECT_EQ(server_.QueryLog()[0], name + ". SMIMEA ad do");
}

TEST_F(AuthenticatedLookupTest, AdClearIsNotAuthenticated) {
  std::string der;
  const std::string name = SmimeaOwnerName("bob", "example.test");
  server_.SetRecords({name + " SMIMEA 3 0 0 " + CertificateRecordHex(&der)});
  auto got = Lookup(Trusted(), name);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_FALSE(got->authenticated);
  EXPECT_EQ(got->rdata.size(), 1u);
}

TEST_F(AuthenticatedLookupTest, AdFromUntrustedServerIsNotAuthenticated) {
  server_.SetRecords({"!ad", "_25._tcp.mx.example.test TLSA 3 1 1 abcdef"});
  auto got = Lookup(server_.Options(), "_25._tcp.mx.example.test", kTypeTlsa);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_FALSE(got->authenticated);
  ASSERT_EQ(got->rdata.size(), 1u);
  EXPECT_EQ(got->rdata[0], std::string("\x03\x01\x01\xab\xcd\xef", 6));
}

TEST_F(AuthenticatedLookupTest, NxdomainIsAnAnswer) {
  server_.SetRecords({"!ad", "other.example.test TXT x"});
  auto got = Lookup(Trusted(), "nobody._smimecert.example.test");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_FALSE(got->name_exists);
  EXPECT_TRUE(got->authenticated);
  EXPECT_TRUE(got->rdata.empty());
}

TEST_F(AuthenticatedLookupTest, NodataIsAnAnswer) {
  server_.SetRecords({"!ad", "x._smimecert.example.test TXT not a certificate"});
  auto got = Lookup(Trusted(), "x._smimecert.example.test");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_TRUE(got->name_exists);
  EXPECT_TRUE(got->rdata.empty());
}

TEST_F(AuthenticatedLookupTest, ServfailIsUnavailable) {
  server_.SetRecords({"!ad", "bogus.example.test SERVFAIL"});
  auto got = Lookup(Trusted(), "bogus.example.test");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable) << got.error().ToString();
}

TEST_F(AuthenticatedLookupTest, SilenceTimesOut) {
  server_.SetRecords({"slow.example.test DROP"});
  auto options = Trusted();
  options.timeout = std::chrono::milliseconds(300);
  auto got = Lookup(options, "slow.example.test");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kTimeout) << got.error().ToString();
}

TEST_F(AuthenticatedLookupTest, TrustWithoutConfiguredServersIsAConfigError) {
  ResolverOptions options;
  options.trust_ad = true;
  options.config_key = "workers.discovery.dns.servers";
  auto got = Lookup(options, "x.example.test");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(got.error().message.find("workers.discovery.dns.servers"), std::string::npos);
}

TEST_F(AuthenticatedLookupTest, ACnameChainGivesTheCanonicalName) {
  server_.SetRecords({"!ad", "mx.example.test CNAME a.provider.test",
                      "a.provider.test CNAME b.provider.test", "b.provider.test A 127.0.0.2"});
  constexpr uint16_t kTypeA = 1;
  auto got = Lookup(Trusted(), "MX.example.test", kTypeA);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_TRUE(got->authenticated);
  EXPECT_EQ(got->canonical_name, "b.provider.test");
  EXPECT_EQ(got->rdata.size(), 1u);
  auto plain = Lookup(Trusted(), "b.provider.test", kTypeA);
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_EQ(plain->canonical_name, "b.provider.test");
  // A chain to a name that does not exist: NXDOMAIN, still with the chain's end.
  server_.SetRecords({"!ad", "mx.example.test CNAME gone.provider.test"});
  auto gone = Lookup(Trusted(), "mx.example.test", dns::kTypeTlsa);
  ASSERT_TRUE(gone.ok()) << gone.error().ToString();
  EXPECT_FALSE(gone->name_exists);
  EXPECT_EQ(gone->canonical_name, "gone.provider.test");
}

TEST_F(AuthenticatedLookupTest, ACnameLoopIsCorruption) {
  server_.SetRecords(
      {"a.example.test CNAME b.example.test", "b.example.test CNAME a.example.test"});
  auto got = Lookup(Trusted(), "a.example.test", kTypeTlsa);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kCorruption) << got.error().ToString();
}

TEST(AuthenticatedAnswer, GarbageIsCorruption) {
  auto got = ParseAuthenticatedAnswer("\x01\x02", kTypeSmimea);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kCorruption);
}

}  // namespace
}  // namespace sg::dns
