// SmimeEngine::Decrypt: EnvelopedData and AuthEnvelopedData with candidate keys.
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evperr.h>

#include <optional>

#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

// True when |cert| is named by one of the RecipientInfos (issuer+serial or
// subject key identifier). Lets us pick the key without trial decryption,
// which would also defeat OpenSSL's Bleichenbacher countermeasure.
bool IsRecipient(CMS_ContentInfo* cms, X509* cert) {
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    int type = CMS_RecipientInfo_type(ri);
    if (type == CMS_RECIPINFO_TRANS) {
      if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) return true;
    } else if (type == CMS_RECIPINFO_AGREE) {
      STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
      for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks); ++j) {
        if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j), cert) ==
            0) {
          return true;
        }
      }
    }
  }
  ERR_clear_error();
  return false;
}

// Unknown or unimplemented algorithms are kUnsupported, everything else
// about a failed decryption kCorruption.
ErrorCode DecryptFailureCode(unsigned long err) {  // NOLINT(google-runtime-int): OpenSSL API
  if (ERR_GET_REASON(err) == ERR_R_UNSUPPORTED) return ErrorCode::kUnsupported;
  if (ERR_GET_LIB(err) == ERR_LIB_EVP && ERR_GET_REASON(err) == EVP_R_UNSUPPORTED_ALGORITHM) {
    return ErrorCode::kUnsupported;
  }
  if (ERR_GET_LIB(err) != ERR_LIB_CMS) return ErrorCode::kCorruption;
  switch (ERR_GET_REASON(err)) {
    case CMS_R_UNKNOWN_CIPHER:
    case CMS_R_UNKNOWN_DIGEST_ALGORITHM:
    case CMS_R_UNSUPPORTED_CONTENT_ENCRYPTION_ALGORITHM:
    case CMS_R_UNSUPPORTED_KEY_ENCRYPTION_ALGORITHM:
    case CMS_R_UNSUPPORTED_RECIPIENTINFO_TYPE:
    case CMS_R_UNSUPPORTED_RECIPIENT_TYPE:
    case CMS_R_UNSUPPORTED_TYPE:
      return ErrorCode::kUnsupported;
    default:
      return ErrorCode::kCorruption;
  }
}

}  // namespace

Result<DecryptResult> SmimeEngine::DecryptImpl(std::string_view message,
                                               std::span<const KeyPair> candidates) const {
  SG_ASSIGN_OR_RETURN(MimeEntity top, ParseEntity(message, limits_));
  ContentType ct = EntityContentType(top);
  bool pkcs7 = IsPkcs7Mime(ct);
  if (!pkcs7) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "decrypt: message is " + ct.Mime() + ", not application/pkcs7-mime");
  }
  SG_ASSIGN_OR_RETURN(std::string der, internal::DecodeCmsBody(top));
  SG_ASSIGN_OR_RETURN(internal::CmsPtr cms, internal::CmsFromDer(der));
  int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  bool auth = type == NID_id_smime_ct_authEnvelopedData;
  if (type != NID_pkcs7_enveloped && !auth) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("decrypt: CMS content is ") +
                                                      OBJ_nid2sn(type) + ", not enveloped data");
  }
  int recipients = sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms.get()));

  std::optional<Error> failure;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const KeyPair& kp = candidates[i];
    if (!kp.key || !kp.cert || !IsRecipient(cms.get(), kp.cert.get())) continue;
    internal::BioPtr out = internal::WriteBio(der.size());  // plaintext < ciphertext
    if (CMS_decrypt(cms.get(), kp.key.get(), kp.cert.get(), nullptr, out.get(), CMS_BINARY) != 1) {
      ErrorCode code = DecryptFailureCode(ERR_peek_last_error());
      failure = MakeError(
          code, "decrypt: the key of " + CertSubjectLine(kp.cert.get()) +
                    " cannot open the message (wrong key, or data altered or truncated): " +
                    TakeOpenSslError());
      continue;
    }
    std::string_view entity = internal::BioContents(out.get());
    DecryptResult result;
    auto joined = internal::JoinOuterAndEntity(top, entity, limits_);
    if (!joined.ok()) return std::move(joined).error();
    result.message = std::move(joined).value();
    result.key_index = i;
    result.auth_enveloped = auth;
    return result;
  }
  if (failure) return *std::move(failure);
  return MakeError(ErrorCode::kNotFound,
                   "decrypt: none of the " + std::to_string(candidates.size()) +
                       " candidate keys is among the " + std::to_string(recipients) +
                       " recipients of the message");
}

}  // namespace sg::smime
