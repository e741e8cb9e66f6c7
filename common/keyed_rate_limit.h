// A rate limit per key (a domain, a sender address): at most `max` events
// per `interval` for each key, as a token bucket (`max` at once, refilled
// evenly over `interval`). Used against backscatter: egress's DSNs per
// recipient domain (egress/egress_dsn_limit.h) and the workers' test-address
// reports per sender (workers/policy/policy_test_address_processor.h).
//
// State is in memory, per process: a restart forgets it (at worst `max` more
// events per key), and N processes allow N times `max`. Memory is bounded:
// above 10,000 keys, keys whose bucket is full again are dropped (a full
// bucket is the same as none).
//
// Threading: not thread-safe; the owner serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace sg {

struct KeyedRateLimit {
  int max = 60;  // events per key per interval; 0 disables the limit
  std::chrono::milliseconds interval{3'600'000};
};

class KeyedRateLimiter {
 public:
  explicit KeyedRateLimiter(KeyedRateLimit limit) : limit_(limit) {}

  // Takes one event for `key` at `now_ms` (unix ms) if the key has one left.
  bool Allow(const std::string& key, int64_t now_ms);

  size_t TrackedKeys() const { return buckets_.size(); }

 private:
  // Tokens are counted in units of 1 / interval_ms, so refilling is exact.
  struct Bucket {
    int64_t scaled = 0;
    int64_t at_ms = 0;
  };
  int64_t Refilled(const Bucket& b, int64_t now_ms) const;
  int64_t Full() const { return int64_t{limit_.max} * limit_.interval.count(); }
  void Prune(int64_t now_ms);

  KeyedRateLimit limit_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace sg
