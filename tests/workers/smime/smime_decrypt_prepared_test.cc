// The prepared decoder (workers/smime/smime_decrypt_prepared.h) against
// CMS_decrypt (DecryptOptions::use_prepared off), over a corpus made by
// `openssl cms -encrypt` and by the engine: identical content and fields
// where it decrypts, the identical error (code and text) where it does not,
// and the structures it does not serve handed to CMS_decrypt. Key agreement
// with a point that is not on the recipient's curve is refused.
#include "workers/smime/smime_decrypt_prepared.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>

#include <string>
#include <vector>

#include "common/mail/der.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_der.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using internal::PreparedStatus;
using testing::GetTestPki;
using testing::ReadFile;
using testing::RunTool;
using testing::TestIdentity;

// A key made with the openssl command line (curves the test PKI lacks).
struct ToolKey {
  std::string cert_path;
  KeyPair pair;
  std::string point;  // the uncompressed public point
};

bool RandomKeyGarbage(const Error& e) {
  return e.code == ErrorCode::kCorruption && e.message.rfind("decrypt: the key of ", 0) != 0;
}

class PreparedDecryptTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("sgprepdec"));
    testing::WriteFile(Path("entity.txt"),
                       testing::SampleEntity(std::string(3000, 'x') + "\r\nencrypted by openssl"));
    p384_ = new ToolKey(MakeKey("p384", "P-384"));
    k256_ = new ToolKey(MakeKey("k256", "secp256k1"));
    other256_ = new ToolKey(MakeKey("other256", "P-256"));
    rsa1024_ = new ToolKey(MakeKey("rsa1024", "rsa:1024"));
  }
  static void TearDownTestSuite() {
    testing::RemoveTree(*dir_);
    delete p384_;
    delete k256_;
    delete other256_;
    delete rsa1024_;
    delete dir_;
  }
  void SetUp() override { engine_ = SmimeEngine::Create().value(); }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  // |curve| names an EC curve, or "rsa:<bits>".
  static ToolKey MakeKey(const std::string& name, const std::string& curve) {
    const std::string key = Path(name + ".key");
    ToolKey k;
    k.cert_path = Path(name + ".pem");
    std::string log;
    const std::string gen = curve.rfind("rsa:", 0) == 0
                                ? "-algorithm RSA -pkeyopt rsa_keygen_bits:" + curve.substr(4)
                                : "-algorithm EC -pkeyopt ec_paramgen_curve:" + curve;
    EXPECT_EQ(
        RunTool("openssl genpkey " + gen + " -out " + key + " && openssl req -x509 -new -key " +
                    key + " -subj /CN=" + name + " -addext subjectAltName=email:" + name +
                    "@example.com -days 2 -out " + k.cert_path + " && openssl pkey -in " + key +
                    " -pubout -outform DER -out " + key + ".pub",
                &log),
        0)
        << log;
    k.pair = KeyPair{ParsePrivateKey(ReadFile(key)).value(),
                     ParseCertificate(ReadFile(k.cert_path)).value()};
    const std::string spki = ReadFile(key + ".pub");
    const size_t len = curve == "P-384" ? 97 : 65;
    k.point = spki.substr(spki.size() - len);
    return k;
  }

  // `openssl cms -encrypt <args>` of the test entity, as a complete message.
  static std::string Openssl(const std::string& args) {
    std::string log;
    EXPECT_EQ(RunTool("openssl cms -encrypt -binary -in " + Path("entity.txt") + " -out " +
                          Path("enc.eml") + " " + args,
                      &log),
              0)
        << args << ": " << log;
    return "From: x@example.net\nSubject: secret\n" + ReadFile(Path("enc.eml"));
  }

  // Decrypts |msg| both ways; they must agree. Returns the prepared path's result.
  // |random_key|: a failing RSA key transport (see below).
  Result<DecryptResult> Both(const std::string& msg, const KeyPair& kp, const std::string& what,
                             DecryptOptions options = {}, bool random_key = false) {
    options.use_prepared = false;
    auto cms = engine_->Decrypt(msg, std::span(&kp, 1), options);
    options.use_prepared = true;
    auto prepared = engine_->Decrypt(msg, std::span(&kp, 1), options);
    EXPECT_EQ(cms.ok(), prepared.ok()) << what;
    if (cms.ok() && prepared.ok()) {
      EXPECT_FALSE(cms->prepared) << what;
      EXPECT_EQ(prepared->message, cms->message) << what;
      EXPECT_EQ(prepared->entity_header, cms->entity_header) << what;
      EXPECT_EQ(prepared->cipher, cms->cipher) << what;
      EXPECT_EQ(prepared->auth_enveloped, cms->auth_enveloped) << what;
      EXPECT_EQ(prepared->key_index, cms->key_index) << what;
    } else if (!cms.ok() && !prepared.ok()) {
      EXPECT_EQ(prepared.error().code, cms.error().code) << what;
      // A failed key transport goes on with a random content key in both
      // paths (each its own); 1 time in 256 that key gives valid CBC
      // padding and the garbage then fails the well-formedness check, with
      // that check's text instead of CMS_decrypt's.
      if (!random_key || (!RandomKeyGarbage(cms.error()) && !RandomKeyGarbage(prepared.error()))) {
        EXPECT_EQ(prepared.error().message, cms.error().message) << what;
      }
    }
    return prepared;
  }

  // What the prepared decoder itself says about a single-recipient message.
  static PreparedStatus Status(const std::string& der, const KeyPair& kp, int rek) {
    auto cms = internal::CmsFromDer(der);
    if (!cms.ok()) return PreparedStatus::kNotHandled;
    ASN1_OCTET_STRING** pos = CMS_get0_content(cms->get());
    std::string_view ciphertext(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*pos)),
                                static_cast<size_t>(ASN1_STRING_length(*pos)));
    return internal::DecryptPrepared(der, 0, rek, kp.key.get(), ciphertext).status;
  }

  static std::string* dir_;
  static ToolKey* p384_;
  static ToolKey* k256_;
  static ToolKey* other256_;
  static ToolKey* rsa1024_;  // small, for many private-key operations
  std::unique_ptr<SmimeEngine> engine_;
};
std::string* PreparedDecryptTest::dir_ = nullptr;
ToolKey* PreparedDecryptTest::p384_ = nullptr;
ToolKey* PreparedDecryptTest::k256_ = nullptr;
ToolKey* PreparedDecryptTest::other256_ = nullptr;
ToolKey* PreparedDecryptTest::rsa1024_ = nullptr;

// |der| with the TLV |target| (a view into |der|) replaced by |replacement|,
// every enclosing length rewritten (definite-length DER only).
std::string Replace(std::string_view der, std::string_view target, const std::string& replacement) {
  if (der.data() == target.data() && der.size() == target.size()) return replacement;
  auto tlv = internal::ReadTlv(der);
  if (!tlv || (tlv->tag & 0x20) == 0) return std::string(der);
  auto children = internal::ReadChildren(tlv->content);
  if (!children) return std::string(der);
  std::string content;
  for (const internal::Tlv& c : *children) {
    const bool inside = target.data() >= c.whole.data() &&
                        target.data() + target.size() <= c.whole.data() + c.whole.size();
    content += inside ? Replace(c.whole, target, replacement) : std::string(c.whole);
  }
  return mail::DerTlv(tlv->tag, content);
}

// The originatorKey BIT STRING of a P-256 KeyAgreeRecipientInfo.
std::string_view PointBits(const std::string& der) {
  const size_t at = der.find(std::string("\x03\x42\x00\x04", 4));
  return at == std::string::npos ? std::string_view() : std::string_view(der).substr(at, 68);
}

TEST_F(PreparedDecryptTest, OpensslCorpusDecryptsIdentically) {
  const auto& pki = GetTestPki();
  struct Case {
    const KeyPair kp;
    std::string cert_path;
    std::string args;
    bool prepared;
  };
  const std::vector<Case> cases = {
      {pki.alice.Pair(), pki.alice.cert_path, "-aes256", true},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes128", true},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes192", true},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes256 -keyopt rsa_padding_mode:oaep", true},
      {pki.carol.Pair(), pki.carol.cert_path,
       "-aes128 -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt "
       "rsa_mgf1_md:sha256",
       true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes256", true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes128", true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes192 -keyopt ecdh_kdf_md:sha256", true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes256 -keyopt ecdh_kdf_md:sha512", true},
      {p384_->pair, p384_->cert_path, "-aes256", true},
      {p384_->pair, p384_->cert_path, "-aes128 -keyopt ecdh_kdf_md:sha384", true},
      // Not served: CMS_decrypt does it, with the same result.
      {k256_->pair, k256_->cert_path, "-aes256", false},  // not a NIST curve
      {pki.bob.Pair(), pki.bob.cert_path, "-aes256 -keyopt ecdh_cofactor_mode:1", false},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes-256-gcm", false},  // AuthEnvelopedData
      {pki.bob.Pair(), pki.bob.cert_path, "-aes-128-gcm", false},
  };
  for (const Case& c : cases) {
    const std::string what = c.cert_path + " " + c.args;
    auto r = Both(Openssl("-recip " + c.cert_path + " " + c.args), c.kp, what);
    ASSERT_TRUE(r.ok()) << what << ": " << r.error().ToString();
    EXPECT_EQ(r->prepared, c.prepared) << what;
    EXPECT_NE(r->message.find("encrypted by openssl"), std::string::npos) << what;
  }
  // 3DES content (allowed by option) is left to CMS_decrypt.
  DecryptOptions des;
  des.allow_3des = true;
  auto r = Both(Openssl("-des3 -recip " + pki.alice.cert_path), pki.alice.Pair(), "des3", des);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->prepared);
}

TEST_F(PreparedDecryptTest, EveryRecipientOfAMessageDecryptsIt) {
  const auto& pki = GetTestPki();
  const std::string msg =
      Openssl("-aes256 -recip " + pki.alice.cert_path + " -recip " + pki.bob.cert_path +
              " -recip " + p384_->cert_path + " -recip " + pki.carol.cert_path);
  for (const KeyPair& kp : {pki.alice.Pair(), pki.bob.Pair(), p384_->pair, pki.carol.Pair()}) {
    auto r = Both(msg, kp, CertSubjectLine(kp.cert.get()));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_TRUE(r->prepared);
  }
}

TEST_F(PreparedDecryptTest, EngineMessagesDecryptIdentically) {
  const auto& pki = GetTestPki();
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    for (ContentCipher cipher : {ContentCipher::kAes256Cbc, ContentCipher::kAes128Cbc}) {
      for (bool oaep : {false, true}) {
        Recipient r{id->cert};
        r.rsa_oaep = oaep;
        r.prepared = PreparedRecipient::Create(id->cert);
        EncryptOptions options;
        options.cipher = cipher;
        auto enc = engine_->Encrypt(testing::SampleMessage(), std::span(&r, 1), options);
        ASSERT_TRUE(enc.ok()) << enc.error().ToString();
        auto dec = Both(enc->message, id->Pair(), id->name);
        ASSERT_TRUE(dec.ok()) << dec.error().ToString();
        EXPECT_TRUE(dec->prepared) << id->name;
      }
    }
  }
}

TEST_F(PreparedDecryptTest, FailuresAreCmsDecryptsOwn) {
  const auto& pki = GetTestPki();
  const std::string rsa = Openssl("-aes256 -recip " + pki.alice.cert_path);
  const std::string ec = Openssl("-aes256 -recip " + pki.bob.cert_path);
  // The wrong private key behind the right certificate.
  EXPECT_FALSE(Both(rsa, KeyPair{pki.carol.key, pki.alice.cert}, "wrong rsa key", {}, true).ok());
  EXPECT_FALSE(Both(ec, KeyPair{other256_->pair.key, pki.bob.cert}, "wrong ec key").ok());
  for (const std::string* msg : {&rsa, &ec}) {
    const bool kari = msg == &ec;
    const KeyPair kp = kari ? pki.bob.Pair() : pki.alice.Pair();
    const std::string der = testing::ExtractP7m(*msg);
    // The encrypted content key altered.
    auto parts = internal::ReadEnvelopedParts(der, 0, kari ? 0 : -1);
    ASSERT_TRUE(parts);
    std::string bad_key = der;
    bad_key[static_cast<size_t>(parts->encrypted_key.data() - der.data()) + 3] ^= 0x01;
    EXPECT_FALSE(Both(testing::WrapP7m("x@example.net", bad_key, "enveloped-data"), kp,
                      "altered content key", {}, !kari)
                     .ok());
    // The CBC padding altered (the last byte of the next-to-last block).
    std::string bad_padding = der;
    bad_padding[der.size() - 17] ^= static_cast<char>(0x80);
    EXPECT_FALSE(
        Both(testing::WrapP7m("x@example.net", bad_padding, "enveloped-data"), kp, "padding").ok());
    EXPECT_EQ(Status(bad_padding, kp, kari ? 0 : -1), PreparedStatus::kFailed);
    // The ciphertext truncated by one block, lengths rewritten.
    auto cms = internal::CmsFromDer(der).value();
    const ASN1_OCTET_STRING* ct = *CMS_get0_content(cms.get());
    const auto ct_len = static_cast<size_t>(ASN1_STRING_length(ct));
    std::string_view ec_tlv = std::string_view(der).substr(der.size() - ct_len - 4);
    ASSERT_EQ(ec_tlv[0], '\x80');
    std::string shorter =
        Replace(der, ec_tlv,
                mail::DerTlv(0x80, std::string_view(der).substr(der.size() - ct_len, ct_len - 16)));
    EXPECT_FALSE(
        Both(testing::WrapP7m("x@example.net", shorter, "enveloped-data"), kp, "truncated").ok());
  }
}

// The MMA / Bleichenbacher countermeasure: an RSA key transport whose
// padding is bad goes on to decrypt the content with a random key, like a
// good padding under the wrong key. With a random key the CBC padding comes
// out valid about 1 time in 256, so over 3000 tries some reach kDone (with
// garbage the engine then refuses as not well-formed); a decoder that
// stopped at the bad padding would never get there (P(0 | working) ~ 1e-5).
TEST_F(PreparedDecryptTest, ABadRsaPaddingStillDecryptsTheContentWithARandomKey) {
  const std::string der = testing::ExtractP7m(Openssl("-aes128 -recip " + rsa1024_->cert_path));
  ASSERT_EQ(Status(der, rsa1024_->pair, -1), PreparedStatus::kDone);
  auto parts = internal::ReadEnvelopedParts(der, 0, -1);
  ASSERT_TRUE(parts);
  std::string bad = der;  // the first byte of the RSA block: never a valid PKCS#1 block again
  bad[static_cast<size_t>(parts->encrypted_key.data() - der.data())] ^= 0x40;
  int done = 0;
  for (int i = 0; i < 3000; ++i) done += Status(bad, rsa1024_->pair, -1) == PreparedStatus::kDone;
  EXPECT_GT(done, 0);
  EXPECT_LT(done, 60);
}

// The invalid-curve attack: an ephemeral point chosen off the recipient's
// curve (on another curve, or nowhere) would leak the private key bit by bit
// if ECDH ran on it.
TEST_F(PreparedDecryptTest, AnEphemeralKeyOffTheCurveIsRefused) {
  const auto& pki = GetTestPki();
  const std::string der = testing::ExtractP7m(Openssl("-aes256 -recip " + pki.bob.cert_path));
  const KeyPair bob = pki.bob.Pair();
  ASSERT_EQ(Status(der, bob, 0), PreparedStatus::kDone);
  const std::string_view bits = PointBits(der);
  ASSERT_EQ(bits.size(), 68U);
  const auto at = static_cast<size_t>(bits.data() - der.data());
  struct Variant {
    std::string name;
    std::string der;
  };
  std::vector<Variant> variants;
  std::string off = der;  // y changed: not on P-256
  off[at + 67] ^= 0x01;
  variants.push_back({"off the curve", off});
  std::string twist = der;  // a point of secp256k1 in its place
  twist.replace(at + 3, 65, k256_->point);
  variants.push_back({"secp256k1 point", twist});
  variants.push_back({"point at infinity", Replace(der, bits, std::string("\x03\x02\x00\x00", 4))});
  variants.push_back(
      {"P-384 point", Replace(der, bits, mail::DerTlv(0x03, std::string(1, '\0') + p384_->point))});
  for (const Variant& v : variants) {
    EXPECT_EQ(Status(v.der, bob, 0), PreparedStatus::kBadPeerKey) << v.name;
    auto r = Both(testing::WrapP7m("x@example.net", v.der, "enveloped-data"), bob, v.name);
    EXPECT_FALSE(r.ok()) << v.name;
  }
}

}  // namespace
}  // namespace sg::smime
