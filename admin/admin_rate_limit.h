// The admin REST API's request rate limits (docs/admin-api.md "Limits"):
//
// TokenBucket: `burst` requests at once, refilled at `per_second`; a
// request finding the bucket empty is refused and told when one request's
// worth is back (whole seconds, at least 1). Refused requests do not drain
// the bucket further, so a client that honours Retry-After gets in. A clock
// that steps back adds nothing. Shared by the limit per token (below) and
// the limit per client address before authentication (admin_client_limit.h).
//
// TokenRateLimiter: a bucket per token id (keyservice.admin_api.
// rate_limit_per_token / rate_limit_burst). Only authenticated requests
// are limited by it (the id is the token's), so the map holds at most one
// small entry per valid token.
//
// Time comes from the injected Clock (tests use a fake one).
//
// Threading: TokenBucket is a plain value; TokenRateLimiter is thread-safe
// (one mutex; the work under it is a few adds).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"

namespace sg::admin {

struct RateLimit {
  double per_second = 20;  // 0: no limit
  uint32_t burst = 40;     // requests at once; at least 1 when per_second > 0
};

struct TokenBucket {
  double tokens = -1;  // < 0: never used (full)
  int64_t updated_ms = 0;

  // Refills up to `now_ms`, then takes one request: 0 when there was one,
  // else the seconds until there is (nothing taken). `limit.per_second` > 0.
  int64_t Take(const RateLimit& limit, int64_t now_ms);
  // Gives back one request taken by Take (up to the burst).
  void Give(const RateLimit& limit);
  // True when the bucket would be full at `now_ms` (the same as no bucket).
  bool FullAt(const RateLimit& limit, int64_t now_ms) const;
};

class TokenRateLimiter {
 public:
  TokenRateLimiter(RateLimit limit, const Clock& clock) : limit_(limit), clock_(clock) {}

  // 0 when the token may make a request now (and takes it from the
  // bucket); else the seconds to wait before the next one is allowed.
  int64_t Take(const std::string& token_id);

 private:
  RateLimit limit_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, TokenBucket> buckets_;
};

}  // namespace sg::admin
