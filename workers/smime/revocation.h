// Revocation checking of partner certificates (issue 18): the interface the
// signature verification calls once a signer's chain has validated.
//
// Purpose: SmimeEngine::Verify (smime_verify_signer.cc) asks a
// RevocationChecker about the validated chain signer..anchor when
// VerifyOptions::revocation is set. The checker answers for the whole chain
// (every certificate but the anchor) and says whether the verification must
// fail: kRevoked always fails ("revoked", [signed INVALID]); an unanswered
// question (responder down, unknown to the responder) fails only for a
// hard-fail domain (soft fail otherwise: treated as not revoked, counted).
// The online implementation is revocation_checker.h.
//
// Threading: Check() is called from any number of worker threads at once.
// Errors: none; every problem is a verdict.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "workers/smime/smime_handles.h"

namespace sg::smime {

enum class RevocationState {
  kGood,     // every checked certificate is good (or has no revocation pointer)
  kRevoked,  // a certificate of the chain is revoked
  kUnknown,  // a responder answered "unknown" for it
  kError,    // no usable answer (unreachable, timeout, too large, bad signature, stale)
};
std::string_view RevocationStateName(RevocationState state);  // "good", "revoked", ...

struct RevocationVerdict {
  RevocationState state = RevocationState::kGood;
  bool fail = false;   // the verification fails (revoked, or hard fail for the domain)
  std::string detail;  // "revoked (keyCompromise) per OCSP http://..."; for logs and headers
};

class RevocationChecker {
 public:
  virtual ~RevocationChecker() = default;
  // |chain|: the validated chain, signer first, trust anchor last.
  // |domain|: the domain whose hard-fail setting applies (the From domain,
  // else the signer certificate's first address's), lower-case.
  virtual RevocationVerdict Check(const std::vector<X509Ptr>& chain, std::string_view domain) = 0;
};

}  // namespace sg::smime
