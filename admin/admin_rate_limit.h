// TokenRateLimiter: the admin REST API's per-token request rate limit
// (keyservice.admin_api.rate_limit_per_token / rate_limit_burst,
// docs/admin-api.md "Limits"). A token bucket per token id: `burst`
// requests at once, refilled at `per_second`; a request finding the bucket
// empty is refused (429 rate_limited) and told when one request's worth is
// back (Retry-After, whole seconds, at least 1). Refused requests do not
// drain the bucket further, so a client that honours Retry-After gets in.
//
// Only authenticated requests are limited (the id is the token's), so the
// map holds at most one small entry per valid token.
//
// Time comes from the injected Clock (tests use a fake one); a clock that
// steps back adds nothing.
//
// Threading: thread-safe (one mutex; the work under it is a few adds).
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

class TokenRateLimiter {
 public:
  TokenRateLimiter(RateLimit limit, const Clock& clock) : limit_(limit), clock_(clock) {}

  // 0 when the token may make a request now (and takes it from the
  // bucket); else the seconds to wait before the next one is allowed.
  int64_t Take(const std::string& token_id);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };

  RateLimit limit_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace sg::admin
