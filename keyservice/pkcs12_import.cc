#include "keyservice/pkcs12_import.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

namespace sg::keyservice {
namespace {

// The library context PKCS#12 files are decoded in: "default" + "legacy".
// Created once and kept for the life of the process.
struct Pkcs12Context {
  OSSL_LIB_CTX* ctx = nullptr;
  bool legacy = false;
};

const Pkcs12Context& Context() {
  static const Pkcs12Context context = [] {
    Pkcs12Context c;
    c.ctx = OSSL_LIB_CTX_new();
    if (c.ctx == nullptr) std::abort();  // out of memory at start-up
    // A context with an explicitly loaded provider has no implicit default.
    OSSL_PROVIDER_load(c.ctx, "default");
    c.legacy = OSSL_PROVIDER_load(c.ctx, "legacy") != nullptr;
    OpenSslError();
    return c;
  }();
  return context;
}

// Makes `ctx` the calling thread's default library context while it lives
// (OSSL_LIB_CTX_set0_default is per thread), so that PKCS12_parse and the
// PBE/MAC fetches inside it use the private context.
class ScopedDefaultContext {
 public:
  explicit ScopedDefaultContext(OSSL_LIB_CTX* ctx) : previous_(OSSL_LIB_CTX_set0_default(ctx)) {}
  ~ScopedDefaultContext() { OSSL_LIB_CTX_set0_default(previous_); }
  ScopedDefaultContext(const ScopedDefaultContext&) = delete;
  ScopedDefaultContext& operator=(const ScopedDefaultContext&) = delete;

 private:
  OSSL_LIB_CTX* previous_;
};

// What leaves the private context: DER only.
struct Pkcs12Der {
  std::string key;  // PKCS#8; cleansed by the caller
  std::string certificate;
  std::vector<std::string> chain;
};

Result<Pkcs12Der> DecodeInPrivateContext(const std::string& data, const std::string& password) {
  const Pkcs12Context& context = Context();
  ScopedDefaultContext scope(context.ctx);
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
                           (context.legacy ? "" : " (the OpenSSL legacy provider is not installed)"));
    }
    return MakeError(ErrorCode::kInvalidArgument, "cannot decrypt the PKCS#12 contents");
  }
  PkeyPtr key_owner(key);
  X509Ptr cert_owner(cert);
  std::vector<X509Ptr> chain;
  for (int i = 0; ca != nullptr && i < sk_X509_num(ca); ++i) chain.emplace_back(sk_X509_value(ca, i));
  sk_X509_free(ca);
  if (!key_owner) return MakeError(ErrorCode::kInvalidArgument, "the PKCS#12 file holds no private key");
  if (!cert_owner) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the PKCS#12 file holds no certificate matching its private key");
  }
  Pkcs12Der out;
  SG_ASSIGN_OR_RETURN(out.key, PrivateKeyToDer(key_owner.get()));
  SG_ASSIGN_OR_RETURN(out.certificate, CertificateToDer(cert_owner.get()));
  for (const auto& c : chain) {
    SG_ASSIGN_OR_RETURN(std::string der, CertificateToDer(c.get()));
    out.chain.push_back(std::move(der));
  }
  return out;
}

// The DER PFX of |data|: as given, or the body of a PEM "PKCS12" block (the
// armoured form GnuTLS's certtool writes and gpgsm reads, e.g. the autocrypt
// protected-headers example keys). Only the armour is undone, by OpenSSL's
// PEM reader; the PFX inside is parsed as any other.
Result<std::string> PfxDer(const std::string& data) {
  const size_t start = data.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || data.compare(start, 11, "-----BEGIN ") != 0) return data;
  BIO* bio = BIO_new_mem_buf(data.data() + start, static_cast<int>(data.size() - start));
  if (bio == nullptr) std::abort();  // out of memory
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  const int ok = PEM_read_bio(bio, &name, &header, &der, &len);
  BIO_free(bio);
  if (ok != 1) {
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a PKCS#12 file (a PEM armour that cannot be read: DER PFX or one "
                     R"x("-----BEGIN PKCS12-----" block expected))x");
  }
  const std::string label = name;
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(der);
  if (label != "PKCS12") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a PKCS#12 file (a PEM \"" + label +
                         R"x(" block; DER PFX or a "-----BEGIN PKCS12-----" block expected))x");
  }
  return out;
}

}  // namespace

bool Pkcs12LegacyAvailable() { return Context().legacy; }

Result<ParsedPkcs12> ParsePkcs12(const std::string& data, const std::string& password) {
  SG_ASSIGN_OR_RETURN(const std::string pfx, PfxDer(data));
  auto der = DecodeInPrivateContext(pfx, password);
  if (!der.ok()) return der.error();
  ParsedPkcs12 out;
  auto key = ParsePrivateKeyDer(der->key);
  OPENSSL_cleanse(der->key.data(), der->key.size());
  if (!key.ok()) return key.error();
  out.key = std::move(*key);
  SG_ASSIGN_OR_RETURN(out.certificate, ParseCertificateDer(der->certificate));
  for (const auto& c : der->chain) {
    SG_ASSIGN_OR_RETURN(X509Ptr x, ParseCertificateDer(c));
    out.chain.push_back(std::move(x));
  }
  return out;
}

}  // namespace sg::keyservice
