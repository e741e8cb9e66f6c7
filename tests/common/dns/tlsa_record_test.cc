// TLSA/SMIMEA records (common/dns/tlsa_record.h): RDATA parsing, matching a
// certificate by every selector and matching type, the SMIMEA owner name.
#include "common/dns/tlsa_record.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/test_pki.h"

namespace sg::dns {
namespace {

using ::sg::testing::CertDer;
using ::sg::testing::TestX509;

TestX509 MakeCert(const std::string& cn) {
  auto key = ::sg::testing::MakeEcKey();
  ::sg::testing::CertSpec spec;
  spec.subject = {{"CN", cn}};
  spec.not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  spec.not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
  return ::sg::testing::IssueCert(spec, key.get());
}

std::string Spki(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Digest(const EVP_MD* md, const std::string& in) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), reinterpret_cast<unsigned char*>(out.data()), &len, md, nullptr);
  out.resize(len);
  return out;
}

TlsaRecord Record(uint8_t usage, uint8_t selector, uint8_t matching, std::string data) {
  return TlsaRecord{usage, selector, matching, std::move(data)};
}

TEST(SmimeaOwnerName, Rfc7929Example) {
  // RFC 7929 section 3's example local-part "hugh"; SMIMEA uses the same hash.
  EXPECT_EQ(SmimeaOwnerName("hugh", "example.com"),
            "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert.example.com");
}

TEST(ParseTlsaRdata, ReadsTheFourFields) {
  auto r = ParseTlsaRdata(std::string("\x03\x01\x01", 3) + "abc");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->usage, 3);
  EXPECT_EQ(r->selector, 1);
  EXPECT_EQ(r->matching_type, 1);
  EXPECT_EQ(r->data, "abc");
  EXPECT_FALSE(r->HoldsCertificate());
}

TEST(ParseTlsaRdata, RefusesTruncatedRecords) {
  EXPECT_EQ(ParseTlsaRdata("").error().code, ErrorCode::kCorruption);
  EXPECT_EQ(ParseTlsaRdata(std::string("\x03\x00\x00", 3)).error().code, ErrorCode::kCorruption);
}

// Every selector x matching type matches its own certificate and no other.
TEST(TlsaMatches, EverySelectorAndMatchingType) {
  auto cert = MakeCert("alice");
  auto other = MakeCert("mallory");
  const std::string full = CertDer(cert.get());
  const std::string spki = Spki(cert.get());
  struct Case {
    uint8_t selector;
    uint8_t matching;
    std::string data;
  };
  const std::vector<Case> cases = {
      {0, 0, full}, {0, 1, Digest(EVP_sha256(), full)}, {0, 2, Digest(EVP_sha512(), full)},
      {1, 0, spki}, {1, 1, Digest(EVP_sha256(), spki)}, {1, 2, Digest(EVP_sha512(), spki)},
  };
  for (const auto& c : cases) {
    const auto rec = Record(3, c.selector, c.matching, c.data);
    auto own = TlsaMatches(rec, cert.get());
    ASSERT_TRUE(own.ok());
    EXPECT_TRUE(*own) << int{c.selector} << " " << int{c.matching};
    auto foreign = TlsaMatches(rec, other.get());
    ASSERT_TRUE(foreign.ok());
    EXPECT_FALSE(*foreign) << int{c.selector} << " " << int{c.matching};
  }
}

TEST(TlsaMatches, UnknownSelectorOrMatchingTypeMatchesNothing) {
  auto cert = MakeCert("alice");
  const std::string full = CertDer(cert.get());
  EXPECT_FALSE(*TlsaMatches(Record(3, 2, 0, full), cert.get()));
  EXPECT_FALSE(*TlsaMatches(Record(3, 0, 3, full), cert.get()));
}

TEST(TlsaCertificate, ReturnsTheHeldCertificate) {
  auto cert = MakeCert("alice");
  auto got = TlsaCertificate(Record(3, 0, 0, CertDer(cert.get())));
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  TestX509 owned(*got);
  EXPECT_EQ(X509_cmp(owned.get(), cert.get()), 0);
}

TEST(TlsaCertificate, RefusesDigestsAndGarbage) {
  auto cert = MakeCert("alice");
  const std::string full = CertDer(cert.get());
  EXPECT_EQ(TlsaCertificate(Record(3, 0, 1, full)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(TlsaCertificate(Record(3, 0, 0, "not DER")).error().code, ErrorCode::kCorruption);
  EXPECT_EQ(TlsaCertificate(Record(3, 0, 0, full + "x")).error().code, ErrorCode::kCorruption);
}

}  // namespace
}  // namespace sg::dns
