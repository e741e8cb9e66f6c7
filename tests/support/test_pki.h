// The one certificate maker of the tests: every test PKI (the S/MIME cast in
// tests/workers/smime/smime_test_pki.*, the partner CAs and leaves of the
// keyservice tests in tests/keyservice/test_pki.*, the TLS server, CA and
// client certificates of the ingress tests in tests/ingress/test_certs.*)
// issues its certificates here, with the OpenSSL API (no openssl CLI).
//
// Test material only: keys are unencrypted. Errors throw std::runtime_error
// (a broken test set-up, not a condition to handle).
//
// Threading: the functions may be called from any thread.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sg::testing {

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using TestX509 = std::unique_ptr<X509, X509Deleter>;
using TestPkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

TestPkey MakeRsaKey(int bits = 2048);
TestPkey MakeEcKey();  // P-256

struct CertSpec {
  // Subject name entries in order, e.g. {{"O", "smimegate test"}, {"CN", "Alice"}}.
  std::vector<std::pair<std::string, std::string>> subject;
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  // X.509v3 extensions in order, in openssl.cnf syntax: {NID_key_usage, "critical,keyCertSign"}.
  // (subjectKeyIdentifier/authorityKeyIdentifier: "hash" / "keyid:always".)
  std::vector<std::pair<int, std::string>> extensions;
};

// A v3 certificate for |subject_key| with a random positive 127-bit serial,
// signed (SHA-256) by |issuer_key| under |issuer| - self-signed with
// subject_key when issuer is null.
TestX509 IssueCert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer = nullptr,
                   EVP_PKEY* issuer_key = nullptr);

std::string CertPem(const X509* cert);
std::string KeyPem(EVP_PKEY* key);  // unencrypted PKCS#8
std::string CertDer(const X509* cert);
std::string KeyDer(EVP_PKEY* key);

}  // namespace sg::testing
