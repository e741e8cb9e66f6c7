#include "ingress/ingress_auth.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace sg::ingress {

namespace {

bool ReadNumber(const std::string& s, const std::string& key, uint32_t* out) {
  size_t at = s.find(key);
  if (at == std::string::npos) return false;
  unsigned long v = std::strtoul(s.c_str() + at + key.size(), nullptr, 10);
  if (v == 0 || v > (1ul << 24)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

bool Argon2Authenticator::Parameters(const std::string& encoded, uint32_t* m, uint32_t* t,
                                     uint32_t* p) {
  // "$argon2id$v=19$m=65536,t=3,p=4$salt$hash": the part that starts "m=".
  size_t start = encoded.find("$m=");
  if (start == std::string::npos) return false;
  size_t end = encoded.find('$', start + 1);
  std::string params = "," + encoded.substr(start + 1, end - start - 1);
  return ReadNumber(params, ",m=", m) && ReadNumber(params, ",t=", t) &&
         ReadNumber(params, ",p=", p);
}

Argon2Authenticator::Argon2Authenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  // The dummy costs what the most expensive configured hash costs.
  uint32_t m = 1 << 12, t = 2, p = 1;
  uint64_t cost = 0;
  for (const auto& [name, encoded] : users_) {
    uint32_t um, ut, up;
    if (Parameters(encoded, &um, &ut, &up) && uint64_t{um} * ut >= cost) {
      cost = uint64_t{um} * ut;
      m = um;
      t = ut;
      p = up;
    }
  }
  unsigned char salt[16], password[16];
  if (RAND_bytes(salt, sizeof salt) != 1 || RAND_bytes(password, sizeof password) != 1) {
    std::abort();  // no randomness: a broken invariant
  }
  size_t len = argon2_encodedlen(t, m, p, sizeof salt, 32, Argon2_id);
  dummy_.assign(len, '\0');
  if (argon2id_hash_encoded(t, m, p, password, sizeof password, salt, sizeof salt, 32,
                            dummy_.data(), dummy_.size()) != ARGON2_OK) {
    // Parameters that libargon2 refuses never verify either: a cheap dummy.
    dummy_.assign(argon2_encodedlen(2, 1 << 12, 1, sizeof salt, 32, Argon2_id), '\0');
    argon2id_hash_encoded(2, 1 << 12, 1, password, sizeof password, salt, sizeof salt, 32,
                          dummy_.data(), dummy_.size());
  }
  dummy_.resize(std::strlen(dummy_.c_str()));
}

Error Argon2Authenticator::Refuse(std::string_view password, const char* why) {
  // Only the time this takes matters (a random password never matches).
  argon2_verify(dummy_.c_str(), password.data(), password.size(), Argon2_id);
  return MakeError(ErrorCode::kPermissionDenied, why);
}

Result<std::string> Argon2Authenticator::Verify(std::string_view authzid, std::string_view user,
                                                std::string_view password) {
  // A different authorization identity would let one user send as another.
  if (!authzid.empty() && authzid != user) {
    return Refuse(password, "authorization identity differs from user");
  }
  auto it = users_.find(std::string(user));
  if (it == users_.end()) {
    return Refuse(password, "unknown user");
  }
  const std::string& encoded = it->second;
  argon2_type type = Argon2_id;
  if (encoded.rfind("$argon2id$", 0) == 0) {
    type = Argon2_id;
  } else if (encoded.rfind("$argon2i$", 0) == 0) {
    type = Argon2_i;
  } else if (encoded.rfind("$argon2d$", 0) == 0) {
    type = Argon2_d;
  } else {
    return Refuse(password, "stored hash is not an argon2 hash");
  }
  int rc = argon2_verify(encoded.c_str(), password.data(), password.size(), type);
  if (rc != ARGON2_OK) {
    return MakeError(ErrorCode::kPermissionDenied, "wrong password");
  }
  return std::string(user);
}

Result<std::string> Argon2Authenticator::Hash(std::string_view password, std::string_view salt,
                                              uint32_t m, uint32_t t, uint32_t p) {
  constexpr uint32_t kLen = 32;
  size_t enc_len = argon2_encodedlen(t, m, p, static_cast<uint32_t>(salt.size()), kLen,
                                     Argon2_id);
  std::string encoded(enc_len, '\0');
  int rc = argon2id_hash_encoded(t, m, p, password.data(), password.size(), salt.data(),
                                 salt.size(), kLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return MakeError(ErrorCode::kInvalidArgument, argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

Result<PlainCredentials> DecodeSaslPlain(std::string_view d) {
  size_t a = d.find('\0');
  if (a == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "PLAIN response lacks NUL separators");
  }
  size_t b = d.find('\0', a + 1);
  if (b == std::string_view::npos || d.find('\0', b + 1) != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "PLAIN response needs exactly two NULs");
  }
  PlainCredentials c;
  c.authzid = std::string(d.substr(0, a));
  c.user = std::string(d.substr(a + 1, b - a - 1));
  c.password = std::string(d.substr(b + 1));
  if (c.user.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty user name");
  return c;
}

}  // namespace sg::ingress
