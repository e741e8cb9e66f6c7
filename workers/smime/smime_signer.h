// PreparedSigner: a signing identity with everything per-message signing
// needs computed once, and a direct DER encoder for detached SignedData.
//
// Why not CMS_sign per message: for a P-256 key the ECDSA operation costs a
// fraction of what OpenSSL's generic CMS machinery spends around it
// (ASN.1 templates, per-message algorithm fetches, attribute stacks,
// certificate re-encoding). The structure of a detached S/MIME signature is
// fixed (RFC 5652 5.1, RFC 8551 2.5), so we emit it from pre-encoded pieces:
// certificates, issuer-and-serial, algorithm identifiers and the
// SMIMECapabilities attribute are encoded once; per message only the content
// digest, the signing time, the signed-attributes digest and the signature
// are computed. The output is checked by the interop tests against OpenSSL,
// gpgsm and NSS.
//
// Threading: immutable after Create(); SignDetached() may run concurrently in
// any number of threads (each call duplicates the prepared EVP_PKEY_CTX).
// Ownership: copies share the prepared state (shared_ptr); the private key is
// held by reference count only and is never serialised.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_handles.h"

namespace sg::smime {

enum class DigestAlg { kSha256, kSha384, kSha512 };

struct PreparedSignerOptions {
  DigestAlg digest = DigestAlg::kSha256;
  bool include_chain = true;     // send the intermediates with the signature
  bool announce_aes_gcm = true;  // list AES-GCM first in our SMIMECapabilities
};

class PreparedSigner {
 public:
  // kInvalidArgument if key and certificate do not belong together;
  // kUnsupported for key types other than RSA and EC.
  static Result<PreparedSigner> Create(const SignerIdentity& identity,
                                       const PreparedSignerOptions& options = {});

  // DER ContentInfo(SignedData) without eContent, over |content|.
  Result<std::string> SignDetached(std::string_view content, std::time_t signing_time) const;

  DigestAlg digest() const;
  const X509Ptr& cert() const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

}  // namespace sg::smime
