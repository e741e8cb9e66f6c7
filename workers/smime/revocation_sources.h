// The two revocation sources of one certificate: OCSP (RFC 6960) and CRLs
// (RFC 5280), read and checked with OpenSSL's OCSP and X509_CRL APIs. No
// network here (revocation_http.h fetches, revocation_checker.h decides).
//
// Threading: pure functions over objects the caller owns.
// Errors: a response or CRL that cannot be trusted is an Error
// (kCorruption: unparsable or badly signed; kInvalidArgument: for another
// certificate or issuer; kUnavailable: the responder refused or the data is
// stale), which the checker treats like an unreachable source.
#pragma once

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workers/smime/revocation.h"

namespace sg::smime {

// What one source says about one certificate.
struct RevocationAnswer {
  RevocationState state = RevocationState::kGood;  // kGood, kRevoked or kUnknown
  std::string reason;                               // CRL reason when revoked ("keyCompromise")
  std::optional<std::time_t> next_update;
};

// The first http(s) OCSP URL of the authorityInfoAccess extension, "" when none.
std::string OcspUrl(X509* cert);
// The http(s) URLs of the CRL distribution points (full names only).
std::vector<std::string> CrlUrls(X509* cert);

// The DER of an OCSP request for |cert| issued by |issuer|, and in
// |cache_key| the DER of its CertID (issuer name and key hashes, serial).
Result<std::string> OcspRequest(X509* cert, X509* issuer, std::string* cache_key);

// Reads an OCSP response for |cert|: it must be successful, signed by
// |issuer| or by a responder |issuer| delegated to (OCSPSigning), chaining
// to |anchor|; its thisUpdate not in the future and its nextUpdate not in
// the past at |now| (5 minutes of clock skew either way).
Result<RevocationAnswer> ReadOcspResponse(std::string_view der, X509* cert, X509* issuer,
                                          const std::vector<X509*>& chain, X509* anchor,
                                          std::time_t now);

struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
using CrlPtr = std::shared_ptr<X509_CRL>;

// Parses a CRL (DER, or PEM) and checks it is |issuer|'s: issuer name,
// signature, and current at |now| (thisUpdate not in the future, nextUpdate
// not past). |next_update| receives its nextUpdate.
Result<CrlPtr> ReadCrl(std::string_view data, X509* issuer, std::time_t now,
                       std::optional<std::time_t>* next_update);

// Whether |crl| lists |cert|'s serial (a removeFromCRL entry is not a revocation).
RevocationAnswer LookupCrl(X509_CRL* crl, X509* cert);

}  // namespace sg::smime
