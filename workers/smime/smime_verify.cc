// SmimeEngine::Verify: detached and opaque signatures, every SignerInfo,
// chain, purpose, algorithms, times, the From address.
#include <openssl/cms.h>
#include <openssl/err.h>

#include <algorithm>
#include <utility>

#include "common/ascii.h"
#include "workers/smime/smime_cert_cache.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"
#include "workers/smime/smime_verify_internal.h"

namespace sg::smime {
namespace {

// More signers than any real message has are not checked one by one.
constexpr int kMaxSigners = 16;

struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), StackFree>;

VerifyResult WithStatus(VerifyResult r, VerifyStatus status, std::string detail) {
  r.status = status;
  r.detail = std::move(detail);
  return r;
}

// Where the signature and the signed content are in the message.
struct SignatureParts {
  std::string der;
  std::string_view detached_content;  // empty for opaque
  bool detached = false;
};

// The SignedData of a multipart/signed or application/pkcs7-mime message,
// or the status that says why there is none.
std::optional<SignatureParts> LocateSignature(const MimeEntity& top, const MimeLimits& limits,
                                              VerifyResult& r) {
  ContentType ct = EntityContentType(top);
  SignatureParts parts;
  if (ct.type == "multipart" && ct.subtype == "signed") {
    std::string protocol = AsciiLower(ct.Param("protocol"));
    if (protocol != "application/pkcs7-signature" && protocol != "application/x-pkcs7-signature") {
      r = WithStatus(std::move(r), VerifyStatus::kNotSigned, "multipart/signed with protocol " + protocol);
      return std::nullopt;
    }
    auto mp = SplitMultipart(top.body, ct.Param("boundary"), limits);
    if (!mp.ok() || mp->parts.size() < 2) {
      r = WithStatus(std::move(r), VerifyStatus::kMalformed,
                     mp.ok() ? "multipart/signed without a signature part" : mp.error().message);
      return std::nullopt;
    }
    parts.detached = true;
    parts.detached_content = mp->parts[0];
    auto sig = ParseEntity(mp->parts[1], limits);
    auto body = sig.ok() ? internal::DecodeCmsBody(*sig) : Result<std::string>(sig.error());
    if (!body.ok()) {
      r = WithStatus(std::move(r), VerifyStatus::kMalformed, body.error().message);
      return std::nullopt;
    }
    parts.der = std::move(body).value();
    return parts;
  }
  if (IsPkcs7Mime(ct)) {
    r.opaque = true;
    auto body = internal::DecodeCmsBody(top);
    if (!body.ok()) {
      r = WithStatus(std::move(r), VerifyStatus::kMalformed, body.error().message);
      return std::nullopt;
    }
    parts.der = std::move(body).value();
    return parts;
  }
  r = WithStatus(std::move(r), VerifyStatus::kNotSigned, "content type " + ct.Mime());
  return std::nullopt;
}

// The principal signer: the first that names From and verifies, else the
// first that names From, else the first (which then fails the From check).
size_t ChoosePrincipal(const std::vector<SignerResult>& signers, bool by_from) {
  if (by_from) {
    for (size_t i = 0; i < signers.size(); ++i) {
      if (signers[i].names_from && signers[i].status == VerifyStatus::kGood) return i;
    }
    for (size_t i = 0; i < signers.size(); ++i) {
      if (signers[i].names_from) return i;
    }
    return 0;
  }
  for (size_t i = 0; i < signers.size(); ++i) {
    if (signers[i].status == VerifyStatus::kGood) return i;
  }
  return 0;
}

// The From binding and Thunderbird's Date rule, on the principal signer.
void BindToHeaders(SignerResult& s, const MimeEntity& top, const VerifyOptions& options,
                   const std::string& from) {
  if (s.status != VerifyStatus::kGood) return;
  if (options.check_from_address && !s.names_from) {
    s.status = VerifyStatus::kWrongAddress;
    s.detail = from.empty() ? "no From address" : "From " + from + " is not in the signer certificate";
    return;
  }
  if (options.check_date && s.signing_time) {
    const HeaderField* date = FindField(top, "Date");
    if (!internal::DateMatchesSigningTime(date ? FieldValue(*date) : std::string(), *s.signing_time)) {
      s.status = VerifyStatus::kDateMismatch;
      s.detail = date ? "Date differs from the signing time by more than an hour"
                      : "no Date header (the signature carries a signing time)";
    }
  }
}

// The result's own fields are the principal signer's.
void AdoptPrincipal(CMS_SignerInfo* si, std::vector<X509Ptr> chain, VerifyResult& r) {
  const SignerResult& p = r.signers[r.principal];
  r.status = p.status;
  r.detail = p.detail;
  r.signer = p.cert;
  r.signer_addresses = p.addresses;
  r.signing_time = p.signing_time;
  r.capabilities = internal::ReadCapabilities(si);
  r.chain = std::move(chain);
}

// The SignedData: certificates from the per-thread cache instead of being
// parsed with the CMS every time (smime_cert_cache.h), the CMS itself, its
// type. nullptr with the status in |r| when it is not usable.
internal::CmsPtr OpenSignedData(const SignatureParts& parts, VerifyResult& r) {
  std::vector<std::string_view> cert_ders;
  std::optional<std::string> stripped = internal::StripCertificates(parts.der, &cert_ders);
  std::vector<X509Ptr> carried;
  for (std::string_view c : cert_ders) {
    X509Ptr cert = internal::CachedCertificate(c);
    if (!cert) {
      r = WithStatus(std::move(r), VerifyStatus::kMalformed, "CMS: unparsable certificate");
      return nullptr;
    }
    carried.push_back(std::move(cert));
  }
  auto cms_or = internal::CmsFromDer(stripped ? std::string_view(*stripped)
                                              : std::string_view(parts.der));
  if (!cms_or.ok()) {
    r = WithStatus(std::move(r), VerifyStatus::kMalformed, cms_or.error().message);
    return nullptr;
  }
  internal::CmsPtr cms = std::move(cms_or).value();
  int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (type != NID_pkcs7_signed) {
    r = WithStatus(std::move(r), VerifyStatus::kNotSigned,
                   std::string("CMS content is ") + OBJ_nid2sn(type) + ", not signed data");
    return nullptr;
  }
  if (parts.detached != (CMS_is_detached(cms.get()) == 1)) {
    r = WithStatus(std::move(r), VerifyStatus::kMalformed,
                   parts.detached ? "multipart/signed carries an opaque signature"
                                  : "signed-data without content");
    return nullptr;
  }
  r.certificates = std::move(carried);
  if (X509Stack certs{CMS_get1_certs(cms.get())}) {  // only when the DER was not rewritten
    for (int i = 0; i < sk_X509_num(certs.get()); ++i)
      r.certificates.push_back(ShareX509(sk_X509_value(certs.get(), i)));
  }
  return cms;
}

// What the signature covers, with the outer headers: always for opaque
// signatures (the content is only inside the CMS), for detached ones when
// it is S/MIME itself (to be unwrapped further).
void SignedContent(const MimeEntity& top, const SignatureParts& parts, BIO* opaque_out,
                   const MimeLimits& limits, VerifyResult& r) {
  if (r.opaque) {
    const std::string_view entity = internal::BioContents(opaque_out);
    auto joined = internal::JoinOuterAndEntity(top, entity, limits);
    if (joined.ok()) r.content = std::move(joined).value();
    r.content_kind = DetectSmime(r.content);
    if (auto parsed = ParseEntity(entity, limits); parsed.ok()) {
      r.entity_header = std::string(parsed->header_block);
    }
  } else if ((r.content_kind = DetectSmime(parts.detached_content)) != SmimeKind::kNone) {
    auto joined = internal::JoinOuterAndEntity(top, parts.detached_content, limits);
    if (joined.ok()) r.content = std::move(joined).value();
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
  // A second From, Subject or Content-Type (or boundary): the reader may
  // see another message than the one verified here (issue 13 point 10).
  if (std::string dup = AmbiguousField(top); !dup.empty()) {
    return WithStatus(std::move(r), VerifyStatus::kMalformed, "ambiguous header: " + dup + " twice");
  }
  std::optional<SignatureParts> parts = LocateSignature(top, limits_, r);
  if (!parts) return r;

  internal::CmsPtr cms = OpenSignedData(*parts, r);
  if (!cms) return r;
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms.get());
  const int n = sk_CMS_SignerInfo_num(sis);
  if (n <= 0) return WithStatus(std::move(r), VerifyStatus::kMalformed, "no SignerInfo");
  if (n > kMaxSigners) {
    return WithStatus(std::move(r), VerifyStatus::kMalformed,
                      std::to_string(n) + " SignerInfos (at most " + std::to_string(kMaxSigners) + ")");
  }

  // 1. Every signature and content digest, with any known intermediate as a
  //    possible signer certificate.
  X509Stack extra(sk_X509_new_null());
  for (const std::vector<X509Ptr>* list : {&std::as_const(r.certificates), &trust.intermediates()}) {
    for (const X509Ptr& c : *list) {
      X509_up_ref(c.get());
      sk_X509_push(extra.get(), c.get());
    }
  }
  internal::BioPtr content = parts->detached ? internal::ReadBio(parts->detached_content) : nullptr;
  internal::BioPtr out = r.opaque ? internal::WriteBio(parts->der.size()) : nullptr;  // content < DER
  std::string why;
  auto checks = internal::CheckSignatures(cms.get(), extra.get(), content.get(), out.get(), &why);
  if (!checks) return WithStatus(std::move(r), VerifyStatus::kMalformed, why);
  SignedContent(top, *parts, out.get(), limits_, r);

  // 2. Each signer: algorithms, chain at arrival and at the signing time.
  internal::SignerContext ctx{&trust, &r.certificates, now, options.allow_sha1, r.from_address,
                              options.revocation};
  if (options.use_chain_memo) ctx.memo = chain_memo_.get();
  std::vector<std::vector<X509Ptr>> chains(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    r.signers.push_back(internal::CheckSigner(sk_CMS_SignerInfo_value(sis, i),
                                              (*checks)[static_cast<size_t>(i)], ctx,
                                              &chains[static_cast<size_t>(i)]));
  }

  // 3. The principal signer names From; Thunderbird's Date rule.
  r.principal = ChoosePrincipal(r.signers, options.check_from_address);
  BindToHeaders(r.signers[r.principal], top, options, r.from_address);
  AdoptPrincipal(sk_CMS_SignerInfo_value(sis, static_cast<int>(r.principal)),
                 std::move(chains[r.principal]), r);
  return r;
}

}  // namespace sg::smime
