// SmimeEngine::Sign: multipart/signed with a detached CMS SignedData.
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_cms_util.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

// The multipart/signed tail after the signed entity: the signature part and
// the close delimiter.
void AppendSignaturePart(const std::string& boundary, std::string_view der, std::string& out) {
  out += "\r\n--" + boundary + "\r\n";
  out +=
      "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
      "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";
  Base64EncodeAppend(der, out);  // ends with CRLF, which belongs to the close delimiter
  out += "--" + boundary + "--\r\n";
}

using internal::CmsPtr;

std::string_view MicAlg(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::kSha384:
      return "sha-384";
    case DigestAlg::kSha512:
      return "sha-512";
    case DigestAlg::kSha256:
      break;
  }
  return "sha-256";
}

// Our SMIMECapabilities, strongest first (RFC 8551 2.5.2). AES-GCM first
// lets correspondents answer with AuthEnvelopedData.
Status AddCapabilities(CMS_SignerInfo* si, bool announce_gcm) {
  STACK_OF(X509_ALGOR)* caps = sk_X509_ALGOR_new_null();
  if (caps == nullptr) return MakeError(ErrorCode::kInternal, "sign: out of memory");
  bool ok = true;
  if (announce_gcm) {
    ok = ok && CMS_add_simple_smimecap(&caps, NID_aes_256_gcm, -1) == 1;
    ok = ok && CMS_add_simple_smimecap(&caps, NID_aes_128_gcm, -1) == 1;
  }
  ok = ok && CMS_add_simple_smimecap(&caps, NID_aes_256_cbc, -1) == 1;
  ok = ok && CMS_add_simple_smimecap(&caps, NID_aes_192_cbc, -1) == 1;
  ok = ok && CMS_add_simple_smimecap(&caps, NID_aes_128_cbc, -1) == 1;
  ok = ok && CMS_add_smimecap(si, caps) == 1;
  sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
  if (!ok)
    return MakeError(ErrorCode::kInternal,
                     "sign: cannot add SMIMECapabilities (" + TakeOpenSslError() + ")");
  return OkStatus();
}

std::string WrapSigned(const OuterSplit& split, std::string_view der, DigestAlg digest) {
  std::string boundary = internal::RandomBoundary(split.entity);
  std::string out;
  out.reserve(split.outer_headers.size() + split.entity.size() + der.size() * 4 / 3 + 1024);
  out += split.outer_headers;
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg=";
  out += MicAlg(digest);
  out += "; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "This is a cryptographically signed message in MIME format.\r\n\r\n";
  out += "--" + boundary + "\r\n";
  out += split.entity;
  AppendSignaturePart(boundary, der, out);
  return out;
}

}  // namespace

// What WrapSigned writes, byte for byte, but with the canonical entity
// written once, straight into the output (no separate entity string and no
// second copy of it). The boundary is drawn first and checked against the
// entity afterwards; on the (2^-128) collision the two-step path runs.
Result<std::string> SmimeEngine::SignPrepared(std::string_view message,
                                              const PreparedSigner& signer,
                                              const SignOptions& options) const {
  const std::time_t signing_time = options.signing_time.value_or(std::time(nullptr));
  SG_ASSIGN_OR_RETURN(std::string outer_headers, OuterHeadersForSmime(message, limits_));
  std::string boundary = internal::RandomBoundary({});
  std::string out;
  out.reserve(message.size() + message.size() / 16 + 8192);
  out += outer_headers;
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg=";
  out += MicAlg(signer.digest());
  out += "; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "This is a cryptographically signed message in MIME format.\r\n\r\n";
  out += "--" + boundary + "\r\n";
  const size_t entity_at = out.size();
  out += options.inner_headers;
  SG_RETURN_IF_ERROR(AppendEntityForSmime(message, options.transport_encode, limits_, out));
  std::string_view entity = std::string_view(out).substr(entity_at);
  if (entity.find(boundary) != std::string_view::npos) {
    SG_ASSIGN_OR_RETURN(OuterSplit split,
                        SplitForSmime(message, options.transport_encode, limits_));
    split.entity.insert(0, options.inner_headers);
    SG_ASSIGN_OR_RETURN(std::string der, signer.SignDetached(split.entity, signing_time));
    return WrapSigned(split, der, signer.digest());
  }
  SG_ASSIGN_OR_RETURN(std::string der, signer.SignDetached(entity, signing_time));
  AppendSignaturePart(boundary, der, out);
  return out;
}

// RSA-PSS (and a reference for the direct encoder): OpenSSL's CMS code.
Result<std::string> SmimeEngine::SignWithCms(std::string_view message, const SignerIdentity& signer,
                                             const SignOptions& options) const {
  if (!signer.key || !signer.cert) {
    return MakeError(ErrorCode::kInvalidArgument, "sign: signer identity lacks key or certificate");
  }
  SG_ASSIGN_OR_RETURN(OuterSplit split, SplitForSmime(message, options.transport_encode, limits_));
  split.entity.insert(0, options.inner_headers);

  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY));
  if (!cms) return MakeError(ErrorCode::kInternal, "sign: " + TakeOpenSslError());

  bool pss = options.rsa_pss && EVP_PKEY_is_a(signer.key.get(), "RSA");
  unsigned int flags = CMS_BINARY | CMS_NOSMIMECAP | (pss ? CMS_KEY_PARAM : 0u);
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(),
                                       Digest(options.digest), flags);
  if (si == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "sign: key does not match certificate " + CertSubjectLine(signer.cert.get()) +
                         " or is not a signing key (" + TakeOpenSslError() + ")");
  }
  if (pss) {
    EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
    if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
      return MakeError(ErrorCode::kUnsupported,
                       "sign: cannot select RSA-PSS (" + TakeOpenSslError() + ")");
    }
  }
  SG_RETURN_IF_ERROR(AddCapabilities(si, options.announce_aes_gcm));
  if (options.include_chain) {
    for (const X509Ptr& c : signer.chain) {
      if (c && CMS_add1_cert(cms.get(), c.get()) != 1) ERR_clear_error();  // duplicate: fine
    }
  }
  internal::BioPtr content = internal::ReadBio(split.entity);
  if (CMS_final(cms.get(), content.get(), nullptr, CMS_BINARY | CMS_DETACHED) != 1) {
    return MakeError(ErrorCode::kInternal, "sign: CMS_final failed (" + TakeOpenSslError() + ")");
  }
  SG_ASSIGN_OR_RETURN(std::string der, internal::CmsToDer(cms.get()));
  return WrapSigned(split, der, options.digest);
}

}  // namespace sg::smime
