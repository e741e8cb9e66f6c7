// SMTP AUTH credentials check.
//
// Authenticator is the pluggable interface (a directory or the keyservice
// can implement it later). Argon2Authenticator checks a configured list of
// users against argon2 hashes in the PHC string format
// ("$argon2id$v=19$m=65536,t=3,p=4$salt$hash", as printed by
// `echo -n pw | argon2 somesalt -id -e`), using libargon2.
//
// Verify is CPU-heavy by design (that is the point of argon2); the server
// calls it on its own small thread pool (ingress_blocking_pool.h), never on
// an event loop. It takes the same time whether or not the user exists: an
// unknown user (or a wrong authorization identity) is checked against a
// dummy hash with the parameters of the most expensive configured hash, so
// the answer time does not tell which user names are real.
//
// Threading: Verify may be called from any thread concurrently.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::ingress {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Returns the identity to record (the user name) on success;
  // kPermissionDenied for wrong credentials (including unknown users),
  // kUnavailable when the backend cannot decide now (SMTP 454).
  virtual Result<std::string> Verify(std::string_view authzid, std::string_view user,
                                     std::string_view password) = 0;
};

class Argon2Authenticator : public Authenticator {
 public:
  // users: name -> encoded argon2 hash (argon2i, argon2d or argon2id).
  // Builds the dummy hash (one argon2 run).
  explicit Argon2Authenticator(std::map<std::string, std::string> users);
  Result<std::string> Verify(std::string_view authzid, std::string_view user,
                             std::string_view password) override;

  // Produces an argon2id hash in PHC format (for tests and tooling); m in
  // KiB, t passes, p lanes.
  static Result<std::string> Hash(std::string_view password, std::string_view salt,
                                  uint32_t m = 1 << 12, uint32_t t = 2, uint32_t p = 1);

  // The PHC parameters (m in KiB, t, p); false when `encoded` has none.
  static bool Parameters(const std::string& encoded, uint32_t* m, uint32_t* t, uint32_t* p);

 private:
  // Spends the time a real check would take, then refuses.
  Error Refuse(std::string_view password, const char* why);

  std::map<std::string, std::string> users_;
  std::string dummy_;  // argon2id hash of a random password
};

// Decodes a SASL PLAIN message (RFC 4616: authzid NUL authcid NUL passwd).
struct PlainCredentials {
  std::string authzid, user, password;
};
Result<PlainCredentials> DecodeSaslPlain(std::string_view decoded);

}  // namespace sg::ingress
