// SmimeEngine::OpenEnvelope / Decrypt: EnvelopedData and AuthEnvelopedData
// with candidate keys, under the algorithm policy (smime_algorithms.h).
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/evperr.h>
#include <openssl/x509.h>

#include <optional>

#include "workers/smime/smime_algorithms.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_decrypt_prepared.h"
#include "workers/smime/smime_der.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_wellformed.h"

namespace sg::smime {

struct Envelope::State {
  std::string der;
  internal::CmsPtr cms;
  MimeEntity top;  // views into the message the envelope was opened from
  int ri = -1;     // the matched RecipientInfo (and RecipientEncryptedKey, for kari)
  int rek = -1;
};

namespace {

// Where |cert| is named among the RecipientInfos (issuer+serial or subject
// key identifier): the RecipientInfo index and, for key agreement, the
// RecipientEncryptedKey index. Lets us pick the key without trial
// decryption, which would also defeat OpenSSL's Bleichenbacher countermeasure.
struct RecipientMatch {
  int ri = -1;
  int rek = -1;  // -1 for key transport
};

std::optional<RecipientMatch> FindRecipient(CMS_ContentInfo* cms, X509* cert) {
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    int type = CMS_RecipientInfo_type(ri);
    if (type == CMS_RECIPINFO_TRANS) {
      if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) return RecipientMatch{i, -1};
    } else if (type == CMS_RECIPINFO_AGREE) {
      STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
      for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks); ++j) {
        if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j), cert) ==
            0) {
          return RecipientMatch{i, j};
        }
      }
    }
  }
  ERR_clear_error();
  return std::nullopt;
}

// Whether the key transport / agreement of the matched RecipientInfo is allowed.
bool RecipientAlgorithmsAllowed(CMS_ContentInfo* cms, const RecipientMatch& m, bool allow_3des) {
  CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(CMS_get0_RecipientInfos(cms), m.ri);
  if (m.rek < 0) {
    X509_ALGOR* alg = nullptr;
    if (CMS_RecipientInfo_ktri_get0_algs(ri, nullptr, nullptr, &alg) != 1 || alg == nullptr) {
      return false;
    }
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
    return KeyTransportAllowed(OBJ_obj2nid(obj));
  }
  X509_ALGOR* alg = nullptr;
  if (CMS_RecipientInfo_kari_get0_alg(ri, &alg, nullptr) != 1 || alg == nullptr) return false;
  const ASN1_OBJECT* scheme = nullptr;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(&scheme, &ptype, &pval, alg);
  int wrap = NID_undef;
  if (ptype == V_ASN1_SEQUENCE && pval != nullptr) {
    const auto* seq = static_cast<const ASN1_STRING*>(pval);
    const unsigned char* p = seq->data;
    X509_ALGOR* w = d2i_X509_ALGOR(nullptr, &p, seq->length);
    if (w != nullptr) {
      const ASN1_OBJECT* wobj = nullptr;
      X509_ALGOR_get0(&wobj, nullptr, nullptr, w);
      wrap = OBJ_obj2nid(wobj);
      X509_ALGOR_free(w);
    }
  }
  ERR_clear_error();
  return KeyAgreementAllowed(OBJ_obj2nid(scheme), wrap, allow_3des);
}

// What the algorithm policy and the failure guard need from the structure,
// read from a DER encoding of it without the (possibly large) ciphertext.
struct EnvelopeFacts {
  int cipher_nid = NID_undef;
  std::string content_key;  // the encrypted content key of the matched recipient
  std::string ciphertext_digest;
  std::optional<size_t> mac_size;  // AuthEnvelopedData: the length of the mac
};

std::string Sha256(std::initializer_list<std::string_view> pieces) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  for (std::string_view p : pieces) ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) std::abort();  // SHA-256 unavailable: the engine could not have been created
  return std::string(reinterpret_cast<char*>(md), len);
}

int OidNid(std::string_view oid_tlv) {
  const auto* p = reinterpret_cast<const unsigned char*>(oid_tlv.data());
  ASN1_OBJECT* obj = d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(oid_tlv.size()));  // NOLINT
  const int nid = obj == nullptr ? NID_undef : OBJ_obj2nid(obj);
  ASN1_OBJECT_free(obj);
  ERR_clear_error();
  return nid;
}

void TakeParts(const internal::EnvelopedParts& parts, EnvelopeFacts& f) {
  f.cipher_nid = OidNid(parts.content_cipher_oid);
  f.content_key = std::string(parts.encrypted_key);
  if (parts.mac) f.mac_size = parts.mac->content.size();
}

// RFC 5084 3.2: the GCM tag (the mac) is 12 to 16 bytes (aes-ICVlen).
// OpenSSL's CMS code checks the mac against however many bytes it is given
// (a 1-byte tag passes 1 time in 256, whatever aes-ICVlen says), so a
// shorter or longer mac is refused here, for both decryption paths. Its
// length is no secret: the refusal says nothing about the key.
constexpr size_t kMinMac = 12;
constexpr size_t kMaxMac = 16;
Status CheckMacLength(const EnvelopeFacts& f) {
  if (!f.mac_size || (*f.mac_size >= kMinMac && *f.mac_size <= kMaxMac)) return OkStatus();
  return MakeError(ErrorCode::kCorruption, "decrypt: authentication tag (mac) of " +
                                               std::to_string(*f.mac_size) +
                                               " bytes; RFC 5084 requires 12 to 16");
}

// |der| is the structure as received; any change to it (recipients,
// algorithm, IV, ciphertext, MAC) changes the ciphertext digest.
Result<EnvelopeFacts> ReadEnvelopeFacts(CMS_ContentInfo* cms, std::string_view der,
                                        const RecipientMatch& m) {
  EnvelopeFacts f;
  f.ciphertext_digest = Sha256({der});
  if (auto parts = internal::ReadEnvelopedParts(der, m.ri, m.rek)) {
    TakeParts(*parts, f);
    return f;
  }
  // An encoding the walker does not follow: OpenSSL's own DER of the
  // structure, without the (possibly large) ciphertext, which is OPTIONAL
  // there and put back whatever happens.
  ASN1_OCTET_STRING** pos = CMS_get0_content(cms);
  if (pos == nullptr || *pos == nullptr) {
    return MakeError(ErrorCode::kCorruption, "decrypt: enveloped data without ciphertext");
  }
  ASN1_OCTET_STRING* ciphertext = *pos;
  *pos = nullptr;
  unsigned char* buf = nullptr;
  int len = i2d_CMS_ContentInfo(cms, &buf);
  *pos = ciphertext;
  if (len <= 0) {
    return MakeError(ErrorCode::kCorruption, "decrypt: cannot encode the structure: " +
                                                 TakeOpenSslError());
  }
  std::string reencoded(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  auto parts = internal::ReadEnvelopedParts(reencoded, m.ri, m.rek);
  if (!parts) return MakeError(ErrorCode::kCorruption, "decrypt: unexpected structure");
  TakeParts(*parts, f);
  return f;
}

// The encryptedContent as OpenSSL parsed it (empty when absent).
std::string_view Ciphertext(const internal::CmsPtr& cms) {
  ASN1_OCTET_STRING** pos = CMS_get0_content(cms.get());
  if (pos == nullptr || *pos == nullptr) return {};
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(*pos)),
          static_cast<size_t>(ASN1_STRING_length(*pos))};
}

}  // namespace

Result<Envelope> SmimeEngine::OpenEnvelopeImpl(std::string_view message,
                                               std::span<const KeyPair> candidates,
                                               const DecryptOptions& options) const {
  auto state = std::make_shared<Envelope::State>();
  SG_ASSIGN_OR_RETURN(state->top, ParseEntity(message, limits_));
  ContentType ct = EntityContentType(state->top);
  if (!IsPkcs7Mime(ct)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "decrypt: message is " + ct.Mime() + ", not application/pkcs7-mime");
  }
  if (std::string dup = AmbiguousField(state->top); !dup.empty()) {
    return MakeError(ErrorCode::kCorruption, "decrypt: ambiguous header: " + dup + " twice");
  }
  SG_ASSIGN_OR_RETURN(state->der, internal::DecodeCmsBody(state->top));
  SG_ASSIGN_OR_RETURN(state->cms, internal::CmsFromDer(state->der));
  int type = OBJ_obj2nid(CMS_get0_type(state->cms.get()));
  Envelope env;
  env.auth_enveloped = type == NID_id_smime_ct_authEnvelopedData;
  if (type != NID_pkcs7_enveloped && !env.auth_enveloped) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("decrypt: CMS content is ") +
                                                      OBJ_nid2sn(type) + ", not enveloped data");
  }
  std::optional<RecipientMatch> match;
  for (size_t i = 0; i < candidates.size() && !match; ++i) {
    if (!candidates[i].key || !candidates[i].cert) continue;
    match = FindRecipient(state->cms.get(), candidates[i].cert.get());
    env.key_index = i;
  }
  if (!match) {
    int recipients = sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(state->cms.get()));
    return MakeError(ErrorCode::kNotFound,
                     "decrypt: none of the " + std::to_string(candidates.size()) +
                         " candidate keys is among the " + std::to_string(recipients) +
                         " recipients of the message");
  }
  SG_ASSIGN_OR_RETURN(EnvelopeFacts facts, ReadEnvelopeFacts(state->cms.get(), state->der, *match));
  env.cipher = AlgorithmName(facts.cipher_nid);
  if (!ContentCipherAllowed(facts.cipher_nid, options.allow_3des)) {
    return MakeError(ErrorCode::kUnsupported,
                     "decrypt: content cipher " + env.cipher + " is not allowed");
  }
  if (!RecipientAlgorithmsAllowed(state->cms.get(), *match, options.allow_3des)) {
    return MakeError(ErrorCode::kUnsupported, "decrypt: key transport or key wrap not allowed");
  }
  if (env.auth_enveloped) SG_RETURN_IF_ERROR(CheckMacLength(facts));
  state->ri = match->ri;
  state->rek = match->rek;
  env.content_key_digest = Sha256({facts.content_key});
  env.ciphertext_digest = std::move(facts.ciphertext_digest);
  env.state = std::move(state);
  return env;
}

Result<DecryptResult> SmimeEngine::DecryptImpl(const Envelope& env,
                                               std::span<const KeyPair> candidates,
                                               const DecryptOptions& options) const {
  if (!env.state || env.key_index >= candidates.size()) {
    return MakeError(ErrorCode::kInternal, "decrypt: envelope not opened with these candidates");
  }
  const KeyPair& kp = candidates[env.key_index];
  Envelope::State& st = *env.state;
  internal::PreparedDecrypt prepared;
  if (options.use_prepared) {
    prepared = internal::DecryptPrepared(st.der, st.ri, st.rek, kp.key.get(), Ciphertext(st.cms));
  }
  internal::BioPtr out;
  std::string_view entity = prepared.content;
  if (prepared.status != internal::PreparedStatus::kDone) {
    // Not served, or failed: CMS_decrypt, whose error text is the one
    // every failure has always had.
    out = internal::WriteBio(st.der.size());  // plaintext < ciphertext
    if (CMS_decrypt(st.cms.get(), kp.key.get(), kp.cert.get(), nullptr, out.get(), CMS_BINARY) !=
        1) {
      // One outcome for every way this can fail (wrong key, padding, MAC, truncation).
      return MakeError(ErrorCode::kCorruption,
                       "decrypt: the key of " + CertSubjectLine(kp.cert.get()) +
                           " cannot open the message (wrong key, or data altered or truncated): " +
                           TakeOpenSslError());
    }
    entity = internal::BioContents(out.get());
  }
  if (!env.auth_enveloped && options.check_cbc_content) {
    Status wf = CheckWellFormedEntity(entity, limits_);
    if (!wf.ok()) return MakeError(ErrorCode::kCorruption, "decrypt: " + wf.error().message);
  } else if (auto inner = ParseEntity(entity, limits_); inner.ok()) {
    // Integrity-protected content is the sender's own, but it must not be
    // ambiguous either (issue 13 point 10).
    if (std::string dup = AmbiguousField(*inner); !dup.empty()) {
      return MakeError(ErrorCode::kCorruption,
                       "decrypt: decrypted content: ambiguous " + dup + " twice");
    }
  }
  DecryptResult result;
  auto joined = internal::JoinOuterAndEntity(st.top, entity, limits_);
  if (!joined.ok()) return std::move(joined).error();
  result.message = std::move(joined).value();
  if (auto parsed = ParseEntity(entity, limits_); parsed.ok()) {
    result.entity_header = std::string(parsed->header_block);
  }
  result.key_index = env.key_index;
  result.auth_enveloped = env.auth_enveloped;
  result.cipher = env.cipher;
  result.prepared = prepared.status == internal::PreparedStatus::kDone;
  return result;
}

}  // namespace sg::smime
