#include "workers/smime/smime_recipient.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "common/mail/der.h"
#include "workers/smime/smime_der.h"

namespace sg::smime {
using internal::DerOid;

namespace {

constexpr unsigned char kSequence = 0x30;

std::string Tlv(unsigned char tag, std::string_view content) { return mail::DerTlv(tag, content); }

// An encrypt_init'ed context for |key| with the padding (and OAEP digests) set.
EVP_PKEY_CTX* EncryptTemplate(EVP_PKEY* key, bool oaep) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  if (ctx == nullptr) return nullptr;
  bool ok = EVP_PKEY_encrypt_init(ctx) > 0;
  if (oaep) {
    ok = ok && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA2-256", nullptr) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA2-256", nullptr) > 0;
  } else {
    ok = ok && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
  }
  if (!ok) {
    EVP_PKEY_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

}  // namespace

PreparedRecipient::~PreparedRecipient() {
  EVP_PKEY_CTX_free(template_pkcs1_);
  EVP_PKEY_CTX_free(template_oaep_);
}

std::shared_ptr<const PreparedRecipient> PreparedRecipient::Create(X509Ptr cert) {
  std::shared_ptr<PreparedRecipient> r(new PreparedRecipient());
  r->cert_ = std::move(cert);
  if (!r->cert_) return r;
  EVP_PKEY* pub = X509_get0_pubkey(r->cert_.get());
  const bool rsa = pub != nullptr && EVP_PKEY_is_a(pub, "RSA");
  const bool ec = pub != nullptr && EVP_PKEY_is_a(pub, "EC");
  if (!rsa && !ec) {
    ERR_clear_error();
    return r;  // an unusable or unknown key: the CMS_encrypt path decides
  }
  r->rid_ = internal::DerIssuerAndSerial(r->cert_.get());
  if (r->rid_.empty()) {
    ERR_clear_error();
    return r;
  }
  if (ec) {
    r->PrepareAgreement(pub);
    if (!r->key_agreement()) ERR_clear_error();
    return r;
  }
  r->alg_pkcs1_ = Tlv(kSequence, DerOid(NID_rsaEncryption) + std::string("\x05\x00", 2));
  r->alg_oaep_ = internal::DerOaepSha256Algorithm();
  r->template_pkcs1_ = EncryptTemplate(pub, false);
  r->template_oaep_ = EncryptTemplate(pub, true);
  if (!r->key_transport()) ERR_clear_error();
  return r;
}

Result<std::string> PreparedRecipient::EncodeRecipientInfo(std::span<const unsigned char> cek,
                                                           bool oaep) const {
  if (key_transport()) return EncodeKtri(cek, oaep);
  if (key_agreement()) return EncodeKari(cek);
  return MakeError(ErrorCode::kInternal, "encrypt: recipient not prepared");
}

Result<std::string> PreparedRecipient::EncodeKtri(std::span<const unsigned char> cek,
                                                  bool oaep) const {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(
      EVP_PKEY_CTX_dup(oaep ? template_oaep_ : template_pkcs1_));
  size_t len = 0;
  if (!ctx || EVP_PKEY_encrypt(ctx.get(), nullptr, &len, cek.data(), cek.size()) <= 0) {
    return MakeError(ErrorCode::kInternal,
                     "encrypt: cannot size the encrypted key (" + TakeOpenSslError() + ")");
  }
  std::string ek(len, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(ek.data()), &len, cek.data(),
                       cek.size()) <= 0) {
    return MakeError(ErrorCode::kInternal, "encrypt: key transport to " +
                                               CertSubjectLine(cert_.get()) + " failed (" +
                                               TakeOpenSslError() + ")");
  }
  ek.resize(len);
  // KeyTransRecipientInfo ::= SEQUENCE { version 0, rid, keyEncryptionAlgorithm, encryptedKey }
  return Tlv(kSequence, std::string("\x02\x01\x00", 3) + rid_ + (oaep ? alg_oaep_ : alg_pkcs1_) +
                            Tlv(0x04, ek));
}

}  // namespace sg::smime
