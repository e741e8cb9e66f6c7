// The engine's inbound rules (issues 13 and 15) on structures made by
// `openssl cms`: every SignerInfo verified on its own, the digest policy
// (MD5 never, SHA-1 only when allowed), ambiguous headers, the content
// cipher allow-list (no RC2/DES, 3DES only when allowed), RSA-PSS and
// RSA-OAEP, CBC output that is not MIME, and the envelope digests the
// failure guard keys on.
#include <gtest/gtest.h>
#include <openssl/cms.h>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_wellformed.h"

namespace sg::smime {
namespace {

using namespace testing;  // NOLINT: test helpers

class InboundRules : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = SmimeEngine::Create().value();
    dir_ = MakeTempDir("sgrules");
    WriteFile(Path("entity.txt"), SampleEntity("Hello from openssl cms"));
  }
  void TearDown() override { RemoveTree(dir_); }
  std::string Path(const std::string& f) { return dir_ + "/" + f; }
  std::string Headers(const std::string& from) {
    return "From: " + from + "\nTo: x@example.net\nSubject: rules\nDate: " + DateNow() + "\n";
  }
  // openssl cms -sign with |args|; the message From |from|.
  std::string OpensslSigned(const std::string& from, const std::string& args) {
    std::string log;
    EXPECT_EQ(RunTool("openssl cms -sign -in " + Path("entity.txt") + " " + args + " -certfile " +
                          GetTestPki().chain_path + " -out " + Path("sig.eml"),
                      &log),
              0)
        << log;
    return Headers(from) + ReadFile(Path("sig.eml"));
  }
  std::string Signer(const TestIdentity& id) {
    return " -signer " + id.cert_path + " -inkey " + id.key_path;
  }
  // openssl cms -encrypt to alice with |args| (cipher, key options).
  std::string OpensslEncrypted(const std::string& args, const std::string& entity_file = "",
                               const std::string& keyopt = "") {
    std::string log;
    const std::string in = entity_file.empty() ? Path("entity.txt") : entity_file;
    EXPECT_EQ(RunTool("openssl cms -encrypt -in " + in + " " + args + " -out " +
                          Path("enc.eml") + " -recip " + GetTestPki().alice.cert_path + keyopt,
                      &log),
              0)
        << log;
    return Headers("carol@example.org") + ReadFile(Path("enc.eml"));
  }
  VerifyResult Verify(const std::string& msg, VerifyOptions options = {}) {
    return engine_->Verify(msg, GetTestPki().Trust(), std::time(nullptr), options).value();
  }
  Result<DecryptResult> Decrypt(const std::string& msg, DecryptOptions options = {}) {
    std::vector<KeyPair> keys{GetTestPki().alice.Pair()};
    return engine_->Decrypt(msg, keys, options);
  }
  std::unique_ptr<SmimeEngine> engine_;
  std::string dir_;
};

// Flips one byte of the signature value of |signer|'s SignerInfo in an
// application/pkcs7-mime (opaque) message.
std::string BreakSignerInfo(const std::string& msg, const TestIdentity& signer) {
  MimeEntity top = ParseEntity(msg, MimeLimits{}).value();
  std::string der = Base64Decode(top.body).value();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size()));
  EXPECT_NE(cms, nullptr);
  CMS_SignerInfo* si = nullptr;
  for (int i = 0; i < sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)); ++i) {
    CMS_SignerInfo* s = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), i);
    if (CMS_SignerInfo_cert_cmp(s, signer.cert.get()) == 0) si = s;
  }
  EXPECT_NE(si, nullptr);
  ASN1_OCTET_STRING* sig = CMS_SignerInfo_get0_signature(si);
  std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                    static_cast<size_t>(ASN1_STRING_length(sig)));
  CMS_ContentInfo_free(cms);
  size_t at = der.find(value);
  EXPECT_NE(at, std::string::npos);
  der[at + 10] = static_cast<char>(der[at + 10] ^ 0x01);
  return std::string(top.header_block) + "\n" + Base64Encode(der);
}

TEST_F(InboundRules, EverySignerInfoIsVerifiedAndTheFromSignerDecides) {
  const auto& pki = GetTestPki();
  // Two signers, alice (From) and bob, opaque so each signature can be broken.
  const std::string both = OpensslSigned(
      pki.alice.email, Signer(pki.alice) + Signer(pki.bob) + " -nodetach");
  VerifyResult v = Verify(both);
  ASSERT_EQ(v.signers.size(), 2u);
  EXPECT_EQ(v.status, VerifyStatus::kGood) << v.detail;
  EXPECT_EQ(v.signers[0].status, VerifyStatus::kGood);
  EXPECT_EQ(v.signers[1].status, VerifyStatus::kGood);
  // DER sorts the SignerInfos: find each by its certificate.
  auto index_of = [](const VerifyResult& r, const TestIdentity& id) {
    for (size_t i = 0; i < r.signers.size(); ++i) {
      if (X509_cmp(r.signers[i].cert.get(), id.cert.get()) == 0) return i;
    }
    return r.signers.size();
  };

  // bob's signature broken: alice (bound to From) still verifies; bob's
  // failure is reported, not hidden.
  VerifyResult b = Verify(BreakSignerInfo(both, pki.bob));
  EXPECT_EQ(b.status, VerifyStatus::kGood) << b.detail;
  EXPECT_EQ(b.principal, index_of(b, pki.alice));
  EXPECT_EQ(b.signers[index_of(b, pki.bob)].status, VerifyStatus::kBadSignature);

  // alice's signature broken: the signer bound to From fails -> invalid,
  // although bob's is fine.
  VerifyResult a = Verify(BreakSignerInfo(both, pki.alice));
  EXPECT_EQ(a.status, VerifyStatus::kBadSignature) << a.detail;
  EXPECT_EQ(a.signers[index_of(a, pki.bob)].status, VerifyStatus::kGood);

  // From names someone who did not sign.
  VerifyResult w = Verify(OpensslSigned("carol@example.org", Signer(pki.alice) + Signer(pki.bob)));
  EXPECT_EQ(w.status, VerifyStatus::kWrongAddress);
}

TEST_F(InboundRules, Md5NeverAndSha1OnlyWhenAllowed) {
  const auto& pki = GetTestPki();
  VerifyResult sha1 = Verify(OpensslSigned(pki.alice.email, Signer(pki.alice) + " -md sha1"));
  EXPECT_EQ(sha1.status, VerifyStatus::kWeakDigest) << sha1.detail;
  VerifyOptions allow;
  allow.allow_sha1 = true;
  VerifyResult sha1_ok =
      Verify(OpensslSigned(pki.alice.email, Signer(pki.alice) + " -md sha1"), allow);
  EXPECT_EQ(sha1_ok.status, VerifyStatus::kGood) << sha1_ok.detail;
  EXPECT_TRUE(sha1_ok.signers[0].weak);
  EXPECT_EQ(sha1_ok.signers[0].digest, "sha1");
  VerifyResult md5 = Verify(OpensslSigned(pki.alice.email, Signer(pki.alice) + " -md md5"), allow);
  EXPECT_EQ(md5.status, VerifyStatus::kWeakDigest) << md5.detail;
  VerifyResult sha512 = Verify(OpensslSigned(pki.alice.email, Signer(pki.alice) + " -md sha512"));
  EXPECT_EQ(sha512.status, VerifyStatus::kGood) << sha512.detail;
}

TEST_F(InboundRules, RsaPssSignaturesFromOpensslVerify) {
  const auto& pki = GetTestPki();
  VerifyResult v = Verify(
      OpensslSigned(pki.alice.email, Signer(pki.alice) + " -keyopt rsa_padding_mode:pss"));
  EXPECT_EQ(v.status, VerifyStatus::kGood) << v.detail;
}

TEST_F(InboundRules, AmbiguousHeadersMakeASignatureInvalid) {
  const auto& pki = GetTestPki();
  const std::string good = OpensslSigned(pki.alice.email, Signer(pki.alice));
  ASSERT_EQ(Verify(good).status, VerifyStatus::kGood);
  // A second From, Subject or Content-Type, or a boundary given twice.
  EXPECT_EQ(Verify("From: mallory@example.net\n" + good).status, VerifyStatus::kMalformed);
  EXPECT_EQ(Verify("Subject: other\n" + good).status, VerifyStatus::kMalformed);
  std::string ct = good;
  size_t at = ct.find("Content-Type: multipart/signed");
  ct.insert(at, "Content-Type: text/plain\n");
  EXPECT_EQ(Verify(ct).status, VerifyStatus::kMalformed);
  std::string boundary = good;
  at = boundary.find("boundary=");
  boundary.insert(at, "boundary=\"x\"; ");
  VerifyResult b = Verify(boundary);
  EXPECT_EQ(b.status, VerifyStatus::kMalformed) << b.detail;
  EXPECT_NE(b.detail.find("boundary"), std::string::npos);
}

TEST_F(InboundRules, ContentCipherAllowList) {
  // AES in CBC and GCM, RSA PKCS#1 v1.5 and OAEP: decrypted.
  for (const std::string args : {"-aes128", "-aes256", "-aes-256-gcm"}) {
    auto d = Decrypt(OpensslEncrypted(args));
    EXPECT_TRUE(d.ok()) << args << ": " << d.error().ToString();
  }
  auto oaep = Decrypt(OpensslEncrypted("-aes256", "", " -keyopt rsa_padding_mode:oaep"));
  EXPECT_TRUE(oaep.ok()) << oaep.error().ToString();
  // 3DES only with the switch.
  const std::string des3 = OpensslEncrypted("-des3");
  auto refused = Decrypt(des3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnsupported);
  DecryptOptions allow;
  allow.allow_3des = true;
  EXPECT_TRUE(Decrypt(des3, allow).ok());
  // DES and RC2 (40 to 128 bit): never, whatever providers are loaded.
  for (const std::string args : {"-des", "-rc2-40-cbc", "-rc2-64-cbc", "-rc2"}) {
    auto d = Decrypt(OpensslEncrypted(args + " -provider legacy -provider default"), allow);
    ASSERT_FALSE(d.ok()) << args;
    EXPECT_EQ(d.error().code, ErrorCode::kUnsupported) << args << ": " << d.error().ToString();
  }
}

TEST_F(InboundRules, CbcOutputThatIsNotMimeIsNotReturned) {
  // Content without a header block (openssl cms of a bare text file).
  WriteFile(Path("bare.txt"), "just text, no header\n");
  auto bare = Decrypt(OpensslEncrypted("-aes256 -binary", Path("bare.txt")));
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code, ErrorCode::kCorruption);
  // The same with GCM has integrity: it is returned (the check is for CBC).
  EXPECT_TRUE(Decrypt(OpensslEncrypted("-aes-256-gcm -binary", Path("bare.txt"))).ok());
}

TEST_F(InboundRules, AmbiguousDecryptedContentIsRefusedWithGcmToo) {
  WriteFile(Path("dup.txt"),
            "Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\n<b>which one?</b>\r\n");
  for (const std::string cipher : {"-aes256", "-aes-256-gcm"}) {
    auto d = Decrypt(OpensslEncrypted(cipher + " -binary", Path("dup.txt")));
    ASSERT_FALSE(d.ok()) << cipher;
    EXPECT_EQ(d.error().code, ErrorCode::kCorruption) << cipher;
  }
}

TEST_F(InboundRules, EnvelopeDigestsFollowTheContentKeyAndTheCiphertext) {
  const auto& pki = GetTestPki();
  std::vector<KeyPair> keys{pki.alice.Pair()};
  const std::string msg = OpensslEncrypted("-aes256");
  auto a = engine_->OpenEnvelope(msg, keys).value();
  auto again = engine_->OpenEnvelope(msg, keys).value();
  EXPECT_EQ(a.content_key_digest.size(), 32u);
  EXPECT_EQ(a.content_key_digest, again.content_key_digest);
  EXPECT_EQ(a.ciphertext_digest, again.ciphertext_digest);
  EXPECT_EQ(a.cipher, "aes-256-cbc");
  // The same content key with one ciphertext byte changed.
  MimeEntity top = ParseEntity(msg, MimeLimits{}).value();
  std::string der = Base64Decode(top.body).value();
  der[der.size() - 20] = static_cast<char>(der[der.size() - 20] ^ 0x40);
  const std::string tampered = std::string(top.header_block) + "\n" + Base64Encode(der);
  auto t = engine_->OpenEnvelope(tampered, keys).value();
  EXPECT_EQ(t.content_key_digest, a.content_key_digest);
  EXPECT_NE(t.ciphertext_digest, a.ciphertext_digest);
  // A new encryption of the same text has a new content key.
  auto other = engine_->OpenEnvelope(OpensslEncrypted("-aes256"), keys).value();
  EXPECT_NE(other.content_key_digest, a.content_key_digest);
  // Not ours: no candidate is a recipient.
  std::vector<KeyPair> carol{pki.carol.Pair()};
  EXPECT_EQ(engine_->OpenEnvelope(msg, carol).error().code, ErrorCode::kNotFound);
}

TEST(WellFormed, Table) {
  struct Case {
    const char* name;
    std::string entity;
    bool ok;
  };
  const std::string h = "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  const std::string mp =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
      "x\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  const Case cases[] = {
      {"text", h + "Hello\r\n", true},
      {"utf8", h + "Gr\xc3\xbc\xc3\x9f" "e\r\n", true},
      {"no_header", "Hello\r\n", false},
      {"invalid_utf8", h + "Gr\xfc\x9f\xa0" "e\r\n", false},
      {"control", h + "a\x01" "b\r\n", false},
      {"latin1_declared", "Content-Type: text/plain; charset=iso-8859-1\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdf" "e\r\n", true},
      {"8bit_in_7bit_binary_part", "Content-Type: application/octet-stream\r\n\r\n\xff\xfe\r\n", false},
      {"qp_ok", "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=\r\nne\r\n", true},
      {"qp_bad_escape", "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=G3\r\n", false},
      {"multipart_ok", mp + "SGVsbG8=\r\n--b--\r\n", true},
      {"multipart_no_close", mp + "SGVsbG8=\r\n", false},
      {"multipart_bad_base64", mp + "SGV\xe2sbG8=\r\n--b--\r\n", false},
      {"duplicate_content_type", "Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n",
       false},
      {"binary", "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
                     std::string("\x00\x01\xff", 3),
       true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckWellFormedEntity(c.entity, MimeLimits{}).ok(), c.ok) << c.name;
  }
}

}  // namespace
}  // namespace sg::smime
