#include "ingress/ingress_auth.h"

#include <argon2.h>

#include <cstring>

namespace sg::ingress {

Argon2Authenticator::Argon2Authenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

Result<std::string> Argon2Authenticator::Verify(std::string_view authzid, std::string_view user,
                                                std::string_view password) {
  // A different authorization identity would let one user send as another.
  if (!authzid.empty() && authzid != user) {
    return MakeError(ErrorCode::kPermissionDenied, "authorization identity differs from user");
  }
  auto it = users_.find(std::string(user));
  if (it == users_.end()) {
    return MakeError(ErrorCode::kPermissionDenied, "unknown user");
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
    return MakeError(ErrorCode::kPermissionDenied, "stored hash is not an argon2 hash");
  }
  int rc = argon2_verify(encoded.c_str(), password.data(), password.size(), type);
  if (rc != ARGON2_OK) {
    return MakeError(ErrorCode::kPermissionDenied, "wrong password");
  }
  return std::string(user);
}

Result<std::string> Argon2Authenticator::Hash(std::string_view password, std::string_view salt) {
  constexpr uint32_t kT = 2, kM = 1 << 12, kP = 1, kLen = 32;
  size_t enc_len = argon2_encodedlen(kT, kM, kP, static_cast<uint32_t>(salt.size()), kLen,
                                     Argon2_id);
  std::string encoded(enc_len, '\0');
  int rc = argon2id_hash_encoded(kT, kM, kP, password.data(), password.size(), salt.data(),
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
