// AdminTokens: the admin REST API's bearer tokens (docs/admin-api.md
// "Tokens and scopes", docs/security.md "Admin REST API").
//
// A token is "sgt_<id>_<secret>": a 64-bit id in hex (16 digits, the public
// handle shown by `token list` and written into audit records) and 256 bits
// from the CSPRNG in hex (64 digits). It is shown once, at creation; the
// store keeps only SHA-256 of the whole token. A fast hash is enough: the
// secret is random with 256 bits of entropy, not a password a person chose,
// so there is nothing to guess from a leaked hash and no dictionary to slow
// down (a key-stretching function would only cost every request CPU).
// Check() compares hashes in constant time (CRYPTO_memcmp).
//
// Records live in the keyservice store's meta column family
// ("admintoken/<id>", JSON). Revoked tokens stay listed with revoked_at so
// audit records keep naming something.
//
// Threading: thread-safe (the store is; writes are serialised by a mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_scope.h"
#include "common/clock.h"
#include "common/result.h"
#include "keyservice/key_store.h"
#include "keyservice/tenant_admin.h"

namespace sg::admin {

struct TokenInfo {
  std::string id;
  Scope scope;
  std::string name;
  int64_t created_at = 0;  // unix seconds
  int64_t revoked_at = 0;  // 0: valid
  int64_t expires_at = 0;  // unix seconds; 0: never. From then on the token is refused.
};

struct NewToken {
  std::string token;  // the secret: shown once, never stored
  TokenInfo info;
};

// `token add --expires`: "" (never: 0), a duration from `now` ("90d",
// "12h", as config durations are written) or a UTC date ("2027-03-01":
// expires at its start, or "2027-03-01T12:00:00Z"). Unix seconds;
// kInvalidArgument naming the accepted forms otherwise.
Result<int64_t> ParseTokenExpiry(const std::string& text, int64_t now);

// What the REST API needs of the tokens: checking one (admin_api.h). An
// interface so a test can count the checks (a refused client must cause
// none).
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // The token's record when `token` is a valid, unrevoked, unexpired token;
  // nullopt otherwise (malformed, unknown, revoked, expired or a wrong
  // secret: the caller cannot tell which); an error when the store fails.
  virtual Result<std::optional<TokenInfo>> Check(const std::string& token) = 0;
};

class AdminTokens : public TokenVerifier {
 public:
  // `tenants` checks that a scope's reseller or tenant exists. Both borrowed.
  AdminTokens(keyservice::KeyStore& store, keyservice::TenantAdmin& tenants, const Clock& clock)
      : store_(store), tenants_(tenants), clock_(clock) {}

  // kInvalidArgument for a bad scope or name (<= 200 bytes, no control
  // characters) or an expiry (unix seconds, 0: never) not in the future;
  // kNotFound when the scope's reseller or tenant does not exist.
  Result<NewToken> Add(const std::string& scope, const std::string& name, int64_t expires_at = 0);
  Result<std::vector<TokenInfo>> List();  // by id, revoked ones too
  // kNotFound for an unknown id; revoking twice is fine.
  Status Revoke(const std::string& id);
  Result<std::optional<TokenInfo>> Check(const std::string& token) override;

 private:
  struct Stored {
    TokenInfo info;
    std::string sha256_hex;
  };
  Result<std::optional<Stored>> Load(const std::string& id);
  Status Save(const Stored& stored);

  keyservice::KeyStore& store_;
  keyservice::TenantAdmin& tenants_;
  const Clock& clock_;
  std::mutex write_mu_;
};

}  // namespace sg::admin
