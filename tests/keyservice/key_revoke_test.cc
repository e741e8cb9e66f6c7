// Revocation of our own certificates: `smimegatectl key revoke` (KeyServiceImpl::
// RevokeKey), revocation on user removal, and the built-in CA's CRL
// (BuiltinCa::Revoke / CrlDer) checked with OpenSSL's API and with
// `openssl crl` / `openssl verify -crl_check`.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdlib>

#include "keyservice/builtin_ca_crl.h"
#include "keyservice/key_service_impl.h"
#include "keyservice/keyservice_x509.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;
using testing::TempDir;
using testing::TestConfig;
using testing::WriteFile;

struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

CrlPtr ParseCrl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));  // NOLINT(google-runtime-int)
}

// The CRLReason of |cert|'s entry in |crl|; -1 when not listed.
int ListedReason(X509_CRL* crl, const std::string& cert_der) {
  auto cert = ParseCertificateDer(cert_der);
  if (!cert.ok()) return -2;
  X509_REVOKED* entry = nullptr;
  if (X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert->get())) != 1) return -1;
  auto* code = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr));
  const int reason = code != nullptr ? static_cast<int>(ASN1_ENUMERATED_get(code)) : 0;
  ASN1_ENUMERATED_free(code);
  return reason;
}

std::string Pem(const std::string& cert_der) {
  auto cert = ParseCertificateDer(cert_der);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert->get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int)
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

int Shell(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* f = popen(full.c_str(), "r");  // NOLINT(cert-env33-c): the test runs the openssl CLI
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) output->append(buf.data(), n);
  return pclose(f);
}

class KeyRevokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = TestConfig(dir_.path());
    config_.ca.crl_url = "http://gateway.example.com:9464/ca.crl";
    Open();
    ASSERT_TRUE(ks_->PutUsers({User{"alice@example.com", true, ""}}).ok());
  }
  void Open() {
    ks_.reset();
    auto r = KeyServiceImpl::Open(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
  }
  std::string CurrentCert() {
    auto id = ks_->GetSigningIdentity("alice@example.com");
    EXPECT_TRUE(id.ok() && id->has_value());
    return (id.ok() && id->has_value()) ? (*id)->certificate_der : "";
  }
  CrlPtr Crl() {
    auto der = ks_->CaCrl();
    EXPECT_TRUE(der.ok()) << der.error().ToString();
    return der.ok() ? ParseCrl(*der) : nullptr;
  }

  TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(KeyRevokeTest, RevokeRecordsTheSerialInTheCrlAndRollsTheKeyOver) {
  const std::string before = CurrentCert();
  CrlPtr empty = Crl();
  ASSERT_TRUE(empty);
  EXPECT_EQ(ListedReason(empty.get(), before), -1);

  auto r = ks_->RevokeKey("Alice@Example.com", "keyCompromise");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->revoked_fingerprint, Fingerprint(before));
  const std::string after = CurrentCert();
  EXPECT_NE(after, before) << "a new key signs from now on";
  EXPECT_EQ(Fingerprint(after), r->replacement.fingerprint);
  EXPECT_EQ(ks_->GetDecryptionKeys("alice@example.com")->size(), 2u)
      << "the revoked key still opens mail already sent to it";

  CrlPtr crl = Crl();
  ASSERT_TRUE(crl);
  EXPECT_EQ(ListedReason(crl.get(), before), 1) << "keyCompromise";
  EXPECT_EQ(ListedReason(crl.get(), after), -1);
  // Signed by the issuing CA, names it, nextUpdate a week on (crl_next_update).
  auto issuing = ParseCertificateDer(ks_->CaExport()->issuing_der);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(issuing->get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuing->get())), 0);
  int days = 0;
  int secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_CRL_get0_lastUpdate(crl.get()),
                           X509_CRL_get0_nextUpdate(crl.get())), 1);
  EXPECT_EQ(days, 7);

  // Issued certificates name the configured distribution point.
  auto cert = ParseCertificateDer(after);
  auto* dps = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert->get(), NID_crl_distribution_points, nullptr, nullptr));
  ASSERT_NE(dps, nullptr);
  CRL_DIST_POINTS_free(dps);
}

TEST_F(KeyRevokeTest, OpensslVerifyWithCrlCheckSeesTheRevokedSerial) {
  const std::string before = CurrentCert();
  ASSERT_TRUE(ks_->RevokeKey("alice@example.com", "superseded").ok());
  const std::string after = CurrentCert();
  auto ca = ks_->CaExport();
  auto crl_der = ks_->CaCrl();
  ASSERT_TRUE(crl_der.ok());
  const auto d = dir_.path();
  WriteFile(d / "root.pem", Pem(ca->root_der));
  WriteFile(d / "issuing.pem", Pem(ca->issuing_der));
  WriteFile(d / "revoked.pem", Pem(before));
  WriteFile(d / "current.pem", Pem(after));
  WriteFile(d / "ca.crl", *crl_der);
  std::string out;
  ASSERT_EQ(Shell("openssl crl -inform DER -in " + (d / "ca.crl").string() + " -noout -text", &out), 0)
      << out;
  auto cert = ParseCertificateDer(before);
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr);
  char* hex = BN_bn2hex(bn);
  EXPECT_NE(out.find(std::string("Serial Number: ") + hex), std::string::npos) << out;
  EXPECT_NE(out.find("Superseded"), std::string::npos) << out;
  OPENSSL_free(hex);
  BN_free(bn);
  ASSERT_EQ(Shell("openssl crl -inform DER -in " + (d / "ca.crl").string() + " -out " +
                    (d / "ca.crl.pem").string(), &out), 0);
  const std::string verify = "openssl verify -crl_check -CAfile " + (d / "root.pem").string() +
                             " -untrusted " + (d / "issuing.pem").string() + " -CRLfile " +
                             (d / "ca.crl.pem").string() + " ";
  out.clear();
  EXPECT_NE(Shell(verify + (d / "revoked.pem").string(), &out), 0);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(Shell(verify + (d / "current.pem").string(), &out), 0) << out;
}

TEST_F(KeyRevokeTest, RevocationsSurviveARestartAndTheCrlIsRemadeBeforeItGoesStale) {
  const std::string before = CurrentCert();
  ASSERT_TRUE(ks_->RevokeKey("alice@example.com", "keyCompromise").ok());
  Open();
  CrlPtr first = Crl();
  ASSERT_TRUE(first);
  EXPECT_EQ(ListedReason(first.get(), before), 1);
  auto number = [](X509_CRL* c) {
    auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(c, NID_crl_number, nullptr, nullptr));
    const long v = n != nullptr ? ASN1_INTEGER_get(n) : -1;  // NOLINT(google-runtime-int)
    ASN1_INTEGER_free(n);
    return v;
  };
  const long n1 = number(first.get());  // NOLINT(google-runtime-int)
  EXPECT_GT(n1, 0);
  clock_.Advance(24h * 2);  // less than half of the week: the same CRL
  EXPECT_EQ(number(Crl().get()), n1);
  clock_.Advance(24h * 2);  // past half: a new one, with a higher number
  CrlPtr later = Crl();
  EXPECT_GT(number(later.get()), n1);
  EXPECT_EQ(ListedReason(later.get(), before), 1);
}

TEST_F(KeyRevokeTest, RemovingAUserRevokesTheirCertificates) {
  const std::string cert = CurrentCert();
  ASSERT_TRUE(ks_->RemoveUser("alice@example.com").ok());
  CrlPtr crl = Crl();
  ASSERT_TRUE(crl);
  EXPECT_EQ(ListedReason(crl.get(), cert), 5) << "cessationOfOperation";
}

TEST_F(KeyRevokeTest, BadRequestsChangeNothing) {
  const std::string before = CurrentCert();
  EXPECT_EQ(ks_->RevokeKey("alice@example.com", "certificateHold").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ks_->RevokeKey("alice@example.com", "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ks_->RevokeKey("nobody@example.com", "keyCompromise").error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(ks_->PutUsers({User{"bob@example.com", true, ""}}).ok());
  EXPECT_EQ(ks_->RevokeKey("bob@example.com", "keyCompromise").error().code, ErrorCode::kNotFound)
      << "no certificate yet";
  EXPECT_EQ(CurrentCert(), before);
  EXPECT_EQ(ListedReason(Crl().get(), before), -1);
}

TEST(CrlReason, NamesAndCodes) {
  EXPECT_EQ(*CrlReasonCode("keyCompromise"), 1);
  EXPECT_EQ(*CrlReasonCode("superseded"), 4);
  EXPECT_EQ(*CrlReasonCode("cessationOfOperation"), 5);
  EXPECT_FALSE(CrlReasonCode("removeFromCRL").ok());
  EXPECT_EQ(CrlReasonName(1), "keyCompromise");
}

}  // namespace
}  // namespace sg::keyservice
