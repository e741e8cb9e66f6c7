// Recipients' passwords: Argon2id (libargon2) hashes in the PHC string
// format, and the strength check at registration and reset (libpwquality
// with the cracklib dictionary: length, character classes, dictionary words,
// the address itself, repeats and sequences).
//
// Unknown addresses cost the same as known ones: VerifyDummy runs one
// Argon2id verification with the same parameters, so the time of a login
// does not say whether the address has an account.
//
// Threading: thread-safe (libpwquality's cracklib access is serialised).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sg::portal {

struct Argon2Params {
  uint32_t time_cost = 3;
  uint32_t memory_kib = 64 * 1024;
  uint32_t parallelism = 1;
};

class PasswordHasher {
 public:
  explicit PasswordHasher(Argon2Params params = {});
  // "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>"; aborts only when
  // libargon2 refuses its own parameters (a bug).
  std::string Hash(const std::string& password) const;
  // False for a wrong password or a malformed hash.
  bool Verify(const std::string& encoded, const std::string& password) const;
  void VerifyDummy(const std::string& password) const;

 private:
  Argon2Params params_;
  std::string dummy_;
};

// Why a password is refused, as a message key the pages translate
// ("password_too_short", "password_dictionary", "password_simple",
// "password_contains_address"); nullopt when it is strong enough.
std::optional<std::string> CheckPasswordStrength(const std::string& password,
                                                 const std::string& address, size_t min_length);

}  // namespace sg::portal
