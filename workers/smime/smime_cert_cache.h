// Parsed-certificate reuse for signature verification.
//
// Why: every signed message carries the signer's certificate and chain, and
// OpenSSL 3.0 spends most of a verification parsing them (X509 public keys
// go through the provider decoder framework: hundreds of microseconds per
// certificate). Correspondents send the same certificates again and again,
// so Verify() lifts the certificates out of the SignedData DER before
// parsing it (StripCertificates) and takes each one from a per-thread cache
// keyed by its DER bytes (CachedCertificate).
//
// Threading: the cache is thread_local, so lookups take no lock; each
// worker thread warms its own copy. Bounded: a full cache is cleared.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workers/smime/smime_handles.h"

namespace sg::smime::internal {

// For a definite-length (DER-style) ContentInfo(SignedData) with a
// certificates field: the same structure without that field, and the DER of
// each certificate in |certs|. std::nullopt when there is nothing to strip or
// the encoding is not one we rewrite (indefinite lengths, unexpected shape):
// the caller then parses |der| unchanged.
std::optional<std::string> StripCertificates(std::string_view der,
                                             std::vector<std::string_view>* certs);

// The parsed certificate for |der|, from this thread's cache or freshly
// parsed (nullptr when |der| is not a certificate).
X509Ptr CachedCertificate(std::string_view der);

}  // namespace sg::smime::internal
