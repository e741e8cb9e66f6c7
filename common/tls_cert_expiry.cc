#include "common/tls_cert_expiry.h"

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace sg::tls {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

Result<int64_t> NotAfter(const X509* cert, const std::string& what) {
  const ASN1_TIME* t = X509_get0_notAfter(cert);
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": unreadable notAfter");
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Result<int64_t> PemFileNotAfter(const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
  if (!bio) return MakeError(ErrorCode::kNotFound, path + ": cannot be read");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) return MakeError(ErrorCode::kInvalidArgument, path + ": no PEM certificate");
  return NotAfter(cert.get(), path);
}

Result<int64_t> DerNotAfter(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  if (!cert) return MakeError(ErrorCode::kInvalidArgument, "certificate: DER does not parse");
  return NotAfter(cert.get(), "certificate");
}

}  // namespace sg::tls
