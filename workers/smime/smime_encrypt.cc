// SmimeEngine::Encrypt: application/pkcs7-mime enveloped-data / authEnveloped-data.
//
// Two encoders behind one choice per message: the prepared encoder
// (smime_envelope.h) when every recipient is prepared for RSA key transport,
// else OpenSSL's CMS_encrypt for the whole message (EC key agreement, keys
// the fast path does not know, and EncryptOptions::use_cms).
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <array>
#include <variant>
#include <vector>

#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_envelope.h"

namespace sg::smime {
namespace {

// The recipients as the prepared encoder takes them, or false when one of
// them needs CMS_encrypt. Recipients without (matching) preparation are
// prepared here and kept alive in |keep|.
bool PrepareFast(std::span<const Recipient> recipients,
                 std::vector<std::shared_ptr<const PreparedRecipient>>& keep,
                 std::vector<internal::EnvelopeRecipient>& out) {
  out.reserve(recipients.size());
  for (const Recipient& r : recipients) {
    const PreparedRecipient* p = r.prepared.get();
    if (p == nullptr || p->cert() != r.cert) {
      keep.push_back(PreparedRecipient::Create(r.cert));
      p = keep.back().get();
    }
    if (!p->fast()) return false;
    out.push_back({p, r.rsa_oaep});
  }
  return true;
}

// The CMS_encrypt path: DER of the ContentInfo in OpenSSL's buffer.
Result<internal::DerBuffer> CmsEnvelope(std::span<const std::string_view> entity,
                                        std::span<const Recipient> recipients,
                                        const EVP_CIPHER* cipher, const EVP_MD* sha256) {
  // OpenSSL 3 picks AuthEnvelopedData (RFC 5083) for an AEAD cipher.
  internal::CmsPtr cms(CMS_encrypt(nullptr, nullptr, cipher, CMS_PARTIAL | CMS_BINARY));
  if (!cms) return MakeError(ErrorCode::kInternal, "encrypt: " + TakeOpenSslError());
  for (const Recipient& r : recipients) {
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
          EVP_PKEY_CTX_set_rsa_oaep_md(pctx, sha256) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, sha256) <= 0) {
        return MakeError(ErrorCode::kUnsupported,
                         "encrypt: cannot select RSA-OAEP (" + TakeOpenSslError() + ")");
      }
    }
  }
  SG_RETURN_IF_ERROR(internal::CmsFinalEmbedded(cms.get(), entity));
  return internal::CmsToDerBuffer(cms.get());
}

}  // namespace

Result<EncryptInfo> SmimeEngine::EncryptImpl(std::string_view message,
                                             std::span<const Recipient> recipients,
                                             const EncryptOptions& options) const {
  if (recipients.empty()) return MakeError(ErrorCode::kInvalidArgument, "encrypt: no recipients");
  if (!options.transport_encode) {
    // Nothing to re-encode (typically a message we just signed): the body
    // goes to the cipher straight from |message|, never copied.
    SG_ASSIGN_OR_RETURN(OuterSplitView split, SplitForSmimeNoCopy(message, limits_));
    const std::array<std::string_view, 3> pieces = {options.inner_headers, split.entity_headers,
                                                     split.body()};
    return EncryptEntity(split.outer_headers, pieces, recipients, options);
  }
  SG_ASSIGN_OR_RETURN(OuterSplit split, SplitForSmime(message, true, limits_));
  const std::array<std::string_view, 2> pieces = {options.inner_headers, split.entity};
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
  for (const Recipient& r : recipients) {
    if (!r.cert)
      return MakeError(ErrorCode::kInvalidArgument, "encrypt: recipient without certificate");
  }

  // The DER lives in one of the two encoders' buffers until base64 has read it.
  std::variant<std::string, internal::DerBuffer> der;
  std::vector<std::shared_ptr<const PreparedRecipient>> keep;
  std::vector<internal::EnvelopeRecipient> fast;
  const bool prepared = !options.use_cms && PrepareFast(recipients, keep, fast);
  if (prepared) {
    SG_ASSIGN_OR_RETURN(der, internal::EncodeEnveloped(entity, fast, cipher));
  } else {
    SG_ASSIGN_OR_RETURN(der, CmsEnvelope(entity, recipients, cipher, sha256_));
  }
  std::string_view der_view =
      der.index() == 0 ? std::string_view(std::get<0>(der)) : std::get<1>(der).view();

  EncryptInfo info;
  info.auth_enveloped = aead;
  info.prepared = prepared;
  info.cipher_name = EVP_CIPHER_get0_name(cipher);
  std::string& out = info.message;
  out.reserve(outer_headers.size() + der_view.size() * 4 / 3 + der_view.size() / 38 + 512);
  out += outer_headers;
  out += "MIME-Version: 1.0\r\n";
  out += aead ? "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data;\r\n"
              : "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n";
  out +=
      " name=\"smime.p7m\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
      "Content-Description: S/MIME Encrypted Message\r\n\r\n";
  Base64EncodeAppend(der_view, out);
  return info;
}

}  // namespace sg::smime
