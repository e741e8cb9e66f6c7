#include "workers/smime/revocation_sources.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "workers/smime/smime_handles.h"

namespace sg::smime {
namespace {

constexpr std::time_t kSkew = 300;

struct OcspRequestFree {
  void operator()(OCSP_REQUEST* r) const { OCSP_REQUEST_free(r); }
};
struct OcspResponseFree {
  void operator()(OCSP_RESPONSE* r) const { OCSP_RESPONSE_free(r); }
};
struct OcspBasicFree {
  void operator()(OCSP_BASICRESP* r) const { OCSP_BASICRESP_free(r); }
};
struct CertIdFree {
  void operator()(OCSP_CERTID* c) const { OCSP_CERTID_free(c); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // the certificates are borrowed
};

bool IsHttpUrl(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

std::string UriOf(const GENERAL_NAME* name) {
  if (name == nullptr || name->type != GEN_URI) return "";
  const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
  std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                  static_cast<size_t>(ASN1_STRING_length(uri)));
  return IsHttpUrl(url) ? url : "";
}

std::optional<std::time_t> TimeOf(const ASN1_TIME* t) {
  struct tm tm_value {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm_value) != 1) return std::nullopt;
  return timegm(&tm_value);
}

// thisUpdate not in the future, nextUpdate (when given) not in the past.
Status Current(const ASN1_TIME* this_update, const ASN1_TIME* next_update, std::time_t now,
               const char* what) {
  std::optional<std::time_t> t = TimeOf(this_update);
  if (!t || *t > now + kSkew) {
    return MakeError(ErrorCode::kUnavailable, std::string(what) + ": thisUpdate in the future");
  }
  if (next_update != nullptr) {
    std::optional<std::time_t> n = TimeOf(next_update);
    if (!n || *n < now - kSkew) {
      return MakeError(ErrorCode::kUnavailable, std::string(what) + ": stale (nextUpdate passed)");
    }
  }
  return OkStatus();
}

std::string Der(OCSP_CERTID* id) {
  unsigned char* buf = nullptr;
  int n = i2d_OCSP_CERTID(id, &buf);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

}  // namespace

std::string OcspUrl(X509* cert) {
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(cert, NID_info_access, nullptr, nullptr));
  if (aia == nullptr) return "";
  std::string url;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia) && url.empty(); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    if (OBJ_obj2nid(ad->method) == NID_ad_OCSP) url = UriOf(ad->location);
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  return url;
}

std::vector<std::string> CrlUrls(X509* cert) {
  std::vector<std::string> urls;
  auto* dps = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  if (dps == nullptr) return urls;
  for (int i = 0; i < sk_DIST_POINT_num(dps); ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(dps, i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;  // fullName only
    const GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      std::string url = UriOf(sk_GENERAL_NAME_value(names, j));
      if (!url.empty()) urls.push_back(std::move(url));
    }
  }
  CRL_DIST_POINTS_free(dps);
  return urls;
}

Result<std::string> OcspRequest(X509* cert, X509* issuer, std::string* cache_key) {
  std::unique_ptr<OCSP_CERTID, CertIdFree> id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  std::unique_ptr<OCSP_REQUEST, OcspRequestFree> req(OCSP_REQUEST_new());
  if (!id || !req) return MakeError(ErrorCode::kInternal, "ocsp: " + TakeOpenSslError());
  *cache_key = Der(id.get());
  OCSP_CERTID* owned = id.release();  // the request takes it
  if (OCSP_request_add0_id(req.get(), owned) == nullptr) {
    OCSP_CERTID_free(owned);
    return MakeError(ErrorCode::kInternal, "ocsp: " + TakeOpenSslError());
  }
  unsigned char* buf = nullptr;
  int n = i2d_OCSP_REQUEST(req.get(), &buf);
  if (n <= 0) return MakeError(ErrorCode::kInternal, "ocsp: " + TakeOpenSslError());
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

Result<RevocationAnswer> ReadOcspResponse(std::string_view der, X509* cert, X509* issuer,
                                          const std::vector<X509*>& chain, X509* anchor,
                                          std::time_t now) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, OcspResponseFree> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));  // NOLINT(google-runtime-int)
  if (!resp) return MakeError(ErrorCode::kCorruption, "ocsp: unparsable response " + TakeOpenSslError());
  const int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string("ocsp: responder answered ") + OCSP_response_status_str(rs));
  }
  std::unique_ptr<OCSP_BASICRESP, OcspBasicFree> basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return MakeError(ErrorCode::kCorruption, "ocsp: no basic response");
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), StackFree> certs(sk_X509_new_null());
  if (!store || !certs || X509_STORE_add_cert(store.get(), anchor) != 1) {
    return MakeError(ErrorCode::kInternal, "ocsp: " + TakeOpenSslError());
  }
  for (X509* c : chain) sk_X509_push(certs.get(), c);
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), 0) <= 0) {
    return MakeError(ErrorCode::kCorruption,
                     "ocsp: response signature not trusted: " + TakeOpenSslError());
  }
  std::unique_ptr<OCSP_CERTID, CertIdFree> id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  int status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "ocsp: the response is not about this certificate");
  }
  SG_RETURN_IF_ERROR(Current(this_update, next_update, now, "ocsp"));
  RevocationAnswer a;
  a.next_update = next_update != nullptr ? TimeOf(next_update) : std::nullopt;
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    a.state = RevocationState::kRevoked;
    a.reason = reason >= 0 ? OCSP_crl_reason_str(reason) : "unspecified";
  } else if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
    a.state = RevocationState::kUnknown;
  }
  return a;
}

Result<CrlPtr> ReadCrl(std::string_view data, X509* issuer, std::time_t now,
                       std::optional<std::time_t>* next_update) {
  X509_CRL* raw = nullptr;
  if (data.rfind("-----BEGIN", 0) == 0) {
    BIO* bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
    raw = bio != nullptr ? PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    raw = d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size()));  // NOLINT(google-runtime-int)
  }
  if (raw == nullptr) return MakeError(ErrorCode::kCorruption, "crl: unparsable " + TakeOpenSslError());
  CrlPtr crl(raw, CrlFree());
  if (X509_NAME_cmp(X509_CRL_get_issuer(raw), X509_get_subject_name(issuer)) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "crl: issued by another CA than the certificate");
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr || X509_CRL_verify(raw, key) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kCorruption, "crl: signature does not verify with the issuer's key");
  }
  SG_RETURN_IF_ERROR(Current(X509_CRL_get0_lastUpdate(raw), X509_CRL_get0_nextUpdate(raw), now, "crl"));
  *next_update = X509_CRL_get0_nextUpdate(raw) != nullptr ? TimeOf(X509_CRL_get0_nextUpdate(raw))
                                                          : std::nullopt;
  return crl;
}

RevocationAnswer LookupCrl(X509_CRL* crl, X509* cert) {
  RevocationAnswer a;
  X509_REVOKED* entry = nullptr;
  const int r = X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert));
  if (r != 1 || entry == nullptr) return a;  // 0: not listed; 2: removeFromCRL
  a.state = RevocationState::kRevoked;
  int crit = 0;
  auto* code = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &crit, nullptr));
  const long reason = code != nullptr ? ASN1_ENUMERATED_get(code) : -1;  // NOLINT(google-runtime-int)
  ASN1_ENUMERATED_free(code);
  a.reason = reason >= 0 ? OCSP_crl_reason_str(reason) : "unspecified";
  return a;
}

}  // namespace sg::smime
