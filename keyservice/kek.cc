#include "keyservice/kek.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>

#include "common/ascii.h"
#include "common/crypto/aes_gcm.h"
#include "common/mail/base64.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

constexpr size_t kIdLen = 8;
constexpr unsigned char kVersion1 = 0x01;
constexpr unsigned char kVersion2 = 0x02;
constexpr size_t kMinPassphrase = 12;

std::string Trim(const std::string& s) { return std::string(AsciiTrim(s)); }

bool IsHex(const std::string& s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

// AES-256-GCM (common/crypto); `header` (version byte and, in v2, the KEK
// id) is not authenticated separately: the id only selects the key, and a
// wrong id selects a key under which the tag does not verify.
bool GcmOpen(const unsigned char* key, std::string_view sealed, const std::string& aad,
             std::string* out) {
  if (crypto::GcmOpen(key, sealed, aad, *out)) return true;
  OpenSslError();
  return false;
}

Error WrongKek() {
  return MakeError(ErrorCode::kPermissionDenied,
                   "sealed key does not open: wrong key-encryption key or tampered store");
}

}  // namespace

std::string KeyAad(const std::string& owner, const std::string& key_id) {
  std::string aad = "key";
  aad.push_back('\0');
  aad += owner;
  aad.push_back('\0');
  aad += key_id;
  return aad;
}

Kek::~Kek() {
  Cleanse(current_);
  if (previous_) Cleanse(*previous_);
}

void Kek::Cleanse(Key& key) {
  OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
  OPENSSL_cleanse(key.id.data(), key.id.size());
}

Kek Kek::FromBytes(const unsigned char* bytes) {
  Kek kek;
  std::copy(bytes, bytes + 32, kek.current_.bytes.begin());
  static const char kLabel[] = "smimegate kek id v1";
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, bytes, 32,
                reinterpret_cast<const unsigned char*>(kLabel), sizeof(kLabel) - 1, mac,
                sizeof(mac), &mac_len) == nullptr ||
      mac_len < kIdLen) {
    std::abort();  // HMAC-SHA256 from the default provider cannot fail: a broken invariant
  }
  std::copy(mac, mac + kIdLen, kek.current_.id.begin());
  return kek;
}

Result<Kek> Kek::FromMaterial(const std::string& material, const std::string& source) {
  std::string trimmed = Trim(material);
  if (material.size() == 32) {
    return FromBytes(reinterpret_cast<const unsigned char*>(material.data()));
  }
  if (trimmed.size() == 64 && IsHex(trimmed)) {
    unsigned char key[32];
    for (size_t i = 0; i < 32; ++i) {
      key[i] = static_cast<unsigned char>(std::stoi(trimmed.substr(i * 2, 2), nullptr, 16));
    }
    Kek kek = FromBytes(key);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(trimmed.data(), trimmed.size());
    return kek;
  }
  if (trimmed.size() == 44) {
    // 44 characters of strict base64 are 32 bytes with exactly one '='.
    auto decoded = mail::Base64DecodeStrict(trimmed);
    if (decoded.ok() && decoded->size() == 32) {
      Kek kek = FromBytes(reinterpret_cast<const unsigned char*>(decoded->data()));
      OPENSSL_cleanse(decoded->data(), decoded->size());
      OPENSSL_cleanse(trimmed.data(), trimmed.size());
      return kek;
    }
    if (decoded.ok()) OPENSSL_cleanse(decoded->data(), decoded->size());
  }
  OPENSSL_cleanse(trimmed.data(), trimmed.size());
  return MakeError(ErrorCode::kInvalidArgument,
                   source + ": the key-encryption key must be 32 bytes (raw, 64 hex digits or "
                            "44 characters of base64); create one with `openssl rand -base64 32`, "
                            "or set kek_format: passphrase for a passphrase");
}

Result<Kek> Kek::FromPassphrase(const std::string& passphrase, const store::StoredKdf& kdf,
                                const std::string& source) {
  std::string pass = passphrase;
  while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
  if (pass.size() < kMinPassphrase) {
    OPENSSL_cleanse(pass.data(), pass.size());
    return MakeError(ErrorCode::kInvalidArgument,
                     source + ": a KEK passphrase needs at least " + std::to_string(kMinPassphrase) +
                         " characters");
  }
  if (kdf.algorithm() != "argon2id" || kdf.salt().size() < 16 || kdf.time_cost() == 0 ||
      kdf.memory_kib() < 8 || kdf.parallelism() == 0) {
    OPENSSL_cleanse(pass.data(), pass.size());
    return MakeError(ErrorCode::kCorruption,
                     "keyservice store: the KEK passphrase parameters (kek_kdf) are broken");
  }
  unsigned char key[32];
  int rc = argon2id_hash_raw(kdf.time_cost(), kdf.memory_kib(), kdf.parallelism(), pass.data(),
                             pass.size(), kdf.salt().data(), kdf.salt().size(), key, sizeof(key));
  OPENSSL_cleanse(pass.data(), pass.size());
  if (rc != ARGON2_OK) {
    return MakeError(ErrorCode::kResourceExhausted,
                     source + ": Argon2id failed: " + argon2_error_message(rc));
  }
  Kek kek = FromBytes(key);
  OPENSSL_cleanse(key, sizeof(key));
  return kek;
}

void Kek::SetPrevious(const Kek& previous) { previous_ = previous.current_; }

std::string Kek::id() const { return Hex(current_.id.data(), kIdLen); }

std::string Kek::previous_id() const {
  return previous_ ? Hex(previous_->id.data(), kIdLen) : std::string();
}

std::string Kek::Seal(const std::string& plaintext, const std::string& aad) const {
  std::string out;
  out.reserve(1 + kIdLen + crypto::kGcmOverhead + plaintext.size());
  out.push_back(static_cast<char>(kVersion2));
  out.append(reinterpret_cast<const char*>(current_.id.data()), kIdLen);
  crypto::GcmSealAppend(current_.bytes.data(), plaintext, aad, out);
  return out;
}

Result<std::string> Kek::Open(const std::string& sealed, const std::string& aad) const {
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out;
  if (!sealed.empty() && s[0] == kVersion1 && sealed.size() >= 1 + crypto::kGcmOverhead) {
    const std::string_view body = std::string_view(sealed).substr(1);
    // No id in v1: whichever configured KEK verifies.
    if (GcmOpen(current_.bytes.data(), body, aad, &out)) return out;
    if (previous_ && GcmOpen(previous_->bytes.data(), body, aad, &out)) return out;
    return WrongKek();
  }
  if (!sealed.empty() && s[0] == kVersion2 && sealed.size() >= 1 + kIdLen + crypto::kGcmOverhead) {
    const unsigned char* id = s + 1;
    const Key* key = nullptr;
    if (std::equal(id, id + kIdLen, current_.id.begin())) key = &current_;
    if (previous_ && std::equal(id, id + kIdLen, previous_->id.begin())) key = &*previous_;
    if (key == nullptr) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "sealed key does not open: it was sealed under KEK id " + Hex(id, kIdLen) +
                           ", which is not configured (current " + this->id() +
                           (previous_ ? ", previous " + previous_id() : std::string()) + ")");
    }
    if (GcmOpen(key->bytes.data(), std::string_view(sealed).substr(1 + kIdLen), aad, &out)) {
      return out;
    }
    return WrongKek();
  }
  return MakeError(ErrorCode::kCorruption, "sealed key has an unknown format");
}

bool Kek::SealedUnderCurrent(const std::string& sealed) const {
  return sealed.size() > 1 + kIdLen && static_cast<unsigned char>(sealed[0]) == kVersion2 &&
         std::equal(sealed.begin() + 1, sealed.begin() + 1 + kIdLen, current_.id.begin(),
                    [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; });
}

Result<std::string> Kek::Reseal(const std::string& sealed, const std::string& aad) const {
  SG_ASSIGN_OR_RETURN(std::string plain, Open(sealed, aad));
  std::string out = Seal(plain, aad);
  OPENSSL_cleanse(plain.data(), plain.size());
  return out;
}

}  // namespace sg::keyservice
