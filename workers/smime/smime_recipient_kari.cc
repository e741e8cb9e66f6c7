// PreparedRecipient, ECDH key agreement (KeyAgreeRecipientInfo, RFC 5753):
// what OpenSSL's CMS code (cms_kari.c, cms_ec.c) writes for an EC
// recipient, from parts prepared per certificate. Per message and recipient:
// one ephemeral key on the recipient's curve, one ECDH derive with the X9.63
// KDF (SHA-1, as OpenSSL's default) over ECC-CMS-SharedInfo, one AES key wrap.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <unordered_map>

#include "common/mail/der.h"
#include "workers/smime/smime_der.h"
#include "workers/smime/smime_recipient.h"

namespace sg::smime {
namespace {

constexpr unsigned char kSequence = 0x30;
// AES key wraps by content key size (16, 24, 32 bytes), as cms_wrap_init picks them.
constexpr std::array<int, 3> kWrapNids = {NID_id_aes128_wrap, NID_id_aes192_wrap,
                                          NID_id_aes256_wrap};
constexpr std::array<const char*, 3> kWrapNames = {"AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP"};
constexpr std::array<size_t, 3> kKeySizes = {16, 24, 32};

std::string Tlv(unsigned char tag, std::string_view content) { return mail::DerTlv(tag, content); }

size_t WrapIndex(size_t key_len) { return key_len <= 16 ? 0 : key_len <= 24 ? 1 : 2; }

struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

// This thread's key-wrap ciphers (fetched once) and cipher context.
struct ThreadWrap {
  std::array<EVP_CIPHER*, 3> ciphers{};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ThreadWrap() {
    for (size_t i = 0; i < ciphers.size(); ++i) {
      ciphers[i] = EVP_CIPHER_fetch(nullptr, kWrapNames[i], nullptr);
    }
  }
  ~ThreadWrap() {
    for (EVP_CIPHER* c : ciphers) EVP_CIPHER_free(c);
    EVP_CIPHER_CTX_free(ctx);
  }
};
ThreadWrap& Wrap() {
  thread_local ThreadWrap wrap;
  return wrap;
}

// A fresh key on |group| from this thread's key generation context for it.
PkeyPtr EphemeralKey(const std::string& group) {
  thread_local std::unordered_map<std::string, CtxPtr> contexts;
  auto it = contexts.find(group);
  if (it == contexts.end()) {
    CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_group_name(ctx.get(), group.c_str()) <= 0) {
      return nullptr;
    }
    it = contexts.emplace(group, std::move(ctx)).first;
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_keygen(it->second.get(), &key) <= 0) return nullptr;
  return AdoptPkey(key);
}

// The key-encryption key, cleansed when the call ends.
struct Kek {
  std::array<unsigned char, 32> bytes{};
  ~Kek() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

Error KariError(const std::string& what) {
  return MakeError(ErrorCode::kInternal,
                   "encrypt: key agreement: " + what + " (" + TakeOpenSslError() + ")");
}

}  // namespace

void PreparedRecipient::PrepareAgreement(EVP_PKEY* pub) {
  std::array<char, 64> name{};
  if (EVP_PKEY_get_group_name(pub, name.data(), name.size(), nullptr) != 1) return;  // explicit
  const std::string group(name.data());
  for (size_t i = 0; i < kWrapNids.size(); ++i) {
    // keyEncryptionAlgorithm { dhSinglePass-stdDH-sha1kdf-scheme, KeyWrapAlgorithm }
    std::string wrap = Tlv(kSequence, internal::DerOid(kWrapNids[i]));
    kari_alg_[i] = Tlv(kSequence, internal::DerOid(NID_dhSinglePass_stdDH_sha1kdf_scheme) + wrap);
    // ECC-CMS-SharedInfo { keyInfo, suppPubInfo [2] EXPLICIT key length in bits }
    const size_t bits = kKeySizes[i] * 8;
    const std::array<char, 4> supp = {static_cast<char>(bits >> 24), static_cast<char>(bits >> 16),
                                      static_cast<char>(bits >> 8), static_cast<char>(bits)};
    shared_info_[i] =
        Tlv(kSequence, wrap + Tlv(0xA2, Tlv(0x04, std::string_view(supp.data(), supp.size()))));
  }
  if (!EphemeralKey(group)) return;  // a curve we cannot generate keys on
  group_ = group;
}

Result<std::string> PreparedRecipient::EncodeKari(std::span<const unsigned char> cek) const {
  const size_t w = WrapIndex(cek.size());
  PkeyPtr eph = EphemeralKey(group_);  // on the recipient's curve
  if (!eph) return KariError("no ephemeral key");
  // ECDH + X9.63 KDF straight to the key-encryption key.
  size_t kek_len = kKeySizes[w];
  const std::string& info = shared_info_[w];
  std::array<OSSL_PARAM, 5> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE,
                                       const_cast<char*>(OSSL_KDF_NAME_X963KDF), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, const_cast<char*>("SHA1"),
                                       0),
      OSSL_PARAM_construct_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, &kek_len),
      // OpenSSL copies the ukm; the const_cast only satisfies the C signature.
      OSSL_PARAM_construct_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  CtxPtr derive(EVP_PKEY_CTX_new_from_pkey(nullptr, eph.get(), nullptr));
  Kek kek;
  size_t got = kek_len;
  if (!derive || EVP_PKEY_derive_init_ex(derive.get(), params.data()) <= 0 ||
      EVP_PKEY_derive_set_peer(derive.get(), X509_get0_pubkey(cert_.get())) <= 0 ||
      EVP_PKEY_derive(derive.get(), kek.bytes.data(), &got) <= 0 || got != kek_len) {
    return KariError("ECDH with " + CertSubjectLine(cert_.get()) + " failed");
  }
  // AES key wrap (RFC 3394) of the content key.
  ThreadWrap& tw = Wrap();
  std::array<unsigned char, 64> wrapped{};
  int len = 0;
  int fin = 0;
  if (tw.ctx == nullptr || tw.ciphers[w] == nullptr) return KariError("no AES key wrap");
  EVP_CIPHER_CTX_set_flags(tw.ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_EncryptInit_ex2(tw.ctx, tw.ciphers[w], kek.bytes.data(), nullptr, nullptr) != 1 ||
      EVP_EncryptUpdate(tw.ctx, wrapped.data(), &len, cek.data(), static_cast<int>(cek.size())) !=
          1 ||
      EVP_EncryptFinal_ex(tw.ctx, wrapped.data() + len, &fin) != 1) {
    return KariError("key wrap failed");
  }
  unsigned char* point = nullptr;
  size_t point_len = EVP_PKEY_get1_encoded_public_key(eph.get(), &point);
  if (point_len == 0) return KariError("cannot encode the ephemeral key");
  std::string bits(1, '\0');  // BIT STRING: no unused bits
  bits.append(reinterpret_cast<const char*>(point), point_len);
  OPENSSL_free(point);
  // originator [0] EXPLICIT originatorKey [1] IMPLICIT { algorithm (no parameters), publicKey }
  std::string originator =
      Tlv(0xA0,
          Tlv(0xA1, Tlv(kSequence, internal::DerOid(NID_X9_62_id_ecPublicKey)) + Tlv(0x03, bits)));
  // recipientEncryptedKeys: SEQUENCE OF { rid issuerAndSerialNumber, encryptedKey }
  std::string reks =
      Tlv(kSequence,
          Tlv(kSequence,
              rid_ + Tlv(0x04, std::string_view(reinterpret_cast<const char*>(wrapped.data()),
                                                static_cast<size_t>(len + fin)))));
  // KeyAgreeRecipientInfo ::= [1] IMPLICIT SEQUENCE { version 3, originator,
  // keyEncryptionAlgorithm, recipientEncryptedKeys } (ukm absent)
  return Tlv(0xA1, std::string("\x02\x01\x03", 3) + originator + kari_alg_[w] + reks);
}

}  // namespace sg::smime
