// Certificate checks of the keyservice (trust_store.h) that the harvest of
// certificates from internet mail relies on.
#include "keyservice/trust_store.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;

// A certificate from the internet names whatever its maker wants, line
// breaks included (rfc822Name is an IA5String). The reason ends up in the
// worker's log line and in smimegatectl's output: it must stay one line.
// Found by the keyservice_certs fuzz target
// (tests/keyservice/corpus/keyservice_certs/fuzz_control_chars_in_san).
TEST(CheckLeaf, NamesFromTheCertificateCannotForgeLogLines) {
  auto now = std::chrono::system_clock::now();
  auto ca = testing::MakeCa("Partner CA", now);
  testing::LeafOptions o;
  o.email = "bob@partner.example\r\n2026-12-06 [info] forged\x1b[0m";
  o.not_before = now - 24h;
  o.not_after = now + 24h * 30;
  auto cert = ParseCertificateDer(testing::MakeLeaf(ca, o));
  ASSERT_TRUE(cert.ok());
  Validation v = CheckLeaf(cert->get(), "eve@partner.example", now);
  EXPECT_EQ(v.verdict, Verdict::kRejected);
  EXPECT_EQ(v.reason.find_first_of("\r\n\x1b"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("does not name eve@partner.example"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("bob@partner.example\\x0d\\x0a2026"), std::string::npos) << v.reason;
}


// The public key inside a certificate is only decoded when first used; a
// certificate whose key does not decode is refused when parsed (not stored,
// not left to fail at encryption time), and no OpenSSL error is left on the
// thread's queue for an unrelated later call to report. Found by the
// keyservice_certs fuzz target
// (tests/keyservice/corpus/keyservice_certs/fuzz_undecodable_public_key).
TEST(ParseCertificateDer, UndecodablePublicKeyIsRefusedCleanly) {
  auto now = std::chrono::system_clock::now();
  auto ca = testing::MakeCa("Partner CA", now);
  testing::LeafOptions o;
  o.email = "bob@partner.example";
  o.not_before = now - 24h;
  o.not_after = now + 24h * 30;
  std::string der = testing::MakeLeaf(ca, o);
  // RSAPublicKey ::= SEQUENCE { modulus (2048 bits), ... }: make it a SET.
  const std::string rsa_key("\x30\x82\x01\x0a\x02\x82\x01\x01", 8);
  size_t at = der.find(rsa_key);
  ASSERT_NE(at, std::string::npos);
  der[at] = '\x31';
  ERR_clear_error();
  auto cert = ParseCertificateDer(der);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(cert.error().message.find("public key"), std::string::npos) << cert.error().message;
  EXPECT_EQ(ERR_peek_error(), 0u);
}


// A malformed extension is ignored by OpenSSL's checks (the certificate
// gets EXFLAG_INVALID): a mailbox certificate with one is refused by name,
// and the check leaves no OpenSSL error behind. Found by the
// keyservice_certs fuzz target
// (tests/keyservice/corpus/keyservice_certs/fuzz_malformed_authority_key_id).
TEST(CheckLeaf, MalformedExtensionIsRefusedCleanly) {
  auto now = std::chrono::system_clock::now();
  auto ca = testing::MakeCa("Partner CA", now);
  testing::LeafOptions o;
  o.email = "bob@partner.example";
  o.not_before = now - 24h;
  o.not_after = now + 24h * 30;
  std::string der = testing::MakeLeaf(ca, o);
  // authorityKeyIdentifier (2.5.29.35) OCTET STRING { SEQUENCE ... }: make it a SET.
  size_t at = der.find(std::string("\x06\x03\x55\x1d\x23\x04", 6));
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(der[at + 7], '\x30');
  der[at + 7] = '\x31';
  auto cert = ParseCertificateDer(der);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  ERR_clear_error();
  Validation v = CheckLeaf(cert->get(), "bob@partner.example", now);
  EXPECT_EQ(v.verdict, Verdict::kRejected);
  EXPECT_EQ(v.reason, "has a malformed extension");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace sg::keyservice
