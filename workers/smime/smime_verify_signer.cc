// The per-SignerInfo steps of SmimeEngine::Verify (smime_verify_internal.h).
#include <gmime/gmime.h>
#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <clocale>
#include <locale.h>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>

#include "common/mail/address.h"
#include "workers/smime/smime_algorithms.h"
#include "workers/smime/smime_verify_internal.h"

namespace sg::smime::internal {
namespace {

struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), StackFree>;

struct CtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

// Maps the OpenSSL reason of a failed signature check to a status.
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

CryptoCheck Failed() {
  unsigned long err = ERR_peek_last_error();  // NOLINT(google-runtime-int)
  CryptoCheck c;
  c.status = SignatureFailure(err);
  c.detail = TakeOpenSslError();
  return c;
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

// Reads |chain| to the end, copying to |out| when given.
bool Drain(BIO* chain, BIO* out) {
  char buf[16384];
  for (;;) {
    int n = BIO_read(chain, buf, sizeof(buf));
    if (n < 0) return false;
    if (n == 0) return true;
    if (out != nullptr && BIO_write(out, buf, n) != n) return false;
  }
}

// Frees the digest BIOs CMS_dataInit put in front of |dcont| (dcont stays
// with its owner), or the whole chain when there is no detached content.
void FreeChain(BIO* chain, BIO* dcont) {
  if (dcont == nullptr) {
    BIO_free_all(chain);
    return;
  }
  while (chain != nullptr && chain != dcont) {
    BIO* next = BIO_pop(chain);
    BIO_free(chain);
    chain = next;
  }
}

void InitGmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// The chain of |signer| validated at |at|; the status of the first failure.
VerifyStatus ValidateChainFully(X509* signer, const SignerContext& ctx, std::time_t at,
                                std::vector<X509Ptr>* chain, std::string* detail) {
  std::unique_ptr<X509_STORE_CTX, CtxFree> sctx(X509_STORE_CTX_new());
  X509Stack untrusted(sk_X509_new_null());
  for (const X509Ptr& c : *ctx.carried) {
    X509_up_ref(c.get());
    sk_X509_push(untrusted.get(), c.get());
  }
  for (const X509Ptr& c : ctx.trust->intermediates()) {
    X509_up_ref(c.get());
    sk_X509_push(untrusted.get(), c.get());
  }
  if (!sctx || X509_STORE_CTX_init(sctx.get(), ctx.trust->store(), signer, untrusted.get()) != 1) {
    *detail = "cannot set up chain validation";
    return VerifyStatus::kUntrusted;
  }
  X509_STORE_CTX_set_purpose(sctx.get(), X509_PURPOSE_SMIME_SIGN);
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx.get()), at);
  if (X509_verify_cert(sctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(sctx.get());
    ERR_clear_error();
    *detail = X509_verify_cert_error_string(err);
    return ChainFailure(err);
  }
  if (chain != nullptr) {
    if (X509Stack c{X509_STORE_CTX_get1_chain(sctx.get())}) {
      for (int i = 0; i < sk_X509_num(c.get()); ++i) chain->push_back(ShareX509(sk_X509_value(c.get(), i)));
    }
  }
  return VerifyStatus::kGood;
}

// ValidateChainFully, or its memoised good result for the same signer,
// carried certificates, trust store and purpose when every certificate of
// that chain is valid at |at| (smime_chain_memo.h). Failures are not
// memoised: they are validated again each time, with today's detail text.
VerifyStatus ValidateChain(X509* signer, const SignerContext& ctx, std::time_t at,
                           std::vector<X509Ptr>* chain, std::string* detail) {
  if (ctx.memo == nullptr) return ValidateChainFully(signer, ctx, at, chain, detail);
  const std::string key =
      ChainMemoKey(signer, *ctx.carried, ctx.trust->id(), X509_PURPOSE_SMIME_SIGN);
  if (!key.empty()) {
    if (std::optional<std::vector<X509Ptr>> memo = ctx.memo->Find(key, at)) {
      *chain = std::move(*memo);
      return VerifyStatus::kGood;
    }
  }
  VerifyStatus status = ValidateChainFully(signer, ctx, at, chain, detail);
  if (status == VerifyStatus::kGood && !key.empty()) ctx.memo->Insert(key, *chain);
  return status;
}

// Whether every certificate of |chain| was valid at |t|.
bool ChainValidAt(const std::vector<X509Ptr>& chain, std::time_t t) {
  for (const X509Ptr& c : chain) {
    if (X509_cmp_time(X509_get0_notBefore(c.get()), &t) > 0) return false;
    if (X509_cmp_time(X509_get0_notAfter(c.get()), &t) < 0) return false;
  }
  return true;
}

// The digest policy for one SignerInfo: its digestAlgorithm and the digest
// its signatureAlgorithm implies (sha1WithRSAEncryption, ecdsa-with-SHA1).
void CheckDigest(CMS_SignerInfo* si, bool allow_sha1, SignerResult& s) {
  X509_ALGOR* dig = nullptr;
  X509_ALGOR* sig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, &sig);
  const ASN1_OBJECT* obj = nullptr;
  int worst_nid = NID_undef;
  DigestClass worst = DigestClass::kAccepted;
  auto consider = [&](int nid) {
    DigestClass c = ClassifySignatureDigest(nid);
    if (worst_nid == NID_undef || static_cast<int>(c) > static_cast<int>(worst)) {
      worst = c;
      worst_nid = nid;
    }
  };
  if (dig != nullptr) {
    X509_ALGOR_get0(&obj, nullptr, nullptr, dig);
    s.digest = AlgorithmName(OBJ_obj2nid(obj));
    consider(OBJ_obj2nid(obj));
  }
  if (sig != nullptr) {
    X509_ALGOR_get0(&obj, nullptr, nullptr, sig);
    int md_nid = NID_undef;
    int pk_nid = NID_undef;
    if (OBJ_find_sigid_algs(OBJ_obj2nid(obj), &md_nid, &pk_nid) == 1 && md_nid != NID_undef) {
      consider(md_nid);
    }
  }
  if (worst == DigestClass::kRefused) {
    s.status = VerifyStatus::kWeakDigest;
    s.detail = "digest " + AlgorithmName(worst_nid) + " is not accepted";
  } else if (worst == DigestClass::kSha1 && !allow_sha1) {
    s.status = VerifyStatus::kWeakDigest;
    s.detail = "SHA-1 signatures are not accepted (workers.smime.sha1_signatures)";
  } else if (worst == DigestClass::kSha1) {
    s.weak = true;
  }
}

}  // namespace

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

std::optional<std::vector<CryptoCheck>> CheckSignatures(CMS_ContentInfo* cms, STACK_OF(X509) * extra,
                                                        BIO* dcont, BIO* out, std::string* why) {
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms);
  const int n = sk_CMS_SignerInfo_num(sis);
  std::vector<CryptoCheck> checks(static_cast<size_t>(std::max(n, 0)));
  ERR_clear_error();
  CMS_set1_signers_certs(cms, extra, 0);  // the count it returns is read per SignerInfo below
  ERR_clear_error();
  for (int i = 0; i < n; ++i) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, i);
    X509* signer = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
    CryptoCheck& c = checks[static_cast<size_t>(i)];
    if (signer == nullptr) {
      c.status = VerifyStatus::kNoSignerCert;
      c.detail = "signer certificate not found";
    } else if (CMS_signed_get_attr_count(si) >= 0 && CMS_SignerInfo_verify(si) <= 0) {
      c = Failed();
    }
  }
  BIO* chain = CMS_dataInit(cms, dcont);
  if (chain == nullptr) {
    // No digest for the content (an unknown digest algorithm) or no content:
    // every SignerInfo that got this far fails the same way.
    const CryptoCheck failed = Failed();
    for (CryptoCheck& c : checks) {
      if (c.status == VerifyStatus::kGood) c = failed;
    }
    return checks;
  }
  const bool read = Drain(chain, out);
  for (int i = 0; i < n && read; ++i) {
    CryptoCheck& c = checks[static_cast<size_t>(i)];
    if (c.status != VerifyStatus::kGood) continue;
    if (CMS_SignerInfo_verify_content(sk_CMS_SignerInfo_value(sis, i), chain) <= 0) c = Failed();
  }
  FreeChain(chain, dcont);
  if (!read) {
    *why = "signed content cannot be read: " + TakeOpenSslError();
    return std::nullopt;  // a broken structure, not a signer's fault
  }
  return checks;
}

SignerResult CheckSigner(CMS_SignerInfo* si, const CryptoCheck& crypto, const SignerContext& ctx,
                         std::vector<X509Ptr>* chain) {
  SignerResult s;
  s.status = crypto.status;
  s.detail = crypto.detail;
  s.signing_time = SigningTime(si);
  X509* signer = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
  if (signer != nullptr) {
    s.cert = ShareX509(signer);
    s.addresses = CertEmailAddresses(signer);
    s.names_from = !ctx.from.empty() &&
                   std::find(s.addresses.begin(), s.addresses.end(), ctx.from) != s.addresses.end();
  }
  SignerResult digest_check = s;
  CheckDigest(si, ctx.allow_sha1, digest_check);
  s.digest = digest_check.digest;
  s.weak = digest_check.weak;
  if (s.status != VerifyStatus::kGood) return s;
  if (digest_check.status != VerifyStatus::kGood) return digest_check;
  std::vector<X509Ptr> validated;
  s.status = ValidateChain(signer, ctx, ctx.now, &validated, &s.detail);
  if (s.status != VerifyStatus::kGood) return s;
  // A signingTime narrows validity, never extends it: the chain must also
  // have been valid then (NSS verifies at the signing time, Thunderbird also now).
  if (s.signing_time && !ChainValidAt(validated, *s.signing_time)) {
    s.status = VerifyStatus::kExpired;
    s.detail = "a certificate was not valid at the signing time";
    return s;
  }
  if (ctx.revocation != nullptr) {
    // The From domain decides hard or soft fail; without From, the signer's.
    std::string domain = mail::DomainOf(!ctx.from.empty() ? ctx.from
                                        : s.addresses.empty() ? std::string() : s.addresses.front());
    RevocationVerdict r = ctx.revocation->Check(validated, domain);
    if (r.fail) {
      s.status = r.state == RevocationState::kRevoked ? VerifyStatus::kRevoked
                                                      : VerifyStatus::kRevocationUnknown;
      s.detail = r.detail;
      return s;
    }
  }
  if (chain != nullptr) *chain = std::move(validated);
  return s;
}

namespace {

// The form every current mailer writes ("Sun, 06 Dec 2026 04:20:31 +0000",
// the day name optional), parsed with the C library in the C locale;
// everything else RFC 5322 allows (comments, obsolete zones) goes to GMime.
std::optional<int64_t> CommonDate(const std::string& value) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  for (const char* format : {"%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z"}) {
    struct tm tm_value {};
    const char* end = strptime_l(value.c_str(), format, &tm_value, c_locale);
    if (end == nullptr) continue;
    while (*end == ' ' || *end == '\t') ++end;
    if (*end != '\0') continue;
    const long offset = tm_value.tm_gmtoff;  // NOLINT(google-runtime-int): struct tm; timegm resets it
    return static_cast<int64_t>(timegm(&tm_value)) - offset;
  }
  return std::nullopt;
}

std::optional<int64_t> AnyDate(const std::string& value) {
  if (auto t = CommonDate(value)) return t;
  InitGmime();
  GDateTime* date = g_mime_utils_header_decode_date(value.c_str());
  if (date == nullptr) return std::nullopt;
  const int64_t t = g_date_time_to_unix(date);
  g_date_time_unref(date);
  return t;
}

}  // namespace

bool DateMatchesSigningTime(const std::string& date_header, std::time_t signing_time) {
  if (date_header.empty()) return false;
  const std::optional<int64_t> t = AnyDate(date_header);
  return t && std::llabs(*t - static_cast<int64_t>(signing_time)) <= 3600;
}

}  // namespace sg::smime::internal
