// Building X.509 certificates with OpenSSL: the pieces the keyservice's
// CAs share (the built-in S/MIME CA, builtin_ca.h, and the internal CA of
// the gRPC API, internal_ca.h).
//
// Threading: free functions, thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

// CA/B Forum S/MIME BR: mailbox-validated, strict.
inline constexpr const char* kPolicyMailboxStrict = "2.23.140.1.5.1.3";

// SHA-384 for P-384 (and larger EC) signers, SHA-256 otherwise.
const EVP_MD* DigestFor(EVP_PKEY* signer);
// An extension in OpenSSL's config syntax ("critical,CA:FALSE").
Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value);
// certificatePolicies with one policy OID (built directly: the config-string
// form wants a config database for anything but the simplest values).
Status AddPolicy(X509* cert, const char* oid);
// A random positive 159-bit serial; notBefore five minutes before `now`
// (clock skew of relying parties), notAfter `now` + validity.
Status SetSerialAndValidity(X509* cert, std::chrono::system_clock::time_point now,
                            std::chrono::seconds validity);
// O=org, CN=cn.
Status SetName(X509_NAME* name, const std::string& org, const std::string& cn);
// A CA certificate for `key`, signed by issuer/issuer_key (self-signed when
// null). An intermediate gets pathlen 0, AKI, EKU emailProtection and the
// S/MIME BR policy.
Result<X509Ptr> MakeCaCert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                           const std::string& org, const std::string& cn,
                           std::chrono::system_clock::time_point now, std::chrono::seconds validity,
                           bool intermediate);

}  // namespace sg::keyservice
