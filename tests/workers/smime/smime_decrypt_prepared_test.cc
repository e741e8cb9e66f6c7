// The prepared decoder (workers/smime/smime_decrypt_prepared.h) against
// CMS_decrypt (DecryptOptions::use_prepared off), over a corpus made by
// `openssl cms -encrypt` and by the engine: identical content and fields
// where it decrypts, the identical error (code and text) where it does not,
// and the structures it does not serve handed to CMS_decrypt. Key agreement
// with a point that is not on the recipient's curve is refused. For
// AuthEnvelopedData (AES-GCM): every altered tag, nonce, ciphertext or
// authAttr fails, and authAttrs are authenticated (RFC 5083 2.2).
#include "workers/smime/smime_decrypt_prepared.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <optional>
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

  // What the prepared decoder itself says about a single-recipient message
  // (definite lengths, a primitive encryptedContent: the ciphertext read
  // from the DER is what OpenSSL would hand over).
  static internal::PreparedDecrypt Prepared(const std::string& der, const KeyPair& kp, int rek) {
    return internal::DecryptPrepared(der, 0, rek, kp.key.get(), EncryptedContent(der));
  }
  static PreparedStatus Status(const std::string& der, const KeyPair& kp, int rek) {
    return Prepared(der, kp, rek).status;
  }

  // encryptedContent [0] of ContentInfo { type, [0] { version, [originatorInfo],
  // recipientInfos, EncryptedContentInfo { type, algorithm, [0] }, ... } }.
  static std::string_view EncryptedContent(std::string_view der) {
    auto ci = internal::ReadTlv(der);
    auto ci_fields = ci ? internal::ReadChildren(ci->content) : std::nullopt;
    if (!ci_fields || ci_fields->size() != 2) return {};
    auto body = internal::ReadTlv((*ci_fields)[1].content);
    auto fields = body ? internal::ReadChildren(body->content) : std::nullopt;
    if (!fields) return {};
    for (size_t i = 1; i < fields->size(); ++i) {
      if ((*fields)[i - 1].tag != 0x31 || (*fields)[i].tag != 0x30) continue;
      auto eci = internal::ReadChildren((*fields)[i].content);
      if (eci && eci->size() == 3 && (*eci)[2].tag == 0x80) return (*eci)[2].content;
    }
    return {};
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
  };
  // AuthEnvelopedData (RFC 5083) with AES-GCM (RFC 5084: nonce 12, ICVlen 16).
  const std::vector<Case> gcm = {
      {pki.alice.Pair(), pki.alice.cert_path, "-aes-256-gcm", true},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes-128-gcm", true},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes-192-gcm", true},
      {pki.alice.Pair(), pki.alice.cert_path, "-aes-256-gcm -keyopt rsa_padding_mode:oaep", true},
      {pki.carol.Pair(), pki.carol.cert_path,
       "-aes-128-gcm -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt "
       "rsa_mgf1_md:sha256",
       true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes-256-gcm", true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes-128-gcm", true},
      {pki.bob.Pair(), pki.bob.cert_path, "-aes-256-gcm -keyopt ecdh_kdf_md:sha256", true},
      {p384_->pair, p384_->cert_path, "-aes-256-gcm", true},
      {k256_->pair, k256_->cert_path, "-aes-256-gcm", false},  // not a NIST curve
  };
  for (const Case& c : gcm) {
    const std::string what = c.cert_path + " " + c.args;
    auto r = Both(Openssl("-recip " + c.cert_path + " " + c.args), c.kp, what);
    ASSERT_TRUE(r.ok()) << what << ": " << r.error().ToString();
    EXPECT_EQ(r->prepared, c.prepared) << what;
    EXPECT_TRUE(r->auth_enveloped) << what;
    EXPECT_NE(r->message.find("encrypted by openssl"), std::string::npos) << what;
  }
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
  for (const char* cipher : {"-aes256", "-aes-256-gcm"}) {
    const std::string msg = Openssl(std::string(cipher) + " -recip " + pki.alice.cert_path +
                                    " -recip " + pki.bob.cert_path + " -recip " + p384_->cert_path +
                                    " -recip " + pki.carol.cert_path);
    for (const KeyPair& kp : {pki.alice.Pair(), pki.bob.Pair(), p384_->pair, pki.carol.Pair()}) {
      auto r = Both(msg, kp, cipher + CertSubjectLine(kp.cert.get()));
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_TRUE(r->prepared);
    }
  }
}

TEST_F(PreparedDecryptTest, EngineMessagesDecryptIdentically) {
  const auto& pki = GetTestPki();
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    for (ContentCipher cipher :
         {ContentCipher::kAes256Cbc, ContentCipher::kAes128Cbc, ContentCipher::kAes256Gcm}) {
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
        EXPECT_EQ(dec->auth_enveloped, cipher == ContentCipher::kAes256Gcm) << id->name;
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

// The parts of a single-recipient AuthEnvelopedData that the tampering
// tests change (views into |der|).
struct GcmParts {
  std::string_view oid;     // the content-encryption algorithm OID TLV
  std::string_view params;  // GCMParameters TLV
  std::string_view nonce;   // aes-nonce TLV
  std::string_view mac;     // mac TLV
};
std::optional<GcmParts> ReadGcmParts(std::string_view der) {
  auto layout = internal::ReadEnvelopedLayout(der);
  if (!layout || !layout->auth_enveloped || layout->trailing.empty()) return std::nullopt;
  auto alg = internal::ReadChildren(layout->content_algorithm.content);
  if (!alg || alg->size() != 2) return std::nullopt;
  auto params = internal::ReadChildren((*alg)[1].content);
  if (!params || params->empty()) return std::nullopt;
  return GcmParts{(*alg)[0].whole, (*alg)[1].whole, (*params)[0].whole,
                  layout->trailing.back().whole};
}

// Every change to the tag, nonce or ciphertext of AES-GCM content fails, in
// both paths alike (same code, same text); a mac shorter than RFC 5084's 12
// bytes is refused before any key operation, in both paths (OpenSSL's CMS
// code alone checks however many bytes the mac has).
TEST_F(PreparedDecryptTest, AlteredGcmContentFailsLikeCmsDecrypt) {
  const auto& pki = GetTestPki();
  for (const bool kari : {false, true}) {
    const KeyPair kp = kari ? pki.bob.Pair() : pki.alice.Pair();
    const int rek = kari ? 0 : -1;
    const std::string der = testing::ExtractP7m(
        Openssl("-aes-256-gcm -recip " + (kari ? pki.bob.cert_path : pki.alice.cert_path)));
    ASSERT_EQ(Status(der, kp, rek), PreparedStatus::kDone);
    const auto parts = ReadGcmParts(der);
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->mac.size(), 18U);  // 04 10 + a 16-byte tag
    ASSERT_EQ(parts->nonce.size(), 14U);
    const std::string_view ct = EncryptedContent(der);
    ASSERT_GT(ct.size(), 100U);
    const auto at = [&](std::string_view piece) {
      return static_cast<size_t>(piece.data() - der.data());
    };
    const auto flipped = [&](size_t pos) {
      std::string d = der;
      d[pos] ^= 0x01;
      return d;
    };
    const std::string_view ct_tlv(ct.data() - 4, ct.size() + 4);  // 80 82 LL LL: checked below
    const std::string tag8 = Replace(der, parts->mac, mail::DerTlv(0x04, parts->mac.substr(2, 8)));
    const std::string icv8 =
        Replace(tag8, ReadGcmParts(tag8)->params,
                mail::DerTlv(0x30, std::string(parts->nonce) + std::string("\x02\x01\x08", 3)));
    struct Variant {
      std::string name;
      std::string der;
      PreparedStatus prepared;  // what the prepared decoder says
      std::string error;        // part of the error text, if not CMS_decrypt's usual one
    };
    std::vector<Variant> variants = {
        {"tag, first byte", flipped(at(parts->mac) + 2), PreparedStatus::kFailed, ""},
        {"tag, last byte", flipped(at(parts->mac) + 17), PreparedStatus::kFailed, ""},
        {"ciphertext, first byte", flipped(at(ct)), PreparedStatus::kFailed, ""},
        {"ciphertext, last byte", flipped(at(ct) + ct.size() - 1), PreparedStatus::kFailed, ""},
        {"nonce, a byte", flipped(at(parts->nonce) + 5), PreparedStatus::kFailed, ""},
        {"oid: aes-128-gcm", Replace(der, parts->oid, internal::DerOid(NID_aes_128_gcm)),
         PreparedStatus::kFailed, ""},
        {"oid: aes-256-cbc", Replace(der, parts->oid, internal::DerOid(NID_aes_256_cbc)),
         PreparedStatus::kNotHandled, ""},
        {"nonce of 11 bytes",
         Replace(der, parts->nonce, mail::DerTlv(0x04, parts->nonce.substr(2, 11))),
         PreparedStatus::kNotHandled, ""},
        {"tag of 8 bytes", tag8, PreparedStatus::kNotHandled,
         "authentication tag (mac) of 8 bytes"},
        {"tag of 1 byte", Replace(der, parts->mac, mail::DerTlv(0x04, parts->mac.substr(2, 1))),
         PreparedStatus::kNotHandled, "authentication tag (mac) of 1 bytes"},
        {"tag of 0 bytes", Replace(der, parts->mac, mail::DerTlv(0x04, "")),
         PreparedStatus::kNotHandled, "authentication tag (mac) of 0 bytes"},
        {"aes-ICVlen 8, tag of 8 bytes", icv8, PreparedStatus::kNotHandled,
         "authentication tag (mac) of 8 bytes"},
    };
    ASSERT_EQ(ct_tlv.substr(0, 2), std::string_view("\x80\x82", 2));
    variants.push_back({"ciphertext one byte short",
                        Replace(der, ct_tlv, mail::DerTlv(0x80, ct.substr(0, ct.size() - 1))),
                        PreparedStatus::kFailed, ""});
    variants.push_back({"ciphertext one byte longer",
                        Replace(der, ct_tlv, mail::DerTlv(0x80, std::string(ct) + "x")),
                        PreparedStatus::kFailed, ""});
    for (const Variant& v : variants) {
      const std::string what = std::string(kari ? "ec " : "rsa ") + v.name;
      EXPECT_EQ(Status(v.der, kp, rek), v.prepared) << what;
      auto r = Both(testing::WrapP7m("x@example.net", v.der, "authEnveloped-data"), kp, what);
      ASSERT_FALSE(r.ok()) << what;
      EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << what;
      if (!v.error.empty()) {
        EXPECT_NE(r.error().message.find(v.error), std::string::npos)
            << what << ": " << r.error().message;
      }
    }
    // The message cut short: refused while parsing, by both.
    EXPECT_FALSE(
        Both(testing::WrapP7m("x@example.net", der.substr(0, der.size() - 9), "authEnveloped-data"),
             kp, "cut short")
            .ok());
  }
}

// A 16-byte GCM tag cut to 12 bytes is the 12-byte tag of the same message:
// with aes-ICVlen 12 written the prepared decoder reads it; with aes-ICVlen
// 16 left as it was it hands it to CMS_decrypt (which checks the 12 bytes it
// has). Both paths decrypt it alike. Parameters the decoder does not serve
// (aes-ICVlen 17, unauthAttrs, a nonce of 16 bytes) go to CMS_decrypt with
// the same outcome (OpenSSL 3.0 reads only the first 12 bytes of a longer
// nonce, so 4 bytes appended to a 12-byte nonce change nothing there).
// aes-ICVlen left to its DEFAULT 12, as DER requires of a 12-byte tag: the
// prepared decoder reads it (RFC 5084); OpenSSL 3.0's CMS code requires the
// INTEGER and refuses the message (the one difference between the paths).
TEST_F(PreparedDecryptTest, GcmParametersAsWrittenOrHandedOn) {
  const auto& pki = GetTestPki();
  const KeyPair kp = pki.bob.Pair();
  const std::string der = testing::ExtractP7m(Openssl("-aes-128-gcm -recip " + pki.bob.cert_path));
  const auto parts = ReadGcmParts(der);
  ASSERT_TRUE(parts);
  const std::string tag12 = mail::DerTlv(0x04, parts->mac.substr(2, 12));
  const std::string cut = Replace(der, parts->mac, tag12);
  const auto with_params = [&](const std::string& params_content) {
    return Replace(cut, ReadGcmParts(cut)->params, mail::DerTlv(0x30, params_content));
  };
  const std::string nonce(parts->nonce);
  struct Variant {
    std::string name;
    std::string der;
    PreparedStatus prepared;
  };
  const std::string unauth_attr =
      mail::DerTlv(0x30, internal::DerOid(NID_pkcs9_contentType) +
                             mail::DerTlv(0x31, internal::DerOid(NID_pkcs7_data)));
  const std::vector<Variant> variants = {
      {"aes-ICVlen 12 written", with_params(nonce + std::string("\x02\x01\x0c", 3)),
       PreparedStatus::kDone},
      {"aes-ICVlen 16, tag of 12", cut, PreparedStatus::kNotHandled},
      {"aes-ICVlen 17",
       Replace(der, parts->params, mail::DerTlv(0x30, nonce + std::string("\x02\x01\x11", 3))),
       PreparedStatus::kNotHandled},
      {"unauthAttrs",
       Replace(der, parts->mac, std::string(parts->mac) + mail::DerTlv(0xA2, unauth_attr)),
       PreparedStatus::kNotHandled},
      {"nonce of 16 bytes",
       Replace(der, parts->nonce, mail::DerTlv(0x04, nonce.substr(2) + "\x01\x02\x03\x04")),
       PreparedStatus::kNotHandled},
  };
  for (const Variant& v : variants) {
    const auto got = Prepared(v.der, kp, 0);
    EXPECT_EQ(got.status, v.prepared) << v.name;
    auto r = Both(testing::WrapP7m("x@example.net", v.der, "authEnveloped-data"), kp, v.name);
    if (v.prepared == PreparedStatus::kDone) {
      ASSERT_TRUE(r.ok()) << v.name << ": " << r.error().ToString();
      EXPECT_TRUE(r->prepared) << v.name;
      EXPECT_NE(got.content.find("encrypted by openssl"), std::string::npos) << v.name;
    } else if (r.ok()) {
      EXPECT_FALSE(r->prepared) << v.name;
    }
  }
  const std::string by_default = with_params(nonce);
  const auto got = Prepared(by_default, kp, 0);
  ASSERT_EQ(got.status, PreparedStatus::kDone);
  EXPECT_NE(got.content.find("encrypted by openssl"), std::string::npos);
  const std::string msg = testing::WrapP7m("x@example.net", by_default, "authEnveloped-data");
  DecryptOptions options;
  auto prepared = engine_->Decrypt(msg, std::span(&kp, 1), options);
  ASSERT_TRUE(prepared.ok()) << prepared.error().ToString();
  EXPECT_TRUE(prepared->prepared);
  options.use_prepared = false;
  auto cms = engine_->Decrypt(msg, std::span(&kp, 1), options);
  ASSERT_FALSE(cms.ok());
  EXPECT_EQ(cms.error().code, ErrorCode::kCorruption);
}

// AuthEnvelopedData with authAttrs, written here as RFC 5083 says (openssl
// cms cannot make them): the content key for the recipient's RecipientInfo,
// AES-256-GCM over the content with the DER of the attributes under the SET
// OF tag as AAD, the attributes as authAttrs [1] IMPLICIT.
std::string AuthEnvelopedDer(const std::string& recipient_info, const std::string& cek,
                             const std::string& content, const std::string& attrs,
                             bool attrs_in_aad) {
  std::array<unsigned char, 12> nonce{};
  std::array<unsigned char, 16> tag{};
  EXPECT_EQ(RAND_bytes(nonce.data(), static_cast<int>(nonce.size())), 1);
  const std::string aad = attrs_in_aad ? mail::DerTlv(0x31, attrs) : "";
  std::string ct(content.size(), '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(),
                                reinterpret_cast<const unsigned char*>(cek.data()), nonce.data(),
                                nullptr),
            1);
  if (!aad.empty()) {
    EXPECT_EQ(
        EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                          static_cast<int>(aad.size())),
        1);
  }
  EXPECT_EQ(EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(ct.data()), &len,
                              reinterpret_cast<const unsigned char*>(content.data()),
                              static_cast<int>(content.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(ct.data()) + len, &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()), 1);
  EVP_CIPHER_CTX_free(ctx);
  const auto str = [](const auto& a) {
    return std::string(reinterpret_cast<const char*>(a.data()), a.size());
  };
  const std::string alg = mail::DerTlv(
      0x30,
      internal::DerOid(NID_aes_256_gcm) +
          mail::DerTlv(0x30, mail::DerTlv(0x04, str(nonce)) + std::string("\x02\x01\x10", 3)));
  const std::string eci =
      mail::DerTlv(0x30, internal::DerOid(NID_pkcs7_data) + alg + mail::DerTlv(0x80, ct));
  std::string body = std::string("\x02\x01\x00", 3) + mail::DerTlv(0x31, recipient_info) + eci;
  if (!attrs.empty()) body += mail::DerTlv(0xA1, attrs);
  body += mail::DerTlv(0x04, str(tag));
  return mail::DerTlv(0x30, internal::DerOid(NID_id_smime_ct_authEnvelopedData) +
                                mail::DerTlv(0xA0, mail::DerTlv(0x30, body)));
}

// authAttrs are authenticated: a message whose tag covers them decrypts; one
// whose attributes were altered, removed, or not covered by the tag does
// not. OpenSSL 3.0's CMS code reads authAttrs as [2] (not RFC 5083's [1])
// and authenticates nothing of them, so it refuses to parse these messages
// at all: the engine refuses them before either path (checked alike by
// Both), and the prepared decoder is asked directly.
TEST_F(PreparedDecryptTest, AuthAttrsAreAuthenticated) {
  const auto& pki = GetTestPki();
  std::vector<std::string> attr_list = {
      mail::DerTlv(0x30, internal::DerOid(NID_pkcs9_contentType) +
                             mail::DerTlv(0x31, internal::DerOid(NID_pkcs7_data))),
      mail::DerTlv(0x30, internal::DerOid(NID_pkcs9_signingTime) +
                             mail::DerTlv(0x31, mail::DerTlv(0x17, "261207200000Z")))};
  std::sort(attr_list.begin(), attr_list.end());  // DER SET OF order
  const std::string attrs = attr_list[0] + attr_list[1];
  std::string altered = attrs;
  altered[altered.find("261207") + 3] ^= 0x01;  // a digit of the signing time
  const std::string content = testing::SampleEntity("with authenticated attributes");
  std::string cek(32, '\0');
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    const bool kari = id == &pki.bob;
    const KeyPair kp = id->Pair();
    ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(cek.data()), 32), 1);
    auto prepared = PreparedRecipient::Create(id->cert);
    auto ri = prepared->EncodeRecipientInfo(
        {reinterpret_cast<const unsigned char*>(cek.data()), cek.size()}, false);
    ASSERT_TRUE(ri.ok()) << ri.error().ToString();
    const std::string good = AuthEnvelopedDer(*ri, cek, content, attrs, true);
    const std::string plain = AuthEnvelopedDer(*ri, cek, content, "", false);
    const std::string_view good_attrs = internal::ReadEnvelopedLayout(good)->trailing.front().whole;
    const std::string_view plain_mac = internal::ReadEnvelopedLayout(plain)->trailing.front().whole;
    ASSERT_EQ(good_attrs.substr(0, 1), "\xA1");
    ASSERT_EQ(plain_mac.substr(0, 1), "\x04");
    struct Variant {
      std::string name;
      std::string der;
      PreparedStatus prepared;
    };
    const std::vector<Variant> variants = {
        {"authAttrs authenticated", good, PreparedStatus::kDone},
        {"no authAttrs", plain, PreparedStatus::kDone},
        {"an authAttr altered", Replace(good, good_attrs, mail::DerTlv(0xA1, altered)),
         PreparedStatus::kFailed},
        {"authAttrs not in the tag", AuthEnvelopedDer(*ri, cek, content, attrs, false),
         PreparedStatus::kFailed},
        {"authAttrs in the tag, then removed", Replace(good, good_attrs, ""),
         PreparedStatus::kFailed},
        {"authAttrs added",
         Replace(plain, plain_mac, mail::DerTlv(0xA1, attrs) + std::string(plain_mac)),
         PreparedStatus::kFailed},
    };
    for (const Variant& v : variants) {
      const std::string what = id->name + ": " + v.name;
      const auto got = Prepared(v.der, kp, kari ? 0 : -1);
      EXPECT_EQ(got.status, v.prepared) << what;
      if (v.prepared == PreparedStatus::kDone) {
        EXPECT_EQ(got.content, content) << what;
      } else {
        EXPECT_TRUE(got.content.empty()) << what;
      }
      auto r = Both(testing::WrapP7m("x@example.net", v.der, "authEnveloped-data"), kp, what);
      if (v.name == "no authAttrs") {
        ASSERT_TRUE(r.ok()) << what << ": " << r.error().ToString();
        EXPECT_TRUE(r->prepared) << what;
      }
    }
  }
}

}  // namespace
}  // namespace sg::smime
