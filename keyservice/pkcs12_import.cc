#include "keyservice/pkcs12_import.h"

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include <mutex>

namespace sg::keyservice {

bool EnsureLegacyProvider() {
  static std::once_flag once;
  static bool legacy_loaded = false;
  std::call_once(once, [] {
    // Loading any provider explicitly disables the implicit default one, so
    // both are loaded.
    OSSL_PROVIDER_load(nullptr, "default");
    legacy_loaded = OSSL_PROVIDER_load(nullptr, "legacy") != nullptr;
    OpenSslError();
  });
  return legacy_loaded;
}

Result<ParsedPkcs12> ParsePkcs12(const std::string& data, const std::string& password) {
  bool legacy = EnsureLegacyProvider();
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(data.size()));
  if (p12 == nullptr) {
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument, "not a PKCS#12 file (DER PFX expected)");
  }
  if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, password.c_str(), -1) != 1) {
    // An empty password may be encoded as "no password".
    if (!password.empty() || PKCS12_verify_mac(p12, nullptr, 0) != 1) {
      PKCS12_free(p12);
      OpenSslError();
      return MakeError(ErrorCode::kPermissionDenied, "wrong password for the PKCS#12 file");
    }
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  int ok = PKCS12_parse(p12, password.c_str(), &key, &cert, &ca);
  PKCS12_free(p12);
  if (ok != 1) {
    std::string err = OpenSslError();
    if (err.find("unsupported") != std::string::npos) {
      return MakeError(ErrorCode::kUnsupported,
                       std::string("the PKCS#12 file uses an algorithm OpenSSL cannot decrypt") +
                           (legacy ? "" : " (the OpenSSL legacy provider is not installed)"));
    }
    return MakeError(ErrorCode::kInvalidArgument, "cannot decrypt the PKCS#12 contents");
  }
  ParsedPkcs12 out;
  out.key.reset(key);
  out.certificate.reset(cert);
  for (int i = 0; ca != nullptr && i < sk_X509_num(ca); ++i) {
    out.chain.emplace_back(sk_X509_value(ca, i));
  }
  sk_X509_free(ca);
  if (!out.key) return MakeError(ErrorCode::kInvalidArgument, "the PKCS#12 file holds no private key");
  if (!out.certificate) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the PKCS#12 file holds no certificate matching its private key");
  }
  return out;
}

}  // namespace sg::keyservice
