// The prepared decoder of EnvelopedData: key agreement (ECDH, X9.63 KDF, AES
// key unwrap) and key transport (RSA) from the DER the engine holds, then the
// AES-CBC content in one pass. See smime_decrypt_prepared.h.
#include "workers/smime/smime_decrypt_prepared.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>
#include <climits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/mail/der.h"
#include "workers/smime/smime_der.h"

namespace sg::smime::internal {
namespace {

using mail::DerTlv;

constexpr std::array<int, 3> kCbcNids = {NID_aes_128_cbc, NID_aes_192_cbc, NID_aes_256_cbc};
constexpr std::array<const char*, 3> kCbcNames = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
constexpr std::array<int, 3> kGcmNids = {NID_aes_128_gcm, NID_aes_192_gcm, NID_aes_256_gcm};
constexpr std::array<const char*, 3> kGcmNames = {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"};
// RFC 5084: a 12-byte nonce (what every writer uses; other lengths go to
// CMS_decrypt) and aes-ICVlen 12..16, the length of the mac.
constexpr size_t kGcmNonceSize = 12;
constexpr int kMinIcvLen = 12;
constexpr int kMaxIcvLen = 16;
constexpr std::array<int, 3> kWrapNids = {NID_id_aes128_wrap, NID_id_aes192_wrap,
                                          NID_id_aes256_wrap};
constexpr std::array<const char*, 3> kWrapNames = {"AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP"};
constexpr std::array<size_t, 3> kKeySizes = {16, 24, 32};
constexpr size_t kIvSize = 16;
// dhSinglePass-stdDH-*kdf-scheme (RFC 5753 7.1.4) and the KDF digest of each.
constexpr std::array<int, 5> kSchemeNids = {
    NID_dhSinglePass_stdDH_sha1kdf_scheme, NID_dhSinglePass_stdDH_sha224kdf_scheme,
    NID_dhSinglePass_stdDH_sha256kdf_scheme, NID_dhSinglePass_stdDH_sha384kdf_scheme,
    NID_dhSinglePass_stdDH_sha512kdf_scheme};
constexpr std::array<const char*, 5> kSchemeDigests = {"SHA1", "SHA224", "SHA256", "SHA384",
                                                       "SHA512"};
// The NIST prime curves: cofactor 1, so an on-curve point is in the group.
constexpr std::array<int, 3> kCurveNids = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};

template <size_t N>
std::array<std::string, N> EncodedOids(const std::array<int, N>& nids) {
  std::array<std::string, N> out;
  for (size_t i = 0; i < N; ++i) out[i] = DerOid(nids[i]);
  return out;
}

// The DER this decoder compares with, encoded once per process.
struct Encodings {
  std::array<std::string, 3> cbc = EncodedOids(kCbcNids);
  std::array<std::string, 3> gcm = EncodedOids(kGcmNids);
  std::array<std::string, 3> wrap = EncodedOids(kWrapNids);
  std::array<std::string, 5> schemes = EncodedOids(kSchemeNids);
  std::array<std::string, 3> curves = EncodedOids(kCurveNids);
  std::string ec_public_key = DerOid(NID_X9_62_id_ecPublicKey);
  // rsaEncryption with NULL or absent parameters
  std::string rsa_null = DerTlv(0x30, DerOid(NID_rsaEncryption) + std::string("\x05\x00", 2));
  std::string rsa_bare = DerTlv(0x30, DerOid(NID_rsaEncryption));
  // RSAES-OAEP with every parameter at its default (SHA-1, MGF1-SHA-1)
  std::string oaep_default = DerTlv(0x30, DerOid(NID_rsaesOaep) + DerTlv(0x30, ""));
  std::string oaep_bare = DerTlv(0x30, DerOid(NID_rsaesOaep));
  std::string oaep_sha256 = DerOaepSha256Algorithm();
};
const Encodings& Der() {
  static const Encodings encodings;
  return encodings;
}

template <size_t N>
int IndexOf(const std::array<std::string, N>& table, std::string_view der) {
  for (size_t i = 0; i < N; ++i) {
    if (table[i] == der) return static_cast<int>(i);
  }
  return -1;
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using OwnedPkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// This thread's ciphers (fetched once), cipher contexts and EC key importer.
struct ThreadCrypto {
  std::array<EVP_CIPHER*, 3> cbc{};
  std::array<EVP_CIPHER*, 3> gcm{};
  std::array<EVP_CIPHER*, 3> wrap{};
  EVP_CIPHER_CTX* content_ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* wrap_ctx = EVP_CIPHER_CTX_new();
  EVP_PKEY_CTX* ec_import = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  ThreadCrypto() {
    for (size_t i = 0; i < cbc.size(); ++i) {
      cbc[i] = EVP_CIPHER_fetch(nullptr, kCbcNames[i], nullptr);
      gcm[i] = EVP_CIPHER_fetch(nullptr, kGcmNames[i], nullptr);
      wrap[i] = EVP_CIPHER_fetch(nullptr, kWrapNames[i], nullptr);
    }
    if (ec_import != nullptr && EVP_PKEY_fromdata_init(ec_import) != 1) {
      EVP_PKEY_CTX_free(ec_import);
      ec_import = nullptr;
    }
  }
  ~ThreadCrypto() {
    for (size_t i = 0; i < cbc.size(); ++i) {
      EVP_CIPHER_free(cbc[i]);
      EVP_CIPHER_free(gcm[i]);
      EVP_CIPHER_free(wrap[i]);
    }
    EVP_CIPHER_CTX_free(content_ctx);
    EVP_CIPHER_CTX_free(wrap_ctx);
    EVP_PKEY_CTX_free(ec_import);
  }
  ThreadCrypto(const ThreadCrypto&) = delete;
  ThreadCrypto& operator=(const ThreadCrypto&) = delete;
};
ThreadCrypto& Thread() {
  thread_local ThreadCrypto crypto;
  return crypto;
}

// This thread's prepared context for a private key: the ECDH derive context
// (derive_init'ed) or the RSA decrypt context (decrypt_init'ed), made on the
// key's first message and reused (the per-message parameters - peer, KDF,
// padding - are set on it each time). A context holds a reference to its key,
// so the address cannot be reused for another key while it is here. Bounded,
// dropped all at once when full, so that keys the worker has let go of do
// not stay in memory for long.
constexpr size_t kMaxPreparedKeys = 16;
EVP_PKEY_CTX* PreparedContext(EVP_PKEY* key, bool derive) {
  thread_local std::unordered_map<const EVP_PKEY*, PkeyCtxPtr> contexts;
  auto it = contexts.find(key);
  if (it != contexts.end()) return it->second.get();
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || (derive ? EVP_PKEY_derive_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get())) <= 0) {
    return nullptr;
  }
  if (contexts.size() >= kMaxPreparedKeys) contexts.clear();
  return contexts.emplace(key, std::move(ctx)).first->second.get();
}

// Key material, cleansed when it goes out of scope.
template <size_t N>
struct Secret {
  std::array<unsigned char, N> bytes{};
  size_t size = 0;
  Secret() = default;
  ~Secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
};
using ContentKey = Secret<64>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// ---------------------------------------------------------------- structure

// contentEncryptionAlgorithm: AES-CBC with its IV (EnvelopedData), or
// AES-GCM with GCMParameters (AuthEnvelopedData, RFC 5084).
struct ContentAlgorithm {
  bool gcm = false;
  size_t index = 0;     // into kCbcNids or kGcmNids
  std::string_view iv;  // the CBC IV or the GCM nonce
  size_t tag_len = 0;   // GCM: aes-ICVlen
};
std::optional<ContentAlgorithm> ReadContentAlgorithm(const Tlv& alg, bool auth_enveloped) {
  auto f = ReadChildren(alg.content);
  if (!f || f->size() != 2) return std::nullopt;
  if (!auth_enveloped) {
    const int i = IndexOf(Der().cbc, (*f)[0].whole);
    if (i < 0 || (*f)[1].tag != 0x04 || (*f)[1].content.size() != kIvSize) return std::nullopt;
    return ContentAlgorithm{false, static_cast<size_t>(i), (*f)[1].content, 0};
  }
  const int i = IndexOf(Der().gcm, (*f)[0].whole);
  auto params = ReadGcmParameters((*f)[1].whole);
  if (i < 0 || !params || params->nonce.size() != kGcmNonceSize || params->icv_len < kMinIcvLen ||
      params->icv_len > kMaxIcvLen) {
    return std::nullopt;
  }
  return ContentAlgorithm{true, static_cast<size_t>(i), params->nonce,
                          static_cast<size_t>(params->icv_len)};
}

// What follows the EncryptedContentInfo of an AuthEnvelopedData: authAttrs
// [1] IMPLICIT (optional) and the mac. unauthAttrs [2], or anything else,
// is not served.
struct AuthParts {
  std::string aad;  // the DER of authAttrs as a SET OF (RFC 5083 2.2), empty if absent
  std::string_view mac;
};
std::optional<AuthParts> ReadAuthParts(const std::vector<Tlv>& trailing) {
  AuthParts p;
  size_t i = 0;
  if (i < trailing.size() && trailing[i].tag == 0xA1) {
    // "The IMPLICIT [1] tag in the authAttrs field is not used for the DER
    // encoding, rather an EXPLICIT SET OF tag is used": the same length and
    // content under the universal SET tag, as received (definite lengths
    // only: a BER encoding would first need re-encoding as DER).
    const Tlv& attrs = trailing[i];
    if (attrs.whole.size() < 2 || static_cast<unsigned char>(attrs.whole[1]) == 0x80) {
      return std::nullopt;
    }
    p.aad = attrs.whole;
    p.aad[0] = '\x31';
    ++i;
  }
  if (i + 1 != trailing.size() || trailing[i].tag != 0x04) return std::nullopt;
  p.mac = trailing[i].content;
  return p;
}

// What a KeyAgreeRecipientInfo (RFC 5652 6.2.2) holds for us.
struct KariParts {
  std::string_view point;         // originatorKey publicKey (an encoded EC point)
  std::string_view curve_params;  // originatorKey algorithm parameters TLV, empty if absent
  std::string_view ukm;           // the ukm OCTET STRING TLV, empty if absent
  const char* kdf_digest = nullptr;
  size_t wrap = 0;                  // into kWrapNids
  std::string_view wrap_algorithm;  // the KeyWrapAlgorithm as written
  std::string_view encrypted_key;   // of RecipientEncryptedKey |rek|
};

// originator [0] EXPLICIT originatorKey [1] IMPLICIT { algorithm, publicKey }.
bool ReadOriginatorKey(const Tlv& originator, KariParts& p) {
  auto key = ReadTlv(originator.content);
  if (!key || key->tag != 0xA1 || key->whole.size() != originator.content.size()) return false;
  auto f = ReadChildren(key->content);
  if (!f || f->size() != 2 || (*f)[0].tag != 0x30 || (*f)[1].tag != 0x03) return false;
  auto alg = ReadChildren((*f)[0].content);
  if (!alg || alg->empty() || alg->size() > 2 || (*alg)[0].whole != Der().ec_public_key) {
    return false;
  }
  if (alg->size() == 2) p.curve_params = (*alg)[1].whole;
  std::string_view bits = (*f)[1].content;
  if (bits.size() < 2 || bits[0] != 0) return false;  // no unused bits
  p.point = bits.substr(1);
  return true;
}

// keyEncryptionAlgorithm { dhSinglePass-stdDH-*kdf-scheme, KeyWrapAlgorithm }.
bool ReadKeyAgreementAlgorithm(const Tlv& alg, KariParts& p) {
  auto f = ReadChildren(alg.content);
  if (!f || f->size() != 2 || (*f)[1].tag != 0x30) return false;
  const int scheme = IndexOf(Der().schemes, (*f)[0].whole);
  auto wrap = ReadChildren((*f)[1].content);
  if (scheme < 0 || !wrap || wrap->size() != 1) return false;  // AES wraps: no parameters
  const int w = IndexOf(Der().wrap, (*wrap)[0].whole);
  if (w < 0) return false;
  p.kdf_digest = kSchemeDigests[static_cast<size_t>(scheme)];
  p.wrap = static_cast<size_t>(w);
  p.wrap_algorithm = (*f)[1].whole;
  return true;
}

std::optional<KariParts> ReadKari(const Tlv& ri, int rek) {
  if (ri.tag != 0xA1 || rek < 0) return std::nullopt;
  auto f = ReadChildren(ri.content);
  // version 3, originator, ukm [1] OPTIONAL, keyEncryptionAlgorithm, recipientEncryptedKeys
  if (!f || f->size() < 4 || (*f)[0].whole != std::string_view("\x02\x01\x03", 3)) {
    return std::nullopt;
  }
  const std::vector<Tlv>& v = *f;
  KariParts p;
  size_t i = 2;
  if (v[i].tag == 0xA1) {
    auto ukm = ReadTlv(v[i].content);
    if (!ukm || ukm->tag != 0x04 || ukm->whole.size() != v[i].content.size()) return std::nullopt;
    p.ukm = ukm->whole;
    ++i;
  }
  if (v[1].tag != 0xA0 || v.size() != i + 2 || v[i + 1].tag != 0x30 ||
      !ReadOriginatorKey(v[1], p) || !ReadKeyAgreementAlgorithm(v[i], p)) {
    return std::nullopt;
  }
  auto reks = ReadChildren(v[i + 1].content);
  if (!reks || static_cast<size_t>(rek) >= reks->size()) return std::nullopt;
  auto rf = ReadChildren((*reks)[static_cast<size_t>(rek)].content);
  if (!rf || rf->size() != 2 || (*rf)[1].tag != 0x04) return std::nullopt;
  p.encrypted_key = (*rf)[1].content;
  return p;
}

// What a KeyTransRecipientInfo (RFC 5652 6.2.1) holds for us.
struct KtriParts {
  int padding = RSA_PKCS1_PADDING;
  const char* oaep_digest = nullptr;
  std::string_view encrypted_key;
};
std::optional<KtriParts> ReadKtri(const Tlv& ri) {
  if (ri.tag != 0x30) return std::nullopt;
  auto f = ReadChildren(ri.content);  // version, rid, keyEncryptionAlgorithm, encryptedKey
  if (!f || f->size() != 4 || (*f)[3].tag != 0x04) return std::nullopt;
  const std::string_view alg = (*f)[2].whole;
  const Encodings& d = Der();
  KtriParts p;
  p.encrypted_key = (*f)[3].content;
  if (alg == d.rsa_null || alg == d.rsa_bare) return p;
  p.padding = RSA_PKCS1_OAEP_PADDING;
  if (alg == d.oaep_sha256) {
    p.oaep_digest = "SHA256";
  } else if (alg == d.oaep_default || alg == d.oaep_bare) {
    p.oaep_digest = "SHA1";
  } else {
    return std::nullopt;
  }
  return p;
}

// ----------------------------------------------------------- key agreement

// The OpenSSL group name of |key| when it is a curve this decoder serves and
// |params| (the originator's curve, if named) is that curve.
std::optional<std::string> ServedCurve(EVP_PKEY* key, std::string_view params) {
  std::array<char, 64> name{};
  if (!EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_group_name(key, name.data(), name.size(), nullptr) != 1) {
    return std::nullopt;
  }
  int nid = OBJ_sn2nid(name.data());
  if (nid == NID_undef) nid = EC_curve_nist2nid(name.data());
  for (size_t i = 0; i < kCurveNids.size(); ++i) {
    if (kCurveNids[i] != nid) continue;
    if (params.empty() || params == std::string_view("\x05\x00", 2) || params == Der().curves[i]) {
      return std::string(name.data());
    }
  }
  return std::nullopt;
}

// This thread's key for the sender's ephemeral point on one curve, and a
// context to check it: made from the first point seen, then given each
// message's point in place (EC_GROUP set-up from the curve name costs about
// as much as the rest of the key agreement).
struct PeerSlot {
  OwnedPkey key;
  PkeyCtxPtr check;
};

// The sender's ephemeral key on |group|. Decoding refuses a point that is
// not on the curve (EC_POINT_oct2point); the quick check refuses the point
// at infinity and coordinates out of range. Both suffice on a cofactor-1
// curve (see the header), so the derive skips OpenSSL's full check. The key
// is this thread's, valid until its next call.
EVP_PKEY* PeerKey(ThreadCrypto& t, const std::string& group, std::string_view point) {
  thread_local std::unordered_map<std::string, PeerSlot> slots;
  auto it = slots.find(group);
  if (it != slots.end()) {
    if (EVP_PKEY_set1_encoded_public_key(it->second.key.get(), Bytes(point), point.size()) != 1) {
      slots.erase(it);  // a refused point may be left in the key: never reuse it
      return nullptr;
    }
  } else {
    if (t.ec_import == nullptr) return nullptr;
    std::array<OSSL_PARAM, 3> params = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                         const_cast<char*>(group.c_str()), 0),
        // OpenSSL copies the point; the const_cast only satisfies the C signature.
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<char*>(point.data()),
                                          point.size()),
        OSSL_PARAM_construct_end()};
    EVP_PKEY* peer = nullptr;
    if (EVP_PKEY_fromdata(t.ec_import, &peer, EVP_PKEY_PUBLIC_KEY, params.data()) != 1) {
      return nullptr;
    }
    PeerSlot slot{OwnedPkey(peer), PkeyCtxPtr(EVP_PKEY_CTX_new_from_pkey(nullptr, peer, nullptr))};
    if (!slot.check) return nullptr;
    it = slots.emplace(group, std::move(slot)).first;
  }
  if (EVP_PKEY_public_check_quick(it->second.check.get()) != 1) {
    slots.erase(it);
    return nullptr;
  }
  return it->second.key.get();
}

// ECC-CMS-SharedInfo { keyInfo, entityUInfo [0] EXPLICIT OPTIONAL,
// suppPubInfo [2] EXPLICIT key-encryption key length in bits } (RFC 5753 7.2),
// as OpenSSL's CMS_SharedInfo_encode writes it.
std::string SharedInfo(const KariParts& p) {
  const size_t bits = kKeySizes[p.wrap] * 8;
  const std::array<char, 4> supp = {static_cast<char>(bits >> 24), static_cast<char>(bits >> 16),
                                    static_cast<char>(bits >> 8), static_cast<char>(bits)};
  std::string content(p.wrap_algorithm);
  if (!p.ukm.empty()) content += DerTlv(0xA0, p.ukm);
  content += DerTlv(0xA2, DerTlv(0x04, std::string_view(supp.data(), supp.size())));
  return DerTlv(0x30, content);
}

// ECDH with the X9.63 KDF straight to the key-encryption key.
bool DeriveKek(EVP_PKEY* key, EVP_PKEY* peer, const KariParts& p, Secret<32>& kek) {
  const std::string info = SharedInfo(p);
  size_t kek_len = kKeySizes[p.wrap];
  std::array<OSSL_PARAM, 5> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE,
                                       const_cast<char*>(OSSL_KDF_NAME_X963KDF), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST,
                                       const_cast<char*>(p.kdf_digest), 0),
      OSSL_PARAM_construct_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, &kek_len),
      OSSL_PARAM_construct_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX* derive = PreparedContext(key, true);
  size_t got = kek_len;
  if (derive == nullptr || EVP_PKEY_CTX_set_params(derive, params.data()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(derive, peer, /*validate_peer=*/0) <= 0 ||
      EVP_PKEY_derive(derive, kek.bytes.data(), &got) <= 0 || got != kek_len) {
    return false;
  }
  kek.size = got;
  return true;
}

PreparedStatus KeyAgreement(const KariParts& p, EVP_PKEY* key, ContentKey& cek) {
  std::optional<std::string> group = ServedCurve(key, p.curve_params);
  if (!group) return PreparedStatus::kNotHandled;
  ThreadCrypto& t = Thread();
  EVP_PKEY* peer = PeerKey(t, *group, p.point);
  if (peer == nullptr) return PreparedStatus::kBadPeerKey;
  Secret<32> kek;
  if (!DeriveKek(key, peer, p, kek)) return PreparedStatus::kFailed;
  // AES key unwrap (RFC 3394): 8 bytes of integrity over a 16..32-byte key.
  const std::string_view ek = p.encrypted_key;
  if (ek.size() < 24 || ek.size() > 40 || t.wrap_ctx == nullptr || t.wrap[p.wrap] == nullptr) {
    return PreparedStatus::kFailed;
  }
  int len = 0;
  int fin = 0;
  EVP_CIPHER_CTX_set_flags(t.wrap_ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_DecryptInit_ex2(t.wrap_ctx, t.wrap[p.wrap], kek.bytes.data(), nullptr, nullptr) != 1 ||
      EVP_DecryptUpdate(t.wrap_ctx, cek.bytes.data(), &len, Bytes(ek),
                        static_cast<int>(ek.size())) != 1 ||
      EVP_DecryptFinal_ex(t.wrap_ctx, cek.bytes.data() + len, &fin) != 1) {
    return PreparedStatus::kFailed;
  }
  cek.size = static_cast<size_t>(len) + static_cast<size_t>(fin);
  return PreparedStatus::kDone;
}

// ----------------------------------------------------------- key transport

// RSA decryption of the content key. As cms_env.c does it: whatever the
// padding check says, the content is then decrypted, with a random key when
// the RSA result is not a key of |want| bytes (selected without a branch).
PreparedStatus KeyTransport(const KtriParts& p, EVP_PKEY* key, size_t want, ContentKey& cek) {
  Secret<1024> plain;  // up to RSA-8192
  if (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_size(key) <= 0 ||
      static_cast<size_t>(EVP_PKEY_get_size(key)) > plain.bytes.size() || want > cek.bytes.size()) {
    return PreparedStatus::kNotHandled;
  }
  EVP_PKEY_CTX* ctx = PreparedContext(key, false);
  if (ctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(ctx, p.padding) <= 0 ||
      (p.oaep_digest != nullptr &&
       EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, p.oaep_digest, nullptr) <= 0)) {
    return PreparedStatus::kNotHandled;
  }
  if (RAND_bytes(cek.bytes.data(), static_cast<int>(want)) != 1) return PreparedStatus::kFailed;
  size_t out_len = plain.bytes.size();
  const int ret = EVP_PKEY_decrypt(ctx, plain.bytes.data(), &out_len, Bytes(p.encrypted_key),
                                   p.encrypted_key.size());
  const auto good = static_cast<unsigned>(ret > 0) & static_cast<unsigned>(out_len == want);
  const auto mask = static_cast<unsigned char>(0U - good);
  for (size_t i = 0; i < want; ++i) {
    cek.bytes[i] = static_cast<unsigned char>((plain.bytes[i] & mask) | (cek.bytes[i] & ~mask));
  }
  cek.size = want;
  return PreparedStatus::kDone;
}

// ------------------------------------------------------------------ content

PreparedStatus DecryptCbc(const ContentAlgorithm& alg, const ContentKey& cek,
                          std::string_view ciphertext, std::string& out) {
  ThreadCrypto& t = Thread();
  EVP_CIPHER* cipher = t.cbc[alg.index];
  if (cipher == nullptr || t.content_ctx == nullptr || ciphertext.size() > INT_MAX - kIvSize) {
    return PreparedStatus::kNotHandled;
  }
  if (cek.size != kKeySizes[alg.index]) return PreparedStatus::kFailed;
  out.resize(ciphertext.size() + kIvSize);  // CBC output never exceeds its input
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  int fin = 0;
  if (EVP_DecryptInit_ex2(t.content_ctx, cipher, cek.bytes.data(), Bytes(alg.iv), nullptr) != 1 ||
      EVP_DecryptUpdate(t.content_ctx, dst, &len, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_DecryptFinal_ex(t.content_ctx, dst + len, &fin) != 1) {
    return PreparedStatus::kFailed;
  }
  out.resize(static_cast<size_t>(len) + static_cast<size_t>(fin));
  return PreparedStatus::kDone;
}

// AES-GCM over |aad| and |ciphertext| into |out| (the same size); kDone only
// when the tag |mac| verifies (EVP_DecryptFinal_ex), otherwise |out| holds
// unauthenticated bytes that the caller wipes and never returns.
PreparedStatus DecryptGcm(const ContentAlgorithm& alg, const ContentKey& cek, std::string_view aad,
                          std::string_view mac, std::string_view ciphertext, std::string& out) {
  ThreadCrypto& t = Thread();
  EVP_CIPHER* cipher = t.gcm[alg.index];
  if (cipher == nullptr || t.content_ctx == nullptr || ciphertext.size() > INT_MAX ||
      aad.size() > INT_MAX) {
    return PreparedStatus::kNotHandled;
  }
  if (cek.size != kKeySizes[alg.index]) return PreparedStatus::kFailed;
  out.resize(ciphertext.size());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  int fin = 0;
  // The default IV length of these ciphers is 12: the nonce is passed as is.
  if (EVP_DecryptInit_ex2(t.content_ctx, cipher, cek.bytes.data(), Bytes(alg.iv), nullptr) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(t.content_ctx, nullptr, &len, Bytes(aad),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(t.content_ctx, dst, &len, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1 ||
      // OpenSSL copies the tag; the const_cast only satisfies the C signature.
      EVP_CIPHER_CTX_ctrl(t.content_ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(mac.size()),
                          const_cast<char*>(mac.data())) != 1 ||
      EVP_DecryptFinal_ex(t.content_ctx, dst + len, &fin) != 1) {
    return PreparedStatus::kFailed;
  }
  out.resize(static_cast<size_t>(len) + static_cast<size_t>(fin));
  return PreparedStatus::kDone;
}

PreparedStatus Run(std::string_view der, int ri, int rek, EVP_PKEY* key,
                   std::string_view ciphertext, std::string& out) {
  auto layout = ReadEnvelopedLayout(der);
  if (key == nullptr || !layout || ri < 0 ||
      static_cast<size_t>(ri) >= layout->recipient_infos.size()) {
    return PreparedStatus::kNotHandled;
  }
  auto alg = ReadContentAlgorithm(layout->content_algorithm, layout->auth_enveloped);
  if (!alg) return PreparedStatus::kNotHandled;
  std::optional<AuthParts> auth;
  if (alg->gcm) {
    auth = ReadAuthParts(layout->trailing);
    // A mac of another length than aes-ICVlen: CMS_decrypt's case (it
    // checks the mac as given; the engine refuses one outside 12..16).
    if (!auth || auth->mac.size() != alg->tag_len) return PreparedStatus::kNotHandled;
  }
  const Tlv& info = layout->recipient_infos[static_cast<size_t>(ri)];
  ContentKey cek;
  PreparedStatus status = PreparedStatus::kNotHandled;
  if (rek >= 0) {
    auto parts = ReadKari(info, rek);
    if (!parts) return PreparedStatus::kNotHandled;
    status = KeyAgreement(*parts, key, cek);
  } else {
    auto parts = ReadKtri(info);
    if (!parts) return PreparedStatus::kNotHandled;
    status = KeyTransport(*parts, key, kKeySizes[alg->index], cek);
  }
  if (status != PreparedStatus::kDone) return status;
  if (alg->gcm) return DecryptGcm(*alg, cek, auth->aad, auth->mac, ciphertext, out);
  return DecryptCbc(*alg, cek, ciphertext, out);
}

}  // namespace

PreparedDecrypt DecryptPrepared(std::string_view der, int ri, int rek, EVP_PKEY* key,
                                std::string_view ciphertext) {
  ERR_set_mark();
  PreparedDecrypt result;
  result.status = Run(der, ri, rek, key, ciphertext, result.content);
  ERR_pop_to_mark();
  if (result.status != PreparedStatus::kDone) {
    OPENSSL_cleanse(result.content.data(), result.content.size());
    result.content.clear();
  }
  return result;
}

}  // namespace sg::smime::internal
