// Shareable RAII handles for OpenSSL keys and certificates, and their parsers.
//
// Purpose: keys and certificates are parsed once (at load time, by the
// keyservice client or the worker's cache) and then reused for every message.
// Handles are std::shared_ptr with the OpenSSL free function as deleter, so
// copying a handle is a refcount bump, never a re-parse.
//
// Threading: a parsed EVP_PKEY / X509 is used read-only by the engine and may
// be shared by any number of threads at once (OpenSSL 3 guarantees this for
// const use). Never mutate an object reachable through a shared handle.
//
// Ownership: the handle owns one OpenSSL reference. AdoptX509/AdoptPkey take
// over a reference the caller already holds; ShareX509/SharePkey add one.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sg::smime {

using X509Ptr = std::shared_ptr<X509>;
using PkeyPtr = std::shared_ptr<EVP_PKEY>;

X509Ptr AdoptX509(X509* cert);  // takes ownership of one reference
X509Ptr ShareX509(X509* cert);  // adds a reference (X509_up_ref)
PkeyPtr AdoptPkey(EVP_PKEY* key);
PkeyPtr SharePkey(EVP_PKEY* key);

// Parses one PEM or DER certificate. kInvalidArgument on anything else.
Result<X509Ptr> ParseCertificate(std::string_view pem_or_der);
// Parses every PEM certificate in |pem| (a chain file). Empty input is an error.
Result<std::vector<X509Ptr>> ParseCertificateChain(std::string_view pem);
// Parses a PEM private key (PKCS#8, encrypted PKCS#8 with |passphrase>, or
// traditional). The passphrase is never logged or copied into error messages.
Result<PkeyPtr> ParsePrivateKey(std::string_view pem, std::string_view passphrase = {});

std::string CertToPem(const X509* cert);
std::string CertSubjectLine(const X509* cert);  // one-line RFC 2253 subject, for messages

// rfc822Name subjectAltNames plus a subject emailAddress, lower-cased.
std::vector<std::string> CertEmailAddresses(const X509* cert);

// The most recent OpenSSL error queue entry as text, and clears the queue.
// Errors are per thread in OpenSSL, so this is safe to call concurrently.
std::string TakeOpenSslError();

// A signing identity: key, its certificate and the chain to send with it
// (intermediates; the root may be left out).
struct SignerIdentity {
  PkeyPtr key;
  X509Ptr cert;
  std::vector<X509Ptr> chain;
};

// A decryption candidate: private key and the certificate it belongs to.
// The certificate picks the matching RecipientInfo without trial decryption.
struct KeyPair {
  PkeyPtr key;
  X509Ptr cert;
};

}  // namespace sg::smime
