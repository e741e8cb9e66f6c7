// Counting failures per key within a window and locking a key out for a
// while once it has too many: the AUTH lockout (per user name and per
// client) and the RCPT-failure limit (per client) of issue 13.
//
// A key is a user name (lower-cased by the caller) or a client key
// (ClientKey: an IPv4 address or an IPv6 /64). Keys are tracked whether or
// not they exist anywhere, so a lockout says nothing about whether a user
// name is real. Memory is bounded: at most `max_keys` keys are tracked; when
// full, expired entries go first, then the oldest.
//
// Time comes from the caller (unix milliseconds, the session host's clock),
// so tests drive it without sleeping.
//
// Threading: thread-safe (one mutex; every call is O(log n)).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace sg::ingress {

struct FailureLimit {
  size_t max_failures = 5;  // this many failures within `window` lock the key
  std::chrono::milliseconds window{std::chrono::minutes(15)};
  std::chrono::milliseconds lockout{std::chrono::minutes(15)};
};

class FailureLimiter {
 public:
  explicit FailureLimiter(FailureLimit limit, size_t max_keys = 100000)
      : limit_(limit), max_keys_(max_keys) {}

  // Whether `key` is locked out at `now_ms`.
  bool Locked(const std::string& key, int64_t now_ms);
  // Counts a failure; true when this one locked the key.
  bool Failure(const std::string& key, int64_t now_ms);
  // Forgets the key's failures (a successful login of that user).
  void Clear(const std::string& key);

 private:
  struct Entry {
    int64_t window_start_ms = 0;
    size_t failures = 0;
    int64_t locked_until_ms = 0;
  };
  void MakeRoom(int64_t now_ms);

  const FailureLimit limit_;
  const size_t max_keys_;
  std::mutex mu_;
  int64_t last_sweep_ms_ = 0;
  std::map<std::string, Entry> entries_;
};

}  // namespace sg::ingress
