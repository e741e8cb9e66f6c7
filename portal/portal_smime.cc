#include "portal/portal_smime.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "common/ascii.h"
#include "portal/portal_crypto.h"

namespace sg::portal {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

X509Ptr Parse(const std::string& data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), BIO_free);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    cert = d2i_X509(nullptr, &p, static_cast<long>(data.size()));
  }
  return X509Ptr(cert, X509_free);
}

bool NamesAddress(X509* cert, const std::string& address) {
  bool found = false;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_EMAIL) continue;
    const ASN1_IA5STRING* s = n->d.rfc822Name;
    std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(ASN1_STRING_length(s)));
    if (AsciiLower(v) == address) found = true;
  }
  GENERAL_NAMES_free(names);
  if (found) return true;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;) {
    ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(ASN1_STRING_length(s)));
    if (AsciiLower(v) == address) return true;
  }
  return false;
}

std::string HeaderLines(const std::string& message) {
  // The original's From, To, Cc, Subject and Date (unfolded lines kept as
  // they are), so a mail client lists the download like the original.
  std::string out;
  size_t pos = 0;
  bool keep = false;
  while (pos < message.size()) {
    size_t end = message.find('\n', pos);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      if (keep) out += line + "\r\n";
      continue;
    }
    const std::string name = AsciiLower(line.substr(0, line.find(':')));
    keep = name == "from" || name == "to" || name == "cc" || name == "subject" || name == "date" ||
           name == "message-id";
    if (keep) out += line + "\r\n";
  }
  return out;
}

}  // namespace

Result<CertificateInfo> CheckRecipientCertificate(const std::string& data,
                                                  const std::string& address, int64_t now_unix) {
  auto invalid = [](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "certificate: " + why);
  };
  if (data.empty() || data.size() > 64 * 1024) return invalid("missing or too large");
  X509Ptr cert = Parse(data);
  if (!cert) return invalid("not an X.509 certificate (PEM or DER)");
  time_t now = static_cast<time_t>(now_unix);
  if (X509_cmp_time(X509_get0_notBefore(cert.get()), &now) > 0 ||
      X509_cmp_time(X509_get0_notAfter(cert.get()), &now) < 0) {
    return invalid("not valid now");
  }
  if (!NamesAddress(cert.get(), address)) return invalid("does not name " + address);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr || (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA &&
                         EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)) {
    return invalid("needs an RSA or EC key");
  }
  const uint32_t ku = X509_get_key_usage(cert.get());
  if (ku != UINT32_MAX && (ku & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)) == 0) {
    return invalid("its key usage does not allow encryption");
  }
  CertificateInfo info;
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return invalid("cannot be encoded");
  info.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert.get()), buf, sizeof buf);
  info.subject = buf;
  struct tm tm {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  info.not_after = date;
  info.fingerprint = Hex(Sha256(info.der));
  return info;
}

Result<std::string> EncryptForDownload(const std::string& message,
                                       const std::string& certificate_der) {
  X509Ptr cert = Parse(certificate_der);
  if (!cert) return MakeError(ErrorCode::kInvalidArgument, "stored certificate does not parse");
  STACK_OF(X509)* recipients = sk_X509_new_null();
  sk_X509_push(recipients, cert.get());
  BioPtr in(BIO_new_mem_buf(message.data(), static_cast<int>(message.size())), BIO_free);
  CMS_ContentInfo* cms = CMS_encrypt(recipients, in.get(), EVP_aes_256_cbc(), CMS_BINARY);
  sk_X509_free(recipients);
  if (cms == nullptr) return MakeError(ErrorCode::kInternal, "S/MIME encryption failed");
  BioPtr out(BIO_new(BIO_s_mem()), BIO_free);
  const int ok = SMIME_write_CMS(out.get(), cms, nullptr, CMS_BINARY);
  CMS_ContentInfo_free(cms);
  if (ok != 1) return MakeError(ErrorCode::kInternal, "S/MIME output failed");
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  std::string body(data, static_cast<size_t>(len));
  // SMIME_write_CMS writes "\n"; mail wants CRLF.
  std::string crlf;
  crlf.reserve(body.size() + body.size() / 60);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) crlf += '\r';
    crlf += body[i];
  }
  return HeaderLines(message) + crlf;
}

}  // namespace sg::portal
