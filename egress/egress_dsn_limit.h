// A rate limit on the DSNs egress sends to the internet, per recipient
// domain (issue 13 point 4, backscatter).
//
// Mail from the internet carries an unauthenticated sender. Each bounce of
// it goes to whatever address the sender wrote, so a spammer forging
// addresses at victim.example can make a gateway flood victim.example with
// DSNs. Every domain gets at most `max` DSNs per `interval` (a token bucket:
// `max` at once, refilled evenly over `interval`). A DSN over the limit is
// not sent and not lost either: egress keeps it on the dead-letter topic
// with the reason, where `smimegatectl deadletter` lists it and replays it
// if the administrator wants it sent after all; the retention of that topic
// removes it otherwise.
//
// State is in memory, per egress process: a restart forgets it (at worst
// `max` more DSNs per domain), and N egress processes allow N times `max`.
//
// Threading: loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace sg::egress {

struct DsnRateLimit {
  int max = 60;  // DSNs per domain per interval; 0 disables the limit
  std::chrono::milliseconds interval{3'600'000};
};

class DsnRateLimiter {
 public:
  explicit DsnRateLimiter(DsnRateLimit limit) : limit_(limit) {}

  // Takes one DSN to `domain` at `now_ms` if the domain has one left.
  bool Allow(const std::string& domain, int64_t now_ms);

  size_t TrackedDomains() const { return buckets_.size(); }

 private:
  // Tokens are counted in units of 1 / interval_ms, so refilling is exact.
  struct Bucket {
    int64_t scaled = 0;
    int64_t at_ms = 0;
  };
  int64_t Refilled(const Bucket& b, int64_t now_ms) const;
  int64_t Full() const { return int64_t{limit_.max} * limit_.interval.count(); }
  void Prune(int64_t now_ms);

  DsnRateLimit limit_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace sg::egress
