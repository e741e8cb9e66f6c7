// PKCS#12 import decodes legacy files (RC2-40, 3DES) in a private OpenSSL
// library context: the process's default context, which the mail path
// uses, must never gain the legacy algorithms (issue 13, point 2).
#include "keyservice/pkcs12_import.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;

bool DefaultContextHas(const char* cipher) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, cipher, nullptr);
  EVP_CIPHER_free(c);
  return c != nullptr;
}

// |der| in one PEM block named |label|, as GnuTLS's certtool armours a PFX.
std::string Armour(const std::string& der, const char* label) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio(bio, label, "", reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

class Pkcs12ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto now = std::chrono::system_clock::now();
    ca_ = testing::MakeCa("Import CA", now);
    testing::LeafOptions lo;
    lo.email = "alice@example.com";
    lo.not_before = now - 1h;
    lo.not_after = now + 24h;
    cert_ = testing::MakeLeaf(ca_, lo, &key_);
  }
  testing::TempDir dir_;
  testing::TestCa ca_;
  PkeyPtr key_;
  std::string cert_;
};

TEST_F(Pkcs12ImportTest, LegacyFileParsesWithoutLegacyAlgorithmsInTheDefaultContext) {
  ASSERT_TRUE(Pkcs12LegacyAvailable()) << "the OpenSSL legacy provider is not installed";
  std::string p12 = testing::MakePkcs12(cert_, key_.get(), "pw", /*legacy=*/true, dir_.path());
  auto parsed = ParsePkcs12(p12, "pw");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(EVP_PKEY_eq(parsed->key.get(), key_.get()), 1);
  EXPECT_EQ(*CertificateToDer(parsed->certificate.get()), cert_);
  // The key that came out is usable in the default context.
  EXPECT_TRUE(CertificateMatchesKey(parsed->certificate.get(), parsed->key.get()));
  EXPECT_FALSE(DefaultContextHas("RC2-CBC"));
  EXPECT_FALSE(DefaultContextHas("RC2-40-CBC"));
  EXPECT_FALSE(DefaultContextHas("DES-CBC"));
  EXPECT_TRUE(DefaultContextHas("AES-256-GCM"));  // the default provider is still there
  EXPECT_EQ(ParsePkcs12(p12, "wrong").error().code, ErrorCode::kPermissionDenied);
}

TEST_F(Pkcs12ImportTest, TheKeyserviceNeverLoadsTheLegacyProviderIntoTheDefaultContext) {
  auto config = testing::TestConfig(dir_.path());
  metrics::Registry registry;
  SystemClock clock;
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  std::string p12 = testing::MakePkcs12(cert_, key_.get(), "pw", /*legacy=*/true, dir_.path());
  auto imported = (*ks)->ImportKey("alice@example.com", p12, "pw");
  ASSERT_TRUE(imported.ok()) << imported.error().ToString();
  EXPECT_FALSE(DefaultContextHas("RC2-CBC"));
  EXPECT_FALSE(DefaultContextHas("DES-CBC"));
}

TEST_F(Pkcs12ImportTest, ModernFileAndGarbage) {
  std::string p12 = testing::MakePkcs12(cert_, key_.get(), "pw", /*legacy=*/false, dir_.path());
  auto parsed = ParsePkcs12(p12, "pw");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(EVP_PKEY_eq(parsed->key.get(), key_.get()), 1);
  EXPECT_EQ(ParsePkcs12("not a pfx", "pw").error().code, ErrorCode::kInvalidArgument);
}

// "-----BEGIN PKCS12-----" armour around a legacy (RC2-40 / 3DES) PFX, the
// form of the autocrypt protected-headers example keys: imported as is.
TEST_F(Pkcs12ImportTest, ArmouredFileImportsAsIs) {
  const std::string der =
      testing::MakePkcs12(cert_, key_.get(), "pw", /*legacy=*/true, dir_.path());
  const std::string pem = Armour(der, "PKCS12");
  ASSERT_TRUE(pem.starts_with("-----BEGIN PKCS12-----\n")) << pem;
  auto parsed = ParsePkcs12("\n" + pem, "pw");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(EVP_PKEY_eq(parsed->key.get(), key_.get()), 1);
  EXPECT_EQ(*CertificateToDer(parsed->certificate.get()), cert_);
  EXPECT_EQ(ParsePkcs12(pem, "wrong").error().code, ErrorCode::kPermissionDenied);
  // Another PEM block, or a broken armour: a specific error, nothing imported.
  auto cert = ParsePkcs12(Armour(cert_, "CERTIFICATE"), "pw");
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(cert.error().message.find("\"CERTIFICATE\" block"), std::string::npos)
      << cert.error().message;
  auto broken = ParsePkcs12("-----BEGIN PKCS12-----\n!!!\n-----END PKCS12-----\n", "pw");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kInvalidArgument);
  // Through the keyservice's import, as `smimegatectl key import` sends it.
  auto config = testing::TestConfig(dir_.path());
  metrics::Registry registry;
  SystemClock clock;
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  auto imported = (*ks)->ImportKey("alice@example.com", pem, "pw");
  EXPECT_TRUE(imported.ok()) << imported.error().ToString();
}

}  // namespace
}  // namespace sg::keyservice
