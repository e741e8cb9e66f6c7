// The built-in CA's certificate revocation list (RFC 5280 section 5).
//
// Purpose: BuiltinCa::Revoke records a revoked serial in the store
// (store::StoredRevocations, meta "ca/builtin/revoked"); MakeCrl signs the
// CRL of the issuing CA that lists them all: version 2, issuer = the
// issuing CA, thisUpdate = now, nextUpdate = now + validity, a CRL number
// and the authority key identifier; each entry with its revocation date and
// CRLReason. The status port serves it as GET /ca.crl (DER,
// application/pkix-crl) when keyservice.ca.crl_url points there.
//
// Threading: pure functions.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"
#include "keyservice/keyservice_store.pb.h"

namespace sg::keyservice {

// RFC 5280 CRLReason names ("keyCompromise", "superseded", ...) and codes.
// certificateHold and removeFromCRL are refused: revocation here is final.
// kInvalidArgument listing the accepted names.
Result<int> CrlReasonCode(std::string_view name);
std::string CrlReasonName(int code);

Result<std::string> MakeCrl(X509* issuer, EVP_PKEY* key,
                            const ::smimegate::keyservice::store::StoredRevocations& revoked,
                            std::chrono::system_clock::time_point now, std::chrono::seconds validity);

}  // namespace sg::keyservice
