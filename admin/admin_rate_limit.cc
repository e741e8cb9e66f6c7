#include "admin/admin_rate_limit.h"

#include <algorithm>
#include <cmath>

namespace sg::admin {

int64_t TokenRateLimiter::Take(const std::string& token_id) {
  if (limit_.per_second <= 0) return 0;
  const auto burst = static_cast<double>(std::max<uint32_t>(limit_.burst, 1));
  const int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, added] = buckets_.try_emplace(token_id, Bucket{burst, now});
  Bucket& b = it->second;
  if (!added && now > b.updated_ms) {
    const double refill = static_cast<double>(now - b.updated_ms) / 1000.0 * limit_.per_second;
    b.tokens = std::min(burst, b.tokens + refill);
  }
  b.updated_ms = std::max(b.updated_ms, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  const double wait = (1 - b.tokens) / limit_.per_second;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
}

}  // namespace sg::admin
