#include "common/dns/tlsa_record.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>

#include "common/ascii.h"

namespace sg::dns {
namespace {

// DER of the part of `cert` the selector names; empty on an unknown selector.
Result<std::string> SelectedDer(uint8_t selector, X509* cert) {
  unsigned char* der = nullptr;
  int len = -1;
  if (selector == static_cast<uint8_t>(TlsaSelector::kFullCertificate)) {
    len = i2d_X509(cert, &der);
  } else if (selector == static_cast<uint8_t>(TlsaSelector::kSubjectPublicKeyInfo)) {
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  } else {
    return std::string();
  }
  if (len <= 0 || der == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "TLSA match: certificate not encodable");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Digest(const EVP_MD* md, const std::string& in) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), reinterpret_cast<unsigned char*>(out.data()), &len, md,
                 nullptr) != 1) {
    return {};
  }
  out.resize(len);
  return out;
}

}  // namespace

Result<TlsaRecord> ParseTlsaRdata(std::string_view rdata) {
  if (rdata.size() < 4) {
    return MakeError(ErrorCode::kCorruption,
                     "TLSA/SMIMEA record: " + std::to_string(rdata.size()) +
                         " octets, needs usage, selector, matching type and data");
  }
  TlsaRecord r;
  r.usage = static_cast<uint8_t>(rdata[0]);
  r.selector = static_cast<uint8_t>(rdata[1]);
  r.matching_type = static_cast<uint8_t>(rdata[2]);
  r.data.assign(rdata.substr(3));
  return r;
}

Result<bool> TlsaMatches(const TlsaRecord& record, X509* cert) {
  SG_ASSIGN_OR_RETURN(std::string selected, SelectedDer(record.selector, cert));
  if (selected.empty()) return false;
  switch (static_cast<TlsaMatching>(record.matching_type)) {
    case TlsaMatching::kExact:
      return selected == record.data;
    case TlsaMatching::kSha256:
      return Digest(EVP_sha256(), selected) == record.data;
    case TlsaMatching::kSha512:
      return Digest(EVP_sha512(), selected) == record.data;
  }
  return false;
}

Result<X509*> TlsaCertificate(const TlsaRecord& record) {
  if (!record.HoldsCertificate()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TLSA/SMIMEA record: selector " + std::to_string(record.selector) +
                         " matching type " + std::to_string(record.matching_type) +
                         " holds no whole certificate (needs 0 0)");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(record.data.data());
  const unsigned char* const end = p + record.data.size();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(record.data.size()));
  if (cert == nullptr || p != end) {
    X509_free(cert);
    return MakeError(ErrorCode::kCorruption, "TLSA/SMIMEA record: data is no DER certificate");
  }
  return cert;
}

std::string SmimeaOwnerName(std::string_view local_part, std::string_view domain) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(local_part.data()), local_part.size(), md.data());
  constexpr size_t kOctets = 28;  // RFC 8162 3: truncated to 28 octets
  std::array<char, 2 * kOctets + 1> hex{};
  size_t len = 0;
  OPENSSL_buf2hexstr_ex(hex.data(), hex.size(), &len, md.data(), kOctets, '\0');
  return AsciiLower(std::string_view(hex.data(), 2 * kOctets)) + "._smimecert." +
         std::string(domain);
}

}  // namespace sg::dns
