// The steps of SmimeEngine::Verify (internal to the engine): the
// cryptographic check of every SignerInfo, then each signer's certificate,
// algorithms and times.
//
// Threading: pure functions over objects the caller owns; OpenSSL error
// queues are per thread.
#pragma once

#include <openssl/cms.h>
#include <openssl/x509.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "workers/smime/smime_chain_memo.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime::internal {

// The result of the signature and content-digest check of one SignerInfo.
struct CryptoCheck {
  VerifyStatus status = VerifyStatus::kGood;  // kGood, kBadSignature, kNoSignerCert, ...
  std::string detail;
};

// What CMS_verify does (signer certificates from |extra|, each SignerInfo's
// signed-attribute signature, one pass over the content through the digest
// BIOs, each SignerInfo's content digest), but SignerInfo by SignerInfo so
// that one bad signer does not hide the others. |dcont| is the detached
// content or nullptr; the content is copied to |out| when it is not null.
// Returns one CryptoCheck per SignerInfo, or nullopt when the content could
// not be read at all (then |why| says why).
std::optional<std::vector<CryptoCheck>> CheckSignatures(CMS_ContentInfo* cms, STACK_OF(X509) * extra,
                                                        BIO* dcont, BIO* out, std::string* why);

struct SignerContext {
  const TrustStore* trust = nullptr;
  const std::vector<X509Ptr>* carried = nullptr;  // certificates in the SignedData
  std::time_t now = 0;                            // arrival time
  bool allow_sha1 = false;
  std::string from;  // the From address, lower-case (may be empty)
  RevocationChecker* revocation = nullptr;  // asked after the chain validated
  ChainMemo* memo = nullptr;  // memoised chain validations (smime_chain_memo.h); may be null
};

// Completes the result of one SignerInfo: certificate, digest policy,
// chain at |now| and at the signingTime, whether it names From. |chain|
// receives the validated chain when it is not null.
SignerResult CheckSigner(CMS_SignerInfo* si, const CryptoCheck& crypto, const SignerContext& ctx,
                         std::vector<X509Ptr>* chain);

std::optional<std::time_t> SigningTime(CMS_SignerInfo* si);
Capabilities ReadCapabilities(CMS_SignerInfo* si);

// Thunderbird's check (mimecms.cpp nsSMimeVerificationListener::Notify):
// the Date header value must parse and be within an hour of |signing_time|.
bool DateMatchesSigningTime(const std::string& date_header, std::time_t signing_time);

}  // namespace sg::smime::internal
