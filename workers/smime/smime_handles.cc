#include "workers/smime/smime_handles.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

#include "common/ascii.h"

namespace sg::smime {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

bool LooksPem(std::string_view data) { return data.find("-----BEGIN") != std::string_view::npos; }

// PEM passphrase callback that never echoes or stores the passphrase.
int PassCallback(char* buf, int size, int /*rwflag*/, void* u) {
  auto* pass = static_cast<std::string_view*>(u);
  if (pass == nullptr || pass->empty() || static_cast<int>(pass->size()) > size) return 0;
  std::copy(pass->begin(), pass->end(), buf);
  return static_cast<int>(pass->size());
}

}  // namespace

X509Ptr AdoptX509(X509* cert) { return X509Ptr(cert, X509_free); }
X509Ptr ShareX509(X509* cert) {
  if (cert == nullptr) return nullptr;
  X509_up_ref(cert);
  return AdoptX509(cert);
}
PkeyPtr AdoptPkey(EVP_PKEY* key) { return PkeyPtr(key, EVP_PKEY_free); }
PkeyPtr SharePkey(EVP_PKEY* key) {
  if (key == nullptr) return nullptr;
  EVP_PKEY_up_ref(key);
  return AdoptPkey(key);
}

std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL API
  unsigned long last = code;
  while (code != 0) {
    last = code;
    code = ERR_get_error();
  }
  if (last == 0) return "no OpenSSL error detail";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof(buf));
  return buf;
}

Result<X509Ptr> ParseCertificate(std::string_view data) {
  if (data.empty()) return MakeError(ErrorCode::kInvalidArgument, "certificate: empty input");
  X509* cert = nullptr;
  if (LooksPem(data)) {
    BioPtr bio = MemBio(data);
    cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    cert = d2i_X509(nullptr, &p, static_cast<long>(data.size()));  // NOLINT
  }
  if (cert == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate: cannot parse (" + TakeOpenSslError() + ")");
  }
  return AdoptX509(cert);
}

Result<std::vector<X509Ptr>> ParseCertificateChain(std::string_view pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(AdoptX509(cert));
  }
  ERR_clear_error();  // the loop always ends on a "no start line" error
  if (out.empty())
    return MakeError(ErrorCode::kInvalidArgument, "certificate chain: no PEM certificate found");
  return out;
}

Result<PkeyPtr> ParsePrivateKey(std::string_view pem, std::string_view passphrase) {
  BioPtr bio = MemBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, PassCallback, &passphrase);
  if (key == nullptr) {
    ERR_clear_error();  // may mention the key; keep the message generic
    return MakeError(ErrorCode::kInvalidArgument,
                     "private key: cannot parse PEM (wrong passphrase or not a key)");
  }
  return AdoptPkey(key);
}

std::string CertToPem(const X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, const_cast<X509*>(cert));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int)
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string CertSubjectLine(const X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int)
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::vector<std::string> CertEmailAddresses(const X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      if (gn->type != GEN_EMAIL) continue;
      const ASN1_IA5STRING* s = gn->d.rfc822Name;
      out.push_back(AsciiLower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                           static_cast<size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(names);
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  int idx = -1;
  while ((idx = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, idx)) >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    std::string addr =
        AsciiLower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<size_t>(ASN1_STRING_length(s))));
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  return out;
}

}  // namespace sg::smime
