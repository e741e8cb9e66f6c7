// The prepared EnvelopedData encoder (workers/smime/smime_envelope.h,
// smime_recipient.h) against OpenSSL's CMS_encrypt (issue 21):
//  - equivalence: for the same recipients and options both outputs have the
//    same structure, field for field, except the randomised values (content
//    key, IV/nonce, encryptedKey, ciphertext, mac), whose lengths still agree;
//  - OpenSSL's CMS_decrypt opens the encoder's output for every recipient key
//    (RSA 2048/3072/4096, PKCS#1 v1.5 and OAEP, CBC and GCM, empty and 1 MB);
//  - EC recipients (ECDH key agreement) the same way, alone and mixed with RSA;
//  - the dispatch: a recipient the encoder does not know (RSA-PSS key) sends
//    the whole message through CMS_encrypt; odd certificates get what
//    CMS_encrypt gives them.
#include "workers/smime/smime_envelope.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/test_pki.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_der.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using testing::GetTestPki;
using testing::SampleMessage;

// The structure of a DER tree as text: tags and lengths of every element,
// the content of every primitive element except OCTET STRINGs, BIT STRINGs
// and [0] IMPLICIT primitive values (the random parts of an EnvelopedData:
// IV/nonce, encryptedKey, ephemeral public key, encryptedContent, mac), and the
// children of a SET in sorted order (RecipientInfos are sorted by their
// encoding, which contains the random encryptedKey; an unsorted SET is
// marked).
std::string Skeleton(std::string_view der) {
  auto children = internal::ReadChildren(der);
  if (!children) return "<unparsable>";
  std::vector<std::string> parts;
  for (const internal::Tlv& t : *children) {
    std::string s = std::to_string(t.tag) + "[" + std::to_string(t.content.size()) + "]";
    // DER: definite, minimal length octets.
    size_t header = t.whole.size() - t.content.size();
    size_t minimal = t.content.size() < 128 ? 2
                                            : 2 + (t.content.size() < 256          ? 1
                                                   : t.content.size() < 65536      ? 2
                                                   : t.content.size() < (1U << 24) ? 3
                                                                                   : 4);
    if (header != minimal) s += "!non-minimal-length";
    if ((t.tag & 0x20) != 0) {
      std::string inner = Skeleton(t.content);
      if (t.tag == 0x31) {
        auto set = internal::ReadChildren(t.content);
        std::vector<std::string> elements;
        std::vector<std::string_view> encodings;
        for (const internal::Tlv& e : *set) {
          elements.push_back(Skeleton(e.whole));
          encodings.push_back(e.whole);
        }
        // DER SET OF: the encodings in ascending order (X.690 11.6).
        if (!std::is_sorted(encodings.begin(), encodings.end())) s += "!unsorted";
        std::sort(elements.begin(), elements.end());
        inner.clear();
        for (const std::string& e : elements) inner += e;
      }
      s += "{" + inner + "}";
    } else if (t.tag != 0x04 && t.tag != 0x03 && t.tag != 0x80) {
      static constexpr std::string_view kHex = "0123456789abcdef";
      s += "=";
      for (unsigned char c : t.content) {
        s.push_back(kHex[c >> 4]);
        s.push_back(kHex[c & 15]);
      }
    }
    parts.push_back(std::move(s));
  }
  std::string out;
  for (const std::string& p : parts) out += p;
  return out;
}

struct Holder {
  std::string name;
  PkeyPtr key;
  X509Ptr cert;
};

// A user certificate under the test intermediate.
Holder Issue(const std::string& name, PkeyPtr key, const std::string& key_usage) {
  const auto& pki = GetTestPki();
  sg::testing::CertSpec spec;
  spec.subject = {{"O", "smimegate test"}, {"CN", name}};
  spec.not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  spec.not_after = std::chrono::system_clock::now() + std::chrono::hours(24 * 365);
  spec.extensions = {{NID_key_usage, key_usage},
                     {NID_ext_key_usage, "emailProtection"},
                     {NID_subject_alt_name, "email:" + name + "@example.net"}};
  auto cert = sg::testing::IssueCert(spec, key.get(), pki.intermediate.cert.get(),
                                     pki.intermediate.key.get());
  return Holder{name, std::move(key), AdoptX509(cert.release())};
}

PkeyPtr Rsa(int bits) { return AdoptPkey(sg::testing::MakeRsaKey(bits).release()); }

const std::vector<Holder>& RsaUsers() {
  static const std::vector<Holder> users = [] {
    const auto& pki = GetTestPki();
    std::vector<Holder> u;
    u.push_back({"alice", pki.alice.key, pki.alice.cert});
    u.push_back(Issue("rsa3072", Rsa(3072), "critical,digitalSignature,keyEncipherment"));
    u.push_back(Issue("rsa4096", Rsa(4096), "critical,digitalSignature,keyEncipherment"));
    return u;
  }();
  return users;
}

std::string Decrypted(const std::string& der, const Holder& h) {
  auto cms = internal::CmsFromDer(der);
  if (!cms.ok()) return "<" + cms.error().ToString() + ">";
  internal::BioPtr out = internal::WriteBio();
  if (CMS_decrypt(cms->get(), h.key.get(), h.cert.get(), nullptr, out.get(), CMS_BINARY) != 1) {
    return "<CMS_decrypt failed: " + TakeOpenSslError() + ">";
  }
  return std::string(internal::BioContents(out.get()));
}

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = SmimeEngine::Create().value(); }

  // Both encoders for the same recipients and options: the prepared output
  // must be the prepared encoder's, the other CMS_encrypt's.
  std::pair<EncryptInfo, EncryptInfo> Both(const std::string& msg, const std::vector<Recipient>& rs,
                                           EncryptOptions options = {}) {
    options.use_cms = false;
    auto fast = engine_->Encrypt(msg, rs, options);
    options.use_cms = true;
    auto cms = engine_->Encrypt(msg, rs, options);
    EXPECT_TRUE(fast.ok()) << fast.error().ToString();
    EXPECT_TRUE(cms.ok()) << cms.error().ToString();
    if (!fast.ok() || !cms.ok()) return {};
    EXPECT_FALSE(cms->prepared);
    return {std::move(fast).value(), std::move(cms).value()};
  }

  std::unique_ptr<SmimeEngine> engine_;
};

TEST_F(EnvelopeTest, SameStructureAsCmsEncryptAndOpenSslDecrypts) {
  const std::string big(1 << 20, 'x');
  const std::vector<std::string> bodies = {"", "short\r\n", big};
  const std::vector<ContentCipher> ciphers = {ContentCipher::kAes256Cbc, ContentCipher::kAes128Cbc,
                                              ContentCipher::kAes256Gcm};
  const auto& users = RsaUsers();
  for (const std::string& body : bodies) {
    std::string msg = SampleMessage("alice@example.com", body);
    std::string entity = SplitForSmime(msg, true, MimeLimits{}).value().entity;
    for (ContentCipher cipher : ciphers) {
      for (bool oaep : {false, true}) {
        std::vector<Recipient> rs;
        rs.reserve(users.size());
        for (const Holder& h : users) rs.push_back({h.cert, false, oaep});
        EncryptOptions options;
        options.cipher = cipher;
        auto [fast, cms] = Both(msg, rs, options);
        SCOPED_TRACE("body " + std::to_string(body.size()) + " cipher " + fast.cipher_name +
                     (oaep ? " oaep" : " pkcs1"));
        ASSERT_TRUE(fast.prepared);
        EXPECT_EQ(fast.cipher_name, cms.cipher_name);
        EXPECT_EQ(fast.auth_enveloped, cms.auth_enveloped);
        // The MIME wrapping is the same up to the base64 of the DER.
        EXPECT_EQ(fast.message.substr(0, fast.message.find("\r\n\r\nM")),
                  cms.message.substr(0, cms.message.find("\r\n\r\nM")));
        std::string fast_der = testing::ExtractP7m(fast.message);
        std::string cms_der = testing::ExtractP7m(cms.message);
        EXPECT_EQ(fast_der.size(), cms_der.size());
        EXPECT_EQ(Skeleton(fast_der), Skeleton(cms_der));
        for (const Holder& h : users) {
          EXPECT_TRUE(Decrypted(fast_der, h) == entity) << h.name;
        }
      }
    }
  }
}

TEST_F(EnvelopeTest, EmptyContentAndSplitPiecesDecrypt) {
  const Holder& alice = RsaUsers()[0];
  auto prepared = PreparedRecipient::Create(alice.cert);
  ASSERT_TRUE(prepared->key_transport());
  ASSERT_FALSE(prepared->key_agreement());
  internal::EnvelopeRecipient r{prepared.get(), false};
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_CIPHER* cbc = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  for (EVP_CIPHER* c : {gcm, cbc}) {
    auto empty = internal::EncodeEnveloped({}, std::span(&r, 1), c);
    ASSERT_TRUE(empty.ok()) << empty.error().ToString();
    EXPECT_EQ(Decrypted(*empty, alice), "");
    // Pieces that do not end on block boundaries: one stream of ciphertext.
    const std::array<std::string_view, 4> pieces = {"abc", "", "0123456789abcdefXYZ", "!"};
    auto split = internal::EncodeEnveloped(pieces, std::span(&r, 1), c);
    ASSERT_TRUE(split.ok()) << split.error().ToString();
    EXPECT_EQ(Decrypted(*split, alice), "abc0123456789abcdefXYZ!");
  }
  EVP_CIPHER_free(gcm);
  EVP_CIPHER_free(cbc);
}

TEST_F(EnvelopeTest, AlgorithmChoiceUnchanged) {
  const auto& pki = GetTestPki();
  std::vector<Recipient> all{{pki.alice.cert, true}, {pki.carol.cert, true}};
  auto gcm = engine_->Encrypt(SampleMessage(), all).value();
  EXPECT_TRUE(gcm.prepared);
  EXPECT_TRUE(gcm.auth_enveloped);
  EXPECT_EQ(gcm.cipher_name, "AES-256-GCM");
  EXPECT_NE(gcm.message.find("smime-type=authEnveloped-data"), std::string::npos);
  std::vector<Recipient> mixed{{pki.alice.cert, true}, {pki.carol.cert, false}};
  auto cbc = engine_->Encrypt(SampleMessage(), mixed).value();
  EXPECT_TRUE(cbc.prepared);
  EXPECT_FALSE(cbc.auth_enveloped);
  EXPECT_EQ(cbc.cipher_name, "AES-256-CBC");
}

TEST_F(EnvelopeTest, EcRecipientsGetKeyAgreementLikeCmsEncrypt) {
  const auto& pki = GetTestPki();
  Holder bob{"bob", pki.bob.key, pki.bob.cert};
  Holder ec2 = Issue("ec2", AdoptPkey(sg::testing::MakeEcKey().release()),
                     "critical,digitalSignature,keyAgreement");
  const Holder& alice = RsaUsers()[0];
  const std::vector<std::vector<const Holder*>> sets = {{&bob}, {&bob, &ec2}, {&alice, &bob}};
  const std::vector<ContentCipher> ciphers = {ContentCipher::kAes256Cbc, ContentCipher::kAes128Cbc,
                                              ContentCipher::kAes256Gcm};
  std::string msg = SampleMessage();
  std::string entity = SplitForSmime(msg, true, MimeLimits{}).value().entity;
  for (const auto& set : sets) {
    for (ContentCipher cipher : ciphers) {
      std::vector<Recipient> rs;
      rs.reserve(set.size());
      for (const Holder* h : set) rs.push_back({h->cert});
      EncryptOptions options;
      options.cipher = cipher;
      auto [fast, cms] = Both(msg, rs, options);
      SCOPED_TRACE(std::to_string(set.size()) + " recipients, " + fast.cipher_name);
      EXPECT_TRUE(fast.prepared);
      std::string fast_der = testing::ExtractP7m(fast.message);
      EXPECT_EQ(Skeleton(fast_der), Skeleton(testing::ExtractP7m(cms.message)));
      for (const Holder* h : set) {
        EXPECT_TRUE(Decrypted(fast_der, *h) == entity) << h->name;
        KeyPair kp{h->key, h->cert};
        auto dec = engine_->Decrypt(fast.message, std::span(&kp, 1));
        ASSERT_TRUE(dec.ok()) << h->name << ": " << dec.error().ToString();
      }
    }
  }
}

TEST_F(EnvelopeTest, UnknownKeyTypeSendsTheWholeMessageThroughCmsEncrypt) {
  // An RSA-PSS subject key: not prepared; with an RSA recipient beside it
  // the whole message takes CMS_encrypt, with CMS_encrypt's result.
  EVP_PKEY_CTX* gen = EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr);
  EVP_PKEY* pss_raw = nullptr;
  ASSERT_TRUE(gen != nullptr && EVP_PKEY_keygen_init(gen) > 0 &&
              EVP_PKEY_CTX_set_rsa_keygen_bits(gen, 2048) > 0 &&
              EVP_PKEY_keygen(gen, &pss_raw) > 0);
  EVP_PKEY_CTX_free(gen);
  PkeyPtr pss = AdoptPkey(pss_raw);
  Holder odd = Issue("pss", pss, "critical,digitalSignature,keyEncipherment");
  EXPECT_FALSE(PreparedRecipient::Create(odd.cert)->fast());
  const auto& pki = GetTestPki();
  std::vector<Recipient> rs{{pki.alice.cert}, {odd.cert}};
  EncryptOptions options;
  options.use_cms = true;
  auto cms = engine_->Encrypt(SampleMessage(), rs, options);
  options.use_cms = false;
  auto fast = engine_->Encrypt(SampleMessage(), rs, options);
  ASSERT_EQ(fast.ok(), cms.ok());
  if (!cms.ok()) {
    EXPECT_EQ(fast.error().ToString(), cms.error().ToString());
    return;
  }
  EXPECT_FALSE(fast->prepared);
}

TEST_F(EnvelopeTest, OddCertificatesGetWhatCmsEncryptGives) {
  // RSA-1024 and a certificate without keyEncipherment: whatever CMS_encrypt
  // does with them (it encrypts to both), the prepared path does too, with the
  // same structure; OpenSSL decrypts it.
  std::vector<Holder> odd;
  odd.push_back(Issue("rsa1024", Rsa(1024), "critical,digitalSignature,keyEncipherment"));
  odd.push_back(Issue("signonly", Rsa(2048), "critical,digitalSignature"));
  for (const Holder& h : odd) {
    std::vector<Recipient> rs{{h.cert}};
    EncryptOptions options;
    options.use_cms = true;
    auto cms = engine_->Encrypt(SampleMessage(), rs, options);
    options.use_cms = false;
    auto fast = engine_->Encrypt(SampleMessage(), rs, options);
    ASSERT_EQ(fast.ok(), cms.ok()) << h.name;
    if (!cms.ok()) {
      EXPECT_EQ(fast.error().ToString(), cms.error().ToString());
      continue;
    }
    EXPECT_TRUE(fast->prepared);
    std::string der = testing::ExtractP7m(fast->message);
    EXPECT_EQ(Skeleton(der), Skeleton(testing::ExtractP7m(cms->message))) << h.name;
    EXPECT_NE(Decrypted(der, h).find("this is a test"), std::string::npos) << h.name;
  }
  // A recipient without a certificate: the same error as always.
  std::vector<Recipient> none{{nullptr}};
  auto missing = engine_->Encrypt(SampleMessage(), none);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "encrypt: recipient without certificate");
}

TEST_F(EnvelopeTest, PreparationFromAnotherCertificateIsNotUsed) {
  const auto& pki = GetTestPki();
  // Prepared for carol, handed in with alice's certificate: alice must be
  // able to decrypt (the engine re-prepares rather than trust a mismatch).
  Recipient r{pki.alice.cert, false, false, PreparedRecipient::Create(pki.carol.cert)};
  auto enc = engine_->Encrypt(SampleMessage(), std::span(&r, 1)).value();
  EXPECT_TRUE(enc.prepared);
  KeyPair kp = pki.alice.Pair();
  auto dec = engine_->Decrypt(enc.message, std::span(&kp, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_TRUE(PreparedRecipient::Create(pki.bob.cert)->key_agreement());
  EXPECT_FALSE(PreparedRecipient::Create(pki.bob.cert)->key_transport());
  EXPECT_FALSE(PreparedRecipient::Create(nullptr)->fast());
}

}  // namespace
}  // namespace sg::smime
