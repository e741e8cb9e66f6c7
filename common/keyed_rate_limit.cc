#include "common/keyed_rate_limit.h"

#include <algorithm>

namespace sg {
namespace {
// Above this many keys, buckets that are full again are dropped (a full
// bucket is the same as none).
constexpr size_t kPruneAbove = 10000;
}  // namespace

int64_t KeyedRateLimiter::Refilled(const Bucket& b, int64_t now_ms) const {
  const int64_t elapsed = std::clamp<int64_t>(now_ms - b.at_ms, 0, limit_.interval.count());
  return std::min(Full(), b.scaled + elapsed * limit_.max);
}

bool KeyedRateLimiter::Allow(const std::string& key, int64_t now_ms) {
  if (limit_.max <= 0 || limit_.interval.count() <= 0) return true;
  auto [it, fresh] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  b.scaled = fresh ? Full() : Refilled(b, now_ms);
  b.at_ms = now_ms;
  const int64_t one = limit_.interval.count();
  if (b.scaled < one) return false;
  b.scaled -= one;
  if (buckets_.size() > kPruneAbove) Prune(now_ms);
  return true;
}

void KeyedRateLimiter::Prune(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (Refilled(it->second, now_ms) >= Full()) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sg
