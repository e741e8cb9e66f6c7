// Certificate parsing: what the keyservice stores and fingerprints is the
// DER it was given.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "keyservice/keyservice_x509.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

TEST(ParseCertificateDerTest, ACanonicalCertificateReEncodesToItself) {
  auto ca = testing::MakeCa("Parse CA", std::chrono::system_clock::now());
  auto cert = ParseCertificateDer(ca.der);
  ASSERT_TRUE(cert.ok()) << cert.error().ToString();
  EXPECT_EQ(*CertificateToDer(cert->get()), ca.der);
}

// Found by the keyservice_certs fuzz target: set padding bits in the
// signature's BIT STRING. OpenSSL parses it and re-encodes one bit
// differently, so the stored DER and its fingerprint would not be the
// certificate that arrived.
TEST(ParseCertificateDerTest, ANonCanonicalEncodingIsRefused) {
  const std::string der =
      ReadFile(std::string(SG_KEYSERVICE_CORPUS) + "/fuzz_signature_padding_bits");
  ASSERT_FALSE(der.empty());
  auto cert = ParseCertificateDer(der);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(cert.error().message.find("does not re-encode"), std::string::npos)
      << cert.error().message;
  EXPECT_EQ(OpenSslError(), "") << "no error left on the queue";
}

}  // namespace
}  // namespace sg::keyservice
