// OpenSSL helpers of the keyservice: owning handles, DER conversion, key
// generation, fingerprints and the facts about a certificate we decide on.
//
// Every function returns Result and leaves no OpenSSL error on the thread's
// error queue (the message of the error it raised carries the details).
//
// Threading: free functions, thread-safe (OpenSSL 3 is).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "common/mail/address.h"
#include "common/result.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The last OpenSSL error as text ("" when none), clearing the queue.
std::string OpenSslError();

// One DER certificate, nothing after it, its public key decodable, and in
// canonical DER (it re-encodes to exactly these bytes); otherwise
// kInvalidArgument saying which.
Result<X509Ptr> ParseCertificateDer(const std::string& der);
Result<std::string> CertificateToDer(X509* cert);
std::string CertificateToPem(X509* cert);
Result<PkeyPtr> ParsePrivateKeyDer(const std::string& pkcs8_der);
// PKCS#8 DER. Callers seal it (kek.h) before it touches disk.
Result<std::string> PrivateKeyToDer(EVP_PKEY* key);
// PKCS#8 PEM, built in secure memory (TLS credentials: files mode 0600 or memory).
std::string PrivateKeyToPem(EVP_PKEY* key);

Result<PkeyPtr> GenerateKey(KeyType type);
// SubjectPublicKeyInfo DER.
Result<std::string> PublicKeyDer(EVP_PKEY* key);

// SHA-256 of the DER, lower-case hex.
std::string Fingerprint(const std::string& der);
// A random identifier (hex) for keys.
std::string RandomId(size_t bytes = 16);

int64_t NotBefore(X509* cert);  // unix seconds
int64_t NotAfter(X509* cert);
std::string SubjectText(X509* cert);
std::string IssuerText(X509* cert);
// rfc822Name SANs and subject emailAddress values, normalised
// (common/mail/address.h; a value that is not an address ASCII lower-cased).
std::vector<std::string> EmailAddresses(X509* cert);
// dNSName SANs, lower-cased (domain certificates often name the domain).
std::vector<std::string> DnsNames(X509* cert);
bool CertificateMatchesKey(X509* cert, EVP_PKEY* key);
bool IsRsa(EVP_PKEY* key);

// Addresses and domains are normalised by the one normaliser of the tree
// (common/mail/address.h), the same that the ingress accepted them with.
using mail::DomainOf;
using mail::NormalizeAddress;
using mail::NormalizeDomain;
// "alice@example.com" -> "@example.com" (the owner of domain keys and certificates)
std::string DomainOwnerOf(const std::string& address);

}  // namespace sg::keyservice
