// SmimeEngine::Verify: detached and opaque signatures, chain, purpose, address.
#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>

#include "common/ascii.h"
#include "workers/smime/smime_cert_cache.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), StackFree>;

struct CtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

VerifyResult WithStatus(VerifyResult r, VerifyStatus status, std::string detail) {
  r.status = status;
  r.detail = std::move(detail);
  return r;
}

std::optional<std::time_t> SigningTime(CMS_SignerInfo* si) {
  int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
  if (idx < 0) return std::nullopt;
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, idx);
  ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, 0);
  if (t == nullptr || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME)) {
    return std::nullopt;
  }
  struct tm tm_value {};
  if (ASN1_TIME_to_tm(reinterpret_cast<ASN1_TIME*>(t->value.asn1_string), &tm_value) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return timegm(&tm_value);
}

Capabilities ReadCapabilities(CMS_SignerInfo* si) {
  Capabilities caps;
  int idx = CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1);
  if (idx < 0) return caps;
  ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
  if (t == nullptr || t->type != V_ASN1_SEQUENCE) return caps;
  const unsigned char* p = t->value.sequence->data;
  X509_ALGORS* algs = d2i_X509_ALGORS(nullptr, &p, t->value.sequence->length);
  if (algs == nullptr) {
    ERR_clear_error();
    return caps;
  }
  for (int i = 0; i < sk_X509_ALGOR_num(algs); ++i) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, sk_X509_ALGOR_value(algs, i));
    int nid = OBJ_obj2nid(obj);
    char buf[80];
    OBJ_obj2txt(buf, sizeof(buf), obj, 0);
    caps.algorithms.emplace_back(buf);
    if (nid == NID_aes_256_gcm || nid == NID_aes_128_gcm || nid == NID_aes_192_gcm)
      caps.aes_gcm = true;
    if (nid == NID_aes_256_cbc || nid == NID_aes_128_cbc || nid == NID_aes_192_cbc)
      caps.aes_cbc = true;
  }
  sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
  return caps;
}

// Maps the OpenSSL reason of a failed CMS_verify to a status.
VerifyStatus SignatureFailure(unsigned long err) {  // NOLINT(google-runtime-int)
  if (ERR_GET_LIB(err) == ERR_LIB_CMS) {
    switch (ERR_GET_REASON(err)) {
      case CMS_R_SIGNER_CERTIFICATE_NOT_FOUND:
        return VerifyStatus::kNoSignerCert;
      case CMS_R_UNKNOWN_DIGEST_ALGORITHM:
      case CMS_R_UNSUPPORTED_SIGNATURE_ALGORITHM:
      case CMS_R_UNSUPPORTED_TYPE:
      case CMS_R_UNKNOWN_ID:
        return VerifyStatus::kUnsupported;
      case CMS_R_NO_CONTENT:
      case CMS_R_NO_SIGNERS:
        return VerifyStatus::kMalformed;
      default:
        break;
    }
  }
  if (ERR_GET_REASON(err) == ERR_R_UNSUPPORTED) return VerifyStatus::kUnsupported;
  return VerifyStatus::kBadSignature;
}

VerifyStatus ChainFailure(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return VerifyStatus::kExpired;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
      return VerifyStatus::kWrongPurpose;
    default:
      return VerifyStatus::kUntrusted;
  }
}

}  // namespace

Result<VerifyResult> SmimeEngine::VerifyImpl(std::string_view message, const TrustStore& trust,
                                             std::time_t now, const VerifyOptions& options) const {
  if (message.size() > limits_.max_message_bytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "verify: message larger than the configured limit");
  }
  // Signatures are over the CRLF form; a message stored with LF gets it back.
  std::string crlf;
  std::string_view msg = message;
  if (!IsCrlfClean(message)) {
    crlf = ToCrlf(message);
    msg = crlf;
  }
  VerifyResult r;
  auto parsed = ParseEntity(msg, limits_);
  if (!parsed.ok()) {
    if (parsed.error().code == ErrorCode::kResourceExhausted) return std::move(parsed).error();
    return WithStatus(std::move(r), VerifyStatus::kMalformed, parsed.error().message);
  }
  const MimeEntity& top = *parsed;
  if (const HeaderField* from = FindField(top, "From"))
    r.from_address = FirstMailbox(FieldValue(*from));

  ContentType ct = EntityContentType(top);
  std::string der;
  std::string_view detached_content;
  bool detached = false;
  if (ct.type == "multipart" && ct.subtype == "signed") {
    std::string protocol = AsciiLower(ct.Param("protocol"));
    if (protocol != "application/pkcs7-signature" && protocol != "application/x-pkcs7-signature") {
      return WithStatus(std::move(r), VerifyStatus::kNotSigned,
                        "multipart/signed with protocol " + protocol);
    }
    auto mp = SplitMultipart(top.body, ct.Param("boundary"), limits_);
    if (!mp.ok()) return WithStatus(std::move(r), VerifyStatus::kMalformed, mp.error().message);
    if (mp->parts.size() < 2) {
      return WithStatus(std::move(r), VerifyStatus::kMalformed,
                        "multipart/signed without a signature part");
    }
    detached = true;
    detached_content = mp->parts[0];
    auto sig = ParseEntity(mp->parts[1], limits_);
    if (!sig.ok()) return WithStatus(std::move(r), VerifyStatus::kMalformed, sig.error().message);
    auto body = internal::DecodeCmsBody(*sig);
    if (!body.ok()) return WithStatus(std::move(r), VerifyStatus::kMalformed, body.error().message);
    der = std::move(body).value();
  } else if (IsPkcs7Mime(ct)) {
    r.opaque = true;
    auto body = internal::DecodeCmsBody(top);
    if (!body.ok()) return WithStatus(std::move(r), VerifyStatus::kMalformed, body.error().message);
    der = std::move(body).value();
  } else {
    return WithStatus(std::move(r), VerifyStatus::kNotSigned, "content type " + ct.Mime());
  }

  // Certificates come from the per-thread cache instead of being parsed with
  // the CMS every time (smime_cert_cache.h).
  std::vector<std::string_view> cert_ders;
  std::optional<std::string> stripped = internal::StripCertificates(der, &cert_ders);
  std::vector<X509Ptr> carried;
  for (std::string_view c : cert_ders) {
    X509Ptr cert = internal::CachedCertificate(c);
    if (!cert)
      return WithStatus(std::move(r), VerifyStatus::kMalformed, "CMS: unparsable certificate");
    carried.push_back(std::move(cert));
  }
  auto cms_or =
      internal::CmsFromDer(stripped ? std::string_view(*stripped) : std::string_view(der));
  if (!cms_or.ok())
    return WithStatus(std::move(r), VerifyStatus::kMalformed, cms_or.error().message);
  internal::CmsPtr cms = std::move(cms_or).value();
  int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (type != NID_pkcs7_signed) {
    return WithStatus(std::move(r), VerifyStatus::kNotSigned,
                      std::string("CMS content is ") + OBJ_nid2sn(type) + ", not signed data");
  }
  if (detached != (CMS_is_detached(cms.get()) == 1)) {
    return WithStatus(
        std::move(r), VerifyStatus::kMalformed,
        detached ? "multipart/signed carries an opaque signature" : "signed-data without content");
  }
  r.certificates = std::move(carried);
  if (X509Stack certs{CMS_get1_certs(cms.get())}) {  // only when the DER was not rewritten
    for (int i = 0; i < sk_X509_num(certs.get()); ++i)
      r.certificates.push_back(ShareX509(sk_X509_value(certs.get(), i)));
  }
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  if (sk_CMS_SignerInfo_num(sis) <= 0)
    return WithStatus(std::move(r), VerifyStatus::kMalformed, "no SignerInfo");
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, 0);
  r.signing_time = SigningTime(si);
  r.capabilities = ReadCapabilities(si);

  // 1. Signature and content digest, with any known intermediate as a
  //    possible signer certificate. Trust is judged separately below so that
  //    the status can say precisely what is wrong.
  X509Stack extra(sk_X509_new_null());
  for (const X509Ptr& c : r.certificates) {
    X509_up_ref(c.get());
    sk_X509_push(extra.get(), c.get());
  }
  for (const X509Ptr& c : trust.intermediates()) {
    X509_up_ref(c.get());
    sk_X509_push(extra.get(), c.get());
  }
  internal::BioPtr content = detached ? internal::ReadBio(detached_content) : nullptr;
  internal::BioPtr out = r.opaque ? internal::WriteBio(der.size()) : nullptr;  // content < DER
  ERR_clear_error();
  int ok = CMS_verify(cms.get(), extra.get(), nullptr, content.get(), out.get(),
                      CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
  X509* signer = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
  if (signer != nullptr) {
    r.signer = ShareX509(signer);
    r.signer_addresses = CertEmailAddresses(signer);
  }
  if (ok != 1) {
    unsigned long err = ERR_peek_last_error();  // NOLINT(google-runtime-int)
    VerifyStatus st = SignatureFailure(err);
    return WithStatus(std::move(r), st, TakeOpenSslError());
  }
  if (r.opaque) {
    auto joined = internal::JoinOuterAndEntity(top, internal::BioContents(out.get()), limits_);
    if (joined.ok()) r.content = std::move(joined).value();
  }
  if (!r.signer)
    return WithStatus(std::move(r), VerifyStatus::kNoSignerCert, "signer certificate not found");

  // 2. Chain to an anchor, validity at signing time, S/MIME signing purpose.
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  X509Stack untrusted(sk_X509_new_null());
  for (const X509Ptr& c : r.certificates) {
    X509_up_ref(c.get());
    sk_X509_push(untrusted.get(), c.get());
  }
  for (const X509Ptr& c : trust.intermediates()) {
    X509_up_ref(c.get());
    sk_X509_push(untrusted.get(), c.get());
  }
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust.store(), r.signer.get(), untrusted.get()) != 1) {
    return MakeError(ErrorCode::kInternal, "verify: cannot set up chain validation");
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SMIME_SIGN);
  // A signing time in the future is not believable: judge at |now| then.
  std::time_t at = r.signing_time && *r.signing_time <= now ? *r.signing_time : now;
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), at);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return WithStatus(std::move(r), ChainFailure(err), X509_verify_cert_error_string(err));
  }
  if (X509Stack chain{X509_STORE_CTX_get1_chain(ctx.get())}) {
    for (int i = 0; i < sk_X509_num(chain.get()); ++i)
      r.chain.push_back(ShareX509(sk_X509_value(chain.get(), i)));
  }

  // 3. The certificate must name the sender.
  if (options.check_from_address) {
    if (r.from_address.empty())
      return WithStatus(std::move(r), VerifyStatus::kWrongAddress, "no From address");
    if (std::find(r.signer_addresses.begin(), r.signer_addresses.end(), r.from_address) ==
        r.signer_addresses.end()) {
      std::string detail = "From " + r.from_address + " is not in the signer certificate";
      return WithStatus(std::move(r), VerifyStatus::kWrongAddress, std::move(detail));
    }
  }
  r.status = VerifyStatus::kGood;
  return r;
}

}  // namespace sg::smime
