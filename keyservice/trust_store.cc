#include "keyservice/trust_store.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

namespace sg::keyservice {
namespace {

std::string DateText(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// A name taken from a certificate, for a reason that is logged and shown:
// the maker of a certificate from the internet chooses its bytes (line
// breaks, terminal escapes), so everything outside printable ASCII is \xNN.
std::string PrintableName(const std::string& name) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IsUnknownIssuer(int err) {
  return err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
         err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
         err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
         err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
         err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

Validation CheckLeafFacts(X509* cert, const std::string& address,
                          std::chrono::system_clock::time_point now) {
  // Computes OpenSSL's extension cache; a malformed extension (which
  // OpenSSL then ignores) must not pass as "no such restriction".
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_INVALID) != 0) {
    return {Verdict::kRejected, "has a malformed extension"};
  }
  int64_t t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (t < NotBefore(cert)) {
    return {Verdict::kRejected, "not valid before " + DateText(NotBefore(cert))};
  }
  if (t > NotAfter(cert)) {
    return {Verdict::kRejected, "expired on " + DateText(NotAfter(cert))};
  }
  if (X509_check_ca(cert) != 0) {
    return {Verdict::kRejected, "is a CA certificate, not a mailbox certificate"};
  }
  if ((flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(cert) & (XKU_SMIME | XKU_ANYEKU)) == 0) {
    return {Verdict::kRejected, "extended key usage does not allow email protection"};
  }
  if ((flags & EXFLAG_KUSAGE) != 0) {
    uint32_t ku = X509_get_key_usage(cert);
    EVP_PKEY* pub = X509_get0_pubkey(cert);
    bool rsa = pub != nullptr && IsRsa(pub);
    uint32_t needed = rsa ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT;
    if ((ku & needed) == 0) {
      return {Verdict::kRejected, rsa ? "key usage does not allow keyEncipherment (signing only)"
                                      : "key usage does not allow keyAgreement (signing only)"};
    }
  }
  if (!address.empty()) {
    auto names = EmailAddresses(cert);
    if (std::find(names.begin(), names.end(), address) == names.end()) {
      std::string have;
      for (const auto& n : names) have += (have.empty() ? "" : ", ") + PrintableName(n);
      return {Verdict::kRejected,
              "does not name " + address + " (names: " + (have.empty() ? "none" : have) + ")"};
    }
  }
  return {Verdict::kOk, ""};
}

}  // namespace

Validation CheckLeaf(X509* cert, const std::string& address,
                     std::chrono::system_clock::time_point now) {
  Validation v = CheckLeafFacts(cert, address, now);
  OpenSslError();  // nothing left on the thread's error queue
  return v;
}

std::vector<TrustAnchor> ReadPemAnchors(const std::string& file, const std::string& origin) {
  std::vector<TrustAnchor> out;
  BIO* bio = BIO_new_file(file.c_str(), "r");
  if (bio == nullptr) {
    OpenSslError();
    spdlog::warn("keyservice: root bundle {} not readable; its roots are not trusted", file);
    return out;
  }
  X509* x = nullptr;
  while ((x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) != nullptr) {
    auto der = CertificateToDer(x);
    if (der.ok()) out.push_back({std::move(*der), origin});
    X509_free(x);
  }
  OpenSslError();  // the end of the file leaves a "no start line" error
  BIO_free(bio);
  return out;
}

TrustStore::TrustStore(StartupAnchors sources) : sources_(std::move(sources)) { Replace({}); }

void TrustStore::Replace(std::vector<TrustAnchor> extra) {
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), StoreFree());
  auto add = [&](const TrustAnchor& a) {
    auto cert = ParseCertificateDer(a.der);
    if (cert.ok()) X509_STORE_add_cert(store.get(), cert->get());  // duplicates are fine
  };
  for (const auto& a : sources_.fixed) add(a);
  for (const auto& a : extra) add(a);
  OpenSslError();
  std::lock_guard<std::mutex> lock(mu_);
  extra_ = std::move(extra);
  store_ = std::move(store);
  ++version_;
}

std::vector<TrustAnchor> TrustStore::Anchors() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TrustAnchor> out = sources_.fixed;
  out.insert(out.end(), extra_.begin(), extra_.end());
  return out;
}

std::vector<std::string> TrustStore::AnchorsDer() const {
  std::vector<std::string> out;
  for (auto& a : Anchors()) out.push_back(std::move(a.der));
  return out;
}

uint64_t TrustStore::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::shared_ptr<X509_STORE> TrustStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_;
}

Validation TrustStore::Validate(X509* cert, const std::vector<X509Ptr>& chain,
                                const ValidationOptions& options,
                                std::chrono::system_clock::time_point now) const {
  Validation leaf = CheckLeaf(cert, options.address, now);
  if (leaf.verdict != Verdict::kOk || !options.check_chain) return leaf;

  std::shared_ptr<X509_STORE> store = Current();
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const auto& c : chain) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  Validation out{Verdict::kOk, ""};
  if (X509_STORE_CTX_init(ctx, store.get(), cert, untrusted) != 1) {
    out = {Verdict::kRejected, "cannot set up chain validation: " + OpenSslError()};
  } else {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(now));
    if (X509_verify_cert(ctx) != 1) {
      int err = X509_STORE_CTX_get_error(ctx);
      std::string text = X509_verify_cert_error_string(err);
      out = IsUnknownIssuer(err) ? Validation{Verdict::kUntrusted, "issuing CA is not trusted (" + text + ")"}
                                 : Validation{Verdict::kRejected, "chain does not verify: " + text};
    }
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);  // the certificates belong to `chain`
  OpenSslError();
  return out;
}

}  // namespace sg::keyservice
