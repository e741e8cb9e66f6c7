// PreparedRecipient: a recipient certificate with everything per-message key
// transport needs computed once (issue 21), the encryption counterpart of
// PreparedSigner (smime_signer.h).
//
// Why: CMS_encrypt spends more around the one public-key operation than on
// it (RecipientInfo templates, IssuerAndSerialNumber copied out of the
// certificate, a fresh EVP_PKEY_CTX with its provider fetches per message).
// Prepared once per certificate: the public key, the encoded
// RecipientIdentifier (IssuerAndSerialNumber, as CMS_add1_recipient_cert
// writes it without CMS_USE_KEYID), the encoded KeyEncryptionAlgorithmIdentifier
// for RSA PKCS#1 v1.5 and for RSAES-OAEP (SHA-256, MGF1-SHA-256), and an
// EVP_PKEY_CTX per padding that each message duplicates.
//
// Which certificates are prepared: RSA keys (key transport, KTRI) and EC
// keys on a named curve (key agreement, KARI, RFC 5753 as OpenSSL writes it:
// an ephemeral key per message and recipient, dhSinglePass-stdDH-sha1kdf-scheme
// (ANSI X9.63 KDF with SHA-1 over ECC-CMS-SharedInfo), AES key wrap of the
// content key's size, originatorKey without algorithm parameters, no ukm).
// Any other key (RSA-PSS, unknown) is "not prepared" (!fast()): the engine
// then encrypts the whole message with CMS_encrypt, which also produces
// today's errors for unusable certificates.
//
// Threading: immutable after Create(); EncodeRecipientInfo() may run
// concurrently in any number of threads (each call duplicates an RSA
// template; ephemeral EC keys and the key wrap use per-thread contexts).
// Ownership: shares the certificate (and through it the public key).
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_handles.h"

namespace sg::smime {

class PreparedRecipient {
 public:
  // Never fails: a certificate the fast path cannot serve is prepared as
  // !fast(). |cert| may be null (then !fast()).
  static std::shared_ptr<const PreparedRecipient> Create(X509Ptr cert);

  const X509Ptr& cert() const { return cert_; }
  // RSA key transport is prepared.
  bool key_transport() const { return template_pkcs1_ != nullptr && template_oaep_ != nullptr; }
  // ECDH key agreement is prepared.
  bool key_agreement() const { return !group_.empty(); }
  // The prepared encoder can serve this recipient.
  bool fast() const { return key_transport() || key_agreement(); }

  // DER RecipientInfo carrying |cek| to this recipient: a
  // KeyTransRecipientInfo (RFC 5652 6.2.1, version 0, issuerAndSerialNumber,
  // PKCS#1 v1.5 or, with |oaep|, RSAES-OAEP) or a KeyAgreeRecipientInfo
  // ([1], version 3; |oaep| ignored). kInternal when a cryptographic
  // operation fails or !fast().
  Result<std::string> EncodeRecipientInfo(std::span<const unsigned char> cek, bool oaep) const;

  ~PreparedRecipient();
  PreparedRecipient(const PreparedRecipient&) = delete;
  PreparedRecipient& operator=(const PreparedRecipient&) = delete;

 private:
  PreparedRecipient() = default;
  void PrepareAgreement(EVP_PKEY* pub);  // smime_recipient_kari.cc
  Result<std::string> EncodeKtri(std::span<const unsigned char> cek, bool oaep) const;
  Result<std::string> EncodeKari(std::span<const unsigned char> cek) const;

  X509Ptr cert_;
  std::string rid_;                         // IssuerAndSerialNumber
  std::string alg_pkcs1_;                   // AlgorithmIdentifier rsaEncryption, NULL
  std::string alg_oaep_;                    // AlgorithmIdentifier RSAES-OAEP with RSAES-OAEP-params
  EVP_PKEY_CTX* template_pkcs1_ = nullptr;  // encrypt_init'ed, padding set
  EVP_PKEY_CTX* template_oaep_ = nullptr;
  // Key agreement: the recipient's named curve (ephemeral keys come from a
  // per-thread key generation context per curve); per content key size (16,
  // 24, 32 bytes: index 0..2) the keyEncryptionAlgorithm and the DER
  // ECC-CMS-SharedInfo.
  std::string group_;
  std::array<std::string, 3> kari_alg_;
  std::array<std::string, 3> shared_info_;
};

}  // namespace sg::smime
