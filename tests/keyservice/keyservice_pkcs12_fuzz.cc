// Fuzz target for PKCS#12 import (pkcs12_import.h), the file an admin
// uploads with `smimegatectl key import`, parsed by the keyservice: the
// steps of KeyServiceImpl::ImportKey up to the store.
//
// Input: a PKCS#12 file; the password is "fuzz" (what scripts/fuzz-seeds.sh
// gives the seeds made by openssl, NSS pk12util and gpgsm). Properties:
//   - errors are the documented ones (kInvalidArgument, kPermissionDenied,
//     kUnsupported) and no call leaves an OpenSSL error on the thread's queue;
//   - a parsed file has a key and the certificate that matches it;
//   - the key survives the PKCS#8 round trip the keyservice seals and opens;
//   - the facts read from the certificate (names, fingerprint) are well formed.
#include <openssl/err.h>

#include <cstdint>
#include <string>

#include "keyservice/keyservice_x509.h"
#include "keyservice/pkcs12_import.h"
#include "tests/support/fuzz_check.h"

namespace {

using namespace sg::keyservice;  // NOLINT: a test of this namespace
using sg::ErrorCode;

bool Printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

void CheckCertificateFacts(X509* cert) {
  auto der = CertificateToDer(cert);
  SG_FUZZ_CHECK(der.ok());
  SG_FUZZ_CHECK(Fingerprint(*der).size() == 64);
  SG_FUZZ_CHECK(Printable(SubjectText(cert)) && Printable(IssuerText(cert)));
  for (const std::string& a : EmailAddresses(cert)) {
    for (char c : a) SG_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }
  (void)NotBefore(cert);  // NOLINT: only "no crash" to check
  (void)NotAfter(cert);   // NOLINT
  SG_FUZZ_CHECK(ERR_peek_error() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ERR_clear_error();
  auto p12 = ParsePkcs12(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  SG_FUZZ_CHECK(ERR_peek_error() == 0);
  if (!p12.ok()) {
    ErrorCode c = p12.error().code;
    SG_FUZZ_CHECK(c == ErrorCode::kInvalidArgument || c == ErrorCode::kPermissionDenied ||
                  c == ErrorCode::kUnsupported);
    return 0;
  }
  SG_FUZZ_CHECK(p12->key != nullptr && p12->certificate != nullptr);
  SG_FUZZ_CHECK(CertificateMatchesKey(p12->certificate.get(), p12->key.get()));
  auto pkcs8 = PrivateKeyToDer(p12->key.get());
  SG_FUZZ_CHECK(pkcs8.ok());
  auto again = ParsePrivateKeyDer(*pkcs8);
  SG_FUZZ_CHECK(again.ok());
  SG_FUZZ_CHECK(EVP_PKEY_eq(again->get(), p12->key.get()) == 1);
  CheckCertificateFacts(p12->certificate.get());
  for (const auto& c : p12->chain) CheckCertificateFacts(c.get());
  return 0;
}
