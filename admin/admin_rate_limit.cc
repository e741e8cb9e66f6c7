#include "admin/admin_rate_limit.h"

#include <algorithm>
#include <cmath>

namespace sg::admin {
namespace {

double Burst(const RateLimit& limit) {
  return static_cast<double>(std::max<uint32_t>(limit.burst, 1));
}

// The bucket's content at `now_ms` (a clock that steps back adds nothing).
double Refilled(const TokenBucket& b, const RateLimit& limit, int64_t now_ms) {
  if (b.tokens < 0) return Burst(limit);
  if (now_ms <= b.updated_ms) return b.tokens;
  const double refill = static_cast<double>(now_ms - b.updated_ms) / 1000.0 * limit.per_second;
  return std::min(Burst(limit), b.tokens + refill);
}

}  // namespace

int64_t TokenBucket::Take(const RateLimit& limit, int64_t now_ms) {
  tokens = Refilled(*this, limit, now_ms);
  updated_ms = std::max(updated_ms, now_ms);
  if (tokens >= 1) {
    tokens -= 1;
    return 0;
  }
  const double wait = (1 - tokens) / limit.per_second;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
}

void TokenBucket::Give(const RateLimit& limit) {
  if (tokens >= 0) tokens = std::min(Burst(limit), tokens + 1);
}

bool TokenBucket::FullAt(const RateLimit& limit, int64_t now_ms) const {
  return Refilled(*this, limit, now_ms) >= Burst(limit);
}

int64_t TokenRateLimiter::Take(const std::string& token_id) {
  if (limit_.per_second <= 0) return 0;
  const int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_[token_id].Take(limit_, now);
}

}  // namespace sg::admin
