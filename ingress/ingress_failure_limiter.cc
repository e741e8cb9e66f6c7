#include "ingress/ingress_failure_limiter.h"

namespace sg::ingress {

bool FailureLimiter::Locked(const std::string& key, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.locked_until_ms > now_ms;
}

bool FailureLimiter::Failure(const std::string& key, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    MakeRoom(now_ms);
    it = entries_.emplace(key, Entry{now_ms, 0, 0}).first;
  }
  Entry& e = it->second;
  if (now_ms - e.window_start_ms > limit_.window.count()) {
    e.window_start_ms = now_ms;
    e.failures = 0;
  }
  ++e.failures;
  if (e.failures >= limit_.max_failures && e.locked_until_ms <= now_ms) {
    e.locked_until_ms = now_ms + limit_.lockout.count();
    e.failures = 0;
    e.window_start_ms = now_ms;
    return true;
  }
  return false;
}

void FailureLimiter::Clear(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.failures = 0;
}

void FailureLimiter::MakeRoom(int64_t now_ms) {
  if (entries_.size() < max_keys_) return;
  // A full sweep for expired entries at most once a second (it is O(n)).
  if (now_ms - last_sweep_ms_ >= 1000) {
    last_sweep_ms_ = now_ms;
    for (auto it = entries_.begin(); it != entries_.end();) {
      const Entry& e = it->second;
      bool expired =
          e.locked_until_ms <= now_ms && now_ms - e.window_start_ms > limit_.window.count();
      it = expired ? entries_.erase(it) : std::next(it);
    }
  }
  // Still full (a flood of fresh keys): drop one. Forgetting a key only
  // forgets its failures; the per-client key of a flooding client fills up
  // long before it could push its own entry out.
  while (entries_.size() >= max_keys_) entries_.erase(entries_.begin());
}

}  // namespace sg::ingress
