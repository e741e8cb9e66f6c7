#include "keyservice/kek.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/mail/base64.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
constexpr unsigned char kVersion = 0x01;

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool IsHex(const std::string& s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
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

Kek::~Kek() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<Kek> Kek::FromMaterial(const std::string& material, const std::string& source) {
  Kek kek;
  std::string trimmed = Trim(material);
  if (material.size() == 32) {
    std::copy(material.begin(), material.end(), kek.key_.begin());
    return kek;
  }
  if (trimmed.size() == 64 && IsHex(trimmed)) {
    for (size_t i = 0; i < 32; ++i) {
      kek.key_[i] = static_cast<unsigned char>(std::stoi(trimmed.substr(i * 2, 2), nullptr, 16));
    }
    return kek;
  }
  if (trimmed.size() == 44) {
    auto decoded = mail::Base64DecodeStrict(trimmed);
    if (decoded.ok()) {
      const bool fits = decoded->size() == 32;
      if (fits) std::copy(decoded->begin(), decoded->end(), kek.key_.begin());
      OPENSSL_cleanse(decoded->data(), decoded->size());
      if (fits) return kek;
    }
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   source + ": the key-encryption key must be 32 bytes (raw, 64 hex digits or "
                            "44 characters of base64); create one with `openssl rand -base64 32`");
}

Status Kek::CreateFile(const std::string& path) {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof(key)) != 1) return MakeError(ErrorCode::kInternal, "RAND_bytes failed");
  std::string text =
      mail::Base64EncodeOneLine(std::string_view(reinterpret_cast<char*>(key), sizeof(key)));
  OPENSSL_cleanse(key, sizeof(key));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kIoError, "keyservice.kek_file: cannot create " + path);
  }
  text += "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) return MakeError(ErrorCode::kIoError, "keyservice.kek_file: cannot write " + path);
  return OkStatus();
}

Result<Kek> Kek::Load(const KeyServiceConfig& config) {
  if (!config.kek_file.empty()) {
    struct stat st {};
    if (::stat(config.kek_file.c_str(), &st) != 0) {
      if (!config.kek_create) {
        return MakeError(ErrorCode::kNotFound,
                         "keyservice.kek_file: " + config.kek_file +
                             " not found; the keyservice cannot start without its key-encryption "
                             "key (set kek_create: true to create one on a new installation)");
      }
      SG_RETURN_IF_ERROR(CreateFile(config.kek_file));
    }
    std::ifstream in(config.kek_file, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kIoError, "keyservice.kek_file: cannot read " + config.kek_file);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string material = ss.str();
    auto kek = FromMaterial(material, "keyservice.kek_file " + config.kek_file);
    OPENSSL_cleanse(material.data(), material.size());
    return kek;
  }
  const char* value = std::getenv(config.kek_env.c_str());
  if (value == nullptr || *value == '\0') {
    return MakeError(ErrorCode::kNotFound,
                     "keyservice: no key-encryption key: set keyservice.kek_file or the "
                     "environment variable " + config.kek_env);
  }
  return FromMaterial(value, "environment variable " + config.kek_env);
}

std::string Kek::Seal(const std::string& plaintext, const std::string& aad) const {
  std::string out(1 + kNonce + plaintext.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kVersion;
  if (RAND_bytes(o + 1, kNonce) != 1) std::abort();  // no randomness: cannot continue safely
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), o + 1) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx, o + 1 + kNonce, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, o + 1 + kNonce + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag,
                                o + 1 + kNonce + plaintext.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) std::abort();  // AES-GCM with valid parameters cannot fail: a broken invariant
  return out;
}

Result<std::string> Kek::Open(const std::string& sealed, const std::string& aad) const {
  if (sealed.size() < 1 + kNonce + kTag || static_cast<unsigned char>(sealed[0]) != kVersion) {
    return MakeError(ErrorCode::kCorruption, "sealed key has an unknown format");
  }
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t n = sealed.size() - 1 - kNonce - kTag;
  std::string out(n, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), s + 1) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, s + 1 + kNonce,
                              static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag,
                                const_cast<unsigned char*>(s + 1 + kNonce + n)) == 1 &&
            EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    OpenSslError();
    return MakeError(ErrorCode::kPermissionDenied,
                     "sealed key does not open: wrong key-encryption key or tampered store");
  }
  return out;
}

}  // namespace sg::keyservice
