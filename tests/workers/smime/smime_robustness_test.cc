// Hostile and broken input: every case gets a defined error or status,
// never a crash or a hang.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_cert_cache.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

class Robustness : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = SmimeEngine::Create().value(); }
  VerifyStatus VerifyStatusOf(const std::string& msg) {
    auto r = engine_->Verify(msg, GetTestPki().Trust(), std::time(nullptr));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->status : VerifyStatus::kGood;
  }
  Error DecryptError(const std::string& msg, std::vector<KeyPair> keys = {}) {
    if (keys.empty()) keys = {GetTestPki().alice.Pair(), GetTestPki().bob.Pair()};
    auto r = engine_->Decrypt(msg, keys);
    EXPECT_FALSE(r.ok());
    return r.ok() ? Error{} : r.error();
  }
  std::string Encrypted(bool gcm = false) {
    Recipient r{GetTestPki().alice.cert, gcm};
    return engine_->Encrypt(SampleMessage(), std::span(&r, 1))->message;
  }
  std::string Signed() {
    return engine_->Sign(SampleMessage(), GetTestPki().alice.Signer()).value();
  }
  // Replaces the DER of a p7m message / the signature of a signed message.
  static std::string WithDer(const std::string& der) {
    return WrapP7m("x@example.net", der, "enveloped-data");
  }
  static std::string WithSig(const std::string& msg, const std::string& der) {
    DetachedParts p = ExtractDetached(msg);
    return WrapDetached("alice@example.com", p.content, der);
  }
  static void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  std::unique_ptr<SmimeEngine> engine_;
};

TEST_F(Robustness, TruncatedCms) {
  std::string der = ExtractP7m(Encrypted());
  for (size_t cut : {size_t{1}, size_t{10}, der.size() / 2, der.size() - 1}) {
    EXPECT_EQ(DecryptError(WithDer(der.substr(0, cut))).code, ErrorCode::kCorruption) << cut;
  }
  std::string s = Signed();
  DetachedParts p = ExtractDetached(s);
  EXPECT_EQ(VerifyStatusOf(WithSig(s, p.der.substr(0, p.der.size() / 2))),
            VerifyStatus::kMalformed);
}

TEST_F(Robustness, TamperedAuthEnvelopedDataFailsIntegrity) {
  std::string der = ExtractP7m(Encrypted(true));
  der[der.size() - 40] ^= 0x01;  // inside the ciphertext or tag
  Error e = DecryptError(WithDer(der));
  EXPECT_EQ(e.code, ErrorCode::kCorruption) << e.message;
}

TEST_F(Robustness, WrongKeyForRecipientCertificate) {
  const auto& pki = GetTestPki();
  Error e = DecryptError(Encrypted(), {KeyPair{pki.carol.key, pki.alice.cert}});
  EXPECT_EQ(e.code, ErrorCode::kCorruption) << e.message;
}

TEST_F(Robustness, UnknownAlgorithms) {
  // id-sha256 2.16.840.1.101.3.4.2.1 -> an unassigned arc.
  const std::string sha256("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01", 11);
  const std::string bogus_md("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x7f", 11);
  std::string s = Signed();
  std::string sig = ExtractDetached(s).der;
  ReplaceAll(sig, sha256, bogus_md);
  EXPECT_EQ(VerifyStatusOf(WithSig(s, sig)), VerifyStatus::kUnsupported);
  // id-aes256-CBC 2.16.840.1.101.3.4.1.42 -> an unassigned arc.
  const std::string aes("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x2a", 11);
  const std::string bogus_cipher("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x7f", 11);
  std::string der = ExtractP7m(Encrypted());
  ReplaceAll(der, aes, bogus_cipher);
  Error e = DecryptError(WithDer(der));
  EXPECT_EQ(e.code, ErrorCode::kUnsupported) << e.message;
}

TEST_F(Robustness, AbsurdDerNestingIsRejectedQuickly) {
  std::string der;
  for (int i = 0; i < 200000; ++i) der += std::string("\x30\x80", 2);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(DecryptError(WithDer(der)).code, ErrorCode::kCorruption);
  EXPECT_EQ(VerifyStatusOf(WithSig(Signed(), der)), VerifyStatus::kMalformed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(Robustness, EnormousHeaderIsAResourceError) {
  std::string msg = "Subject: " + std::string(2u << 20, 'h') + "\r\n" + SampleMessage();
  auto v = engine_->Verify(msg, GetTestPki().Trust(), std::time(nullptr));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kResourceExhausted);
  auto s = engine_->Sign(msg, GetTestPki().alice.Signer());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(DecryptError(msg).code, ErrorCode::kResourceExhausted);
}

TEST_F(Robustness, EnormousLineIsEncodedAndSigned) {
  std::string body(8u << 20, 'z');
  auto start = std::chrono::steady_clock::now();
  auto s = engine_->Sign(SampleMessage("alice@example.com", body), GetTestPki().alice.Signer());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(VerifyStatusOf(*s), VerifyStatus::kGood);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(Robustness, BrokenStructure) {
  EXPECT_EQ(DecryptError("").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecryptError(SampleMessage()).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecryptError(WrapP7m("x@y", "", "enveloped-data")).code, ErrorCode::kCorruption);
  std::string bad_b64 =
      "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n";
  EXPECT_EQ(DecryptError(bad_b64).code, ErrorCode::kCorruption);
  EXPECT_EQ(VerifyStatusOf(""), VerifyStatus::kNotSigned);
  std::string no_boundary =
      "From: a@b\r\nContent-Type: multipart/signed; "
      "protocol=\"application/pkcs7-signature\"\r\n\r\nx";
  EXPECT_EQ(VerifyStatusOf(no_boundary), VerifyStatus::kMalformed);
  std::string one_part =
      "From: a@b\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
      " boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nhi\r\n--q--\r\n";
  EXPECT_EQ(VerifyStatusOf(one_part), VerifyStatus::kMalformed);
  // A signed message whose signature part is an encrypted CMS.
  std::string s = Signed();
  EXPECT_EQ(VerifyStatusOf(WithSig(s, ExtractP7m(Encrypted()))), VerifyStatus::kNotSigned);
  // Signed data claimed to be enveloped.
  std::string signed_der = ExtractDetached(s).der;
  EXPECT_EQ(DecryptError(WithDer(signed_der)).code, ErrorCode::kInvalidArgument);
}

TEST_F(Robustness, SignatureWithoutSignerCertificate) {
  const auto& pki = GetTestPki();
  std::string entity = SampleEntity("no certs inside");
  std::string dir = MakeTempDir("sgnocert");
  WriteFile(dir + "/e.txt", entity);
  std::string log;
  ASSERT_EQ(
      RunTool("openssl cms -sign -binary -nocerts -outform DER -in " + dir + "/e.txt -signer " +
                  pki.alice.cert_path + " -inkey " + pki.alice.key_path + " -out " + dir + "/s.der",
              &log),
      0)
      << log;
  std::string msg = WrapDetached("alice@example.com", entity, ReadFile(dir + "/s.der"));
  EXPECT_EQ(VerifyStatusOf(msg), VerifyStatus::kNoSignerCert);
  RemoveTree(dir);
}

TEST_F(Robustness, CertificatesAreLiftedOutOfTheCmsAndCached) {
  std::string der = ExtractDetached(Signed()).der;
  std::vector<std::string_view> certs;
  auto stripped = internal::StripCertificates(der, &certs);
  ASSERT_TRUE(stripped.has_value());
  ASSERT_EQ(certs.size(), 2u);  // alice and the intermediate
  EXPECT_LT(stripped->size(), der.size());
  auto cms = internal::CmsFromDer(*stripped);
  ASSERT_TRUE(cms.ok()) << cms.error().ToString();
  STACK_OF(X509)* left = CMS_get1_certs(cms->get());
  EXPECT_TRUE(left == nullptr || sk_X509_num(left) == 0);
  sk_X509_pop_free(left, X509_free);
  X509Ptr a = internal::CachedCertificate(certs[0]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.get(), internal::CachedCertificate(certs[0]).get());  // parsed once
  EXPECT_FALSE(internal::CachedCertificate("not a certificate"));
  // Truncations never get past the rewriter with a wrong shape.
  for (size_t cut = 0; cut < der.size(); cut += 97) {
    std::vector<std::string_view> c;
    EXPECT_FALSE(internal::StripCertificates(der.substr(0, cut), &c).has_value());
  }
}

TEST_F(Robustness, IndefiniteLengthBerStillVerifies) {
  // `openssl cms -stream` writes BER with indefinite lengths, as Outlook and
  // NSS do: the certificate rewriter follows them (smime_der.h), and the
  // result verifies.
  const auto& pki = GetTestPki();
  std::string dir = MakeTempDir("sgber");
  WriteFile(dir + "/e.txt", SampleEntity("streamed"));
  std::string log;
  ASSERT_EQ(RunTool("openssl cms -sign -nodetach -stream -binary -outform DER -in " + dir +
                        "/e.txt -signer " + pki.alice.cert_path + " -inkey " + pki.alice.key_path +
                        " -certfile " + pki.chain_path + " -out " + dir + "/s.der",
                    &log),
            0)
      << log;
  std::string der = ReadFile(dir + "/s.der");
  std::vector<std::string_view> certs;
  EXPECT_TRUE(internal::StripCertificates(der, &certs).has_value());
  EXPECT_EQ(certs.size(), 2u);  // alice and the intermediate
  EXPECT_EQ(VerifyStatusOf(WrapP7m("alice@example.com", der, "signed-data")), VerifyStatus::kGood);
  RemoveTree(dir);
}

}  // namespace
}  // namespace sg::smime
