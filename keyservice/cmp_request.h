// The pieces of a CMP certificate request and the checks on its answer,
// for CmpCa (cmp_ca.h).
//
// Threading: free functions, thread-safe; CmpIssuedCheck belongs to one
// exchange.
#pragma once

#include <openssl/cmp.h>

#include <string>

#include "common/result.h"
#include "keyservice/certificate_authority.h"
#include "keyservice/cmp_context.h"

namespace sg::keyservice {

// Validates request.key against request.public_key_der (kInvalidArgument)
// and puts into ctx: the new key (for proof of possession), subject
// CN=<address>, rfc822Name SAN, EKU emailProtection, key usage by key type.
Status SetCertTemplate(OSSL_CMP_CTX* ctx, const IssueRequest& request);

// What the certConf callback checks an issued certificate against, and what
// it found wrong ("" when nothing). Install with InstallIssuedCheck before
// the exchange; the object must outlive it.
struct CmpIssuedCheck {
  std::string address;
  const CmpCredentials* credentials = nullptr;
  std::chrono::system_clock::time_point now;
  std::string problem;
};
Status InstallIssuedCheck(OSSL_CMP_CTX* ctx, CmpIssuedCheck* check);

// The error after a failed exchange: kCorruption with check->problem,
// kPermissionDenied with the CA's PKIStatus, or kUnavailable (no answer,
// still waiting); `what` names the operation ("ir", "kur", "rr").
Error CmpFailure(OSSL_CMP_CTX* ctx, const CmpIssuedCheck* check, const std::string& what);

}  // namespace sg::keyservice
