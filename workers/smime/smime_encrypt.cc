// SmimeEngine::Encrypt: application/pkcs7-mime enveloped-data / authEnveloped-data.
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {

Result<EncryptInfo> SmimeEngine::EncryptImpl(std::string_view message,
                                             std::span<const Recipient> recipients,
                                             const EncryptOptions& options) const {
  if (recipients.empty()) return MakeError(ErrorCode::kInvalidArgument, "encrypt: no recipients");
  if (!options.transport_encode) {
    // Nothing to re-encode (typically a message we just signed): the body
    // goes to the cipher straight from |message|, never copied.
    SG_ASSIGN_OR_RETURN(OuterSplitView split, SplitForSmimeNoCopy(message, limits_));
    const std::string_view pieces[] = {split.entity_headers, split.body()};
    return EncryptEntity(split.outer_headers, pieces, recipients, options);
  }
  SG_ASSIGN_OR_RETURN(OuterSplit split, SplitForSmime(message, true, limits_));
  const std::string_view pieces[] = {split.entity};
  return EncryptEntity(split.outer_headers, pieces, recipients, options);
}

Result<EncryptInfo> SmimeEngine::EncryptEntity(std::string_view outer_headers,
                                               std::span<const std::string_view> entity,
                                               std::span<const Recipient> recipients,
                                               const EncryptOptions& options) const {
  if (recipients.empty()) return MakeError(ErrorCode::kInvalidArgument, "encrypt: no recipients");
  const EVP_CIPHER* cipher = aes256_cbc_;
  switch (options.cipher) {
    case ContentCipher::kAuto: {
      bool all_gcm = true;
      for (const Recipient& r : recipients) all_gcm = all_gcm && r.supports_aes_gcm;
      if (all_gcm) cipher = aes256_gcm_;
      break;
    }
    case ContentCipher::kAes256Cbc:
      cipher = aes256_cbc_;
      break;
    case ContentCipher::kAes128Cbc:
      cipher = aes128_cbc_;
      break;
    case ContentCipher::kAes256Gcm:
      cipher = aes256_gcm_;
      break;
  }
  bool aead = (EVP_CIPHER_get_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) != 0;

  // OpenSSL 3 picks AuthEnvelopedData (RFC 5083) for an AEAD cipher.
  internal::CmsPtr cms(CMS_encrypt(nullptr, nullptr, cipher, CMS_PARTIAL | CMS_BINARY));
  if (!cms) return MakeError(ErrorCode::kInternal, "encrypt: " + TakeOpenSslError());
  for (const Recipient& r : recipients) {
    if (!r.cert)
      return MakeError(ErrorCode::kInvalidArgument, "encrypt: recipient without certificate");
    EVP_PKEY* pub = X509_get0_pubkey(r.cert.get());
    bool oaep = r.rsa_oaep && pub != nullptr && EVP_PKEY_is_a(pub, "RSA");
    CMS_RecipientInfo* ri =
        CMS_add1_recipient_cert(cms.get(), r.cert.get(), oaep ? CMS_KEY_PARAM : 0u);
    if (ri == nullptr) {
      return MakeError(ErrorCode::kUnsupported,
                       "encrypt: certificate " + CertSubjectLine(r.cert.get()) +
                           " has no key usable for encryption (" + TakeOpenSslError() + ")");
    }
    if (oaep) {
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
          EVP_PKEY_CTX_set_rsa_oaep_md(pctx, sha256_) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, sha256_) <= 0) {
        return MakeError(ErrorCode::kUnsupported,
                         "encrypt: cannot select RSA-OAEP (" + TakeOpenSslError() + ")");
      }
    }
  }
  SG_RETURN_IF_ERROR(internal::CmsFinalEmbedded(cms.get(), entity));
  SG_ASSIGN_OR_RETURN(internal::DerBuffer der, internal::CmsToDerBuffer(cms.get()));
  cms.reset();  // the ciphertext now lives in |der| only

  EncryptInfo info;
  info.auth_enveloped = aead;
  info.cipher_name = EVP_CIPHER_get0_name(cipher);
  std::string& out = info.message;
  out.reserve(outer_headers.size() + der.size * 4 / 3 + der.size / 38 + 512);
  out += outer_headers;
  out += "MIME-Version: 1.0\r\n";
  out += aead ? "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data;\r\n"
              : "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n";
  out +=
      " name=\"smime.p7m\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
      "Content-Description: S/MIME Encrypted Message\r\n\r\n";
  Base64EncodeAppend(der.view(), out);
  return info;
}

}  // namespace sg::smime
