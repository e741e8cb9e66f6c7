#include "keyservice/keyservice_x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/ascii.h"

namespace sg::keyservice {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

int64_t AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string NameText(X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// An address in the one normalised form (so it compares equal to the keys
// every lookup uses); a value that is not an address, or a DNS name, ASCII
// lower-cased as written.
std::string Canonical(const std::string& value, bool email) {
  if (email) {
    auto address = NormalizeAddress(value);
    if (address.ok()) return std::move(*address);
  }
  return AsciiLower(value);
}

std::vector<std::string> SanValues(X509* cert, int type) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_EMAIL ? gn->d.rfc822Name : gn->d.dNSName;
    out.push_back(Canonical(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<size_t>(ASN1_STRING_length(s))),
                            type == GEN_EMAIL));
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace

std::string OpenSslError() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<X509Ptr> ParseCertificateDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    return MakeError(ErrorCode::kInvalidArgument, "not a DER X.509 certificate (" + OpenSslError() + ")");
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "trailing bytes after the DER certificate");
  }
  // DER is canonical; OpenSSL also accepts some non-canonical encodings
  // (for example set padding bits in the signature's BIT STRING) and
  // re-encodes them differently. What we store, fingerprint and match must
  // be the bytes we were given, so such a certificate is refused.
  auto reencoded = CertificateToDer(cert.get());
  if (!reencoded.ok() || *reencoded != der) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a DER certificate: it does not re-encode to the same bytes "
                     "(a non-canonical encoding)");
  }
  // OpenSSL decodes the key on first use: do it now, so a certificate with
  // a broken key is refused here rather than failing later (and leaving an
  // error on the thread's queue for an unrelated call to report).
  if (X509_get0_pubkey(cert.get()) == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the certificate's public key cannot be decoded (" + OpenSslError() + ")");
  }
  return cert;
}

Result<std::string> CertificateToDer(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  if (len <= 0) return MakeError(ErrorCode::kInternal, "i2d_X509: " + OpenSslError());
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string CertificateToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

Result<PkeyPtr> ParsePrivateKeyDer(const std::string& pkcs8_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(pkcs8_der.data());
  PkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8_der.size())));
  if (!key) {
    OpenSslError();  // never echo anything about key bytes
    return MakeError(ErrorCode::kCorruption, "stored private key does not parse");
  }
  return key;
}

Result<std::string> PrivateKeyToDer(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  int len = 0;
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key);
  if (p8 == nullptr) return MakeError(ErrorCode::kInternal, "EVP_PKEY2PKCS8: " + OpenSslError());
  len = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (len <= 0) return MakeError(ErrorCode::kInternal, "i2d_PKCS8: " + OpenSslError());
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_clear_free(buf, static_cast<size_t>(len));
  return out;
}

std::string PrivateKeyToPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_secmem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

Result<PkeyPtr> GenerateKey(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kRsa2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::kRsa3072:
      key = EVP_RSA_gen(3072);
      break;
    case KeyType::kRsa4096:
      key = EVP_RSA_gen(4096);
      break;
    case KeyType::kEcdsaP256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::kEcdsaP384:
      key = EVP_EC_gen("P-384");
      break;
  }
  if (key == nullptr) {
    return MakeError(ErrorCode::kInternal, "key generation failed: " + OpenSslError());
  }
  return PkeyPtr(key);
}

Result<std::string> PublicKeyDer(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  int len = i2d_PUBKEY(key, &buf);
  if (len <= 0) return MakeError(ErrorCode::kInternal, "i2d_PUBKEY: " + OpenSslError());
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string Fingerprint(const std::string& der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string RandomId(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) std::abort();  // no entropy: fatal
  return Hex(buf.data(), buf.size());
}

int64_t NotBefore(X509* cert) { return AsnTimeToUnix(X509_get0_notBefore(cert)); }
int64_t NotAfter(X509* cert) { return AsnTimeToUnix(X509_get0_notAfter(cert)); }
std::string SubjectText(X509* cert) { return NameText(X509_get_subject_name(cert)); }
std::string IssuerText(X509* cert) { return NameText(X509_get_issuer_name(cert)); }

std::vector<std::string> EmailAddresses(X509* cert) {
  std::vector<std::string> out = SanValues(cert, GEN_EMAIL);
  X509_NAME* subject = X509_get_subject_name(cert);
  int idx = -1;
  while ((idx = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, idx)) >= 0) {
    ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    out.push_back(Canonical(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<size_t>(ASN1_STRING_length(s))),
                            true));
  }
  return out;
}

std::vector<std::string> DnsNames(X509* cert) { return SanValues(cert, GEN_DNS); }

bool CertificateMatchesKey(X509* cert, EVP_PKEY* key) {
  bool ok = X509_check_private_key(cert, key) == 1;
  OpenSslError();
  return ok;
}

bool IsRsa(EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA; }

std::string DomainOwnerOf(const std::string& address) {
  std::string out(1, '@');
  out += DomainOf(address);
  return out;
}

}  // namespace sg::keyservice
