#include "portal/portal_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "common/crypto/aes_gcm.h"
#include "common/mail/base64.h"

namespace sg::portal {
namespace {

constexpr unsigned char kVersion = 0x01;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<SecretKey> SecretKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return MakeError(ErrorCode::kInvalidArgument, "a key must be 32 bytes");
  }
  SecretKey k;
  std::copy(bytes.begin(), bytes.end(), k.bytes_.begin());
  return k;
}

SecretKey SecretKey::Random() {
  SecretKey k;
  if (RAND_bytes(k.bytes_.data(), static_cast<int>(kSize)) != 1) std::abort();
  return k;
}

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string SecretKey::Bytes() const {
  return std::string(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
}

std::string Seal(const SecretKey& key, std::string_view plaintext, std::string_view aad) {
  std::string out(1, static_cast<char>(kVersion));
  out.reserve(1 + crypto::kGcmOverhead + plaintext.size());
  crypto::GcmSealAppend(key.data(), plaintext, aad, out);
  return out;
}

Result<std::string> Open(const SecretKey& key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < 1 + crypto::kGcmOverhead ||
      static_cast<unsigned char>(sealed[0]) != kVersion) {
    return MakeError(ErrorCode::kCorruption, "sealed value has an unknown format");
  }
  std::string out;
  if (!crypto::GcmOpen(key.data(), sealed.substr(1), aad, out)) {
    return MakeError(ErrorCode::kPermissionDenied, "sealed value does not open");
  }
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(U(data), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string Hmac(std::string_view digest, std::string_view key, std::string_view data) {
  const EVP_MD* md = digest == "SHA1"     ? EVP_sha1()
                     : digest == "SHA256" ? EVP_sha256()
                     : digest == "SHA512" ? EVP_sha512()
                                          : nullptr;
  if (md == nullptr) return {};
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()), U(data), data.size(), out, &len) ==
      nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string UrlSafeText(std::string_view bytes) {
  std::string out = mail::Base64EncodeOneLine(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> FromUrlSafeText(std::string_view text) {
  if (text.find_first_of("+/=") != std::string_view::npos || text.size() % 4 == 1) {
    return MakeError(ErrorCode::kInvalidArgument, "not unpadded base64url");
  }
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  standard.append((4 - standard.size() % 4) % 4, '=');
  return mail::Base64DecodeStrict(standard);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace sg::portal
