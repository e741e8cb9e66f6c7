// Brute-force limits of the portal's login, registration-code, TOTP and
// reset forms (docs/portal.md "Web security"):
//   - per address: after `max_failures` wrong answers in a row the address
//     is locked for `lockout`; a correct answer resets the count, a
//     password reset by link unlocks it. Unknown addresses are counted
//     exactly like known ones, so a lock says nothing about an account.
//   - per client IP: at most `max_ip_failures` wrong answers per `ip_window`
//     (IPv6 clients count per /64), whatever addresses they try.
//   - per address: at most one reset mail per `reset_interval`.
// The counters live in memory (bounded: the oldest entries go first) and
// per process; docs/portal.md says what that means for several replicas.
//
// Threading: thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace sg::portal {

struct LimiterConfig {
  size_t max_failures = 20;
  std::chrono::milliseconds lockout{std::chrono::hours(1)};
  size_t max_ip_failures = 100;
  std::chrono::milliseconds ip_window{std::chrono::minutes(15)};
  std::chrono::milliseconds reset_interval{std::chrono::minutes(5)};
  size_t max_entries = 100000;
};

class LoginLimiter {
 public:
  enum class Verdict { kAllowed, kAddressLocked, kIpLimited };

  LoginLimiter(LimiterConfig config, const Clock& clock) : config_(config), clock_(clock) {}

  // Before checking a secret for `address` from `ip`.
  Verdict Check(const std::string& address, const std::string& ip);
  // A wrong secret; true when this failure locked the address.
  bool Failure(const std::string& address, const std::string& ip);
  void Success(const std::string& address);
  void Unlock(const std::string& address);
  // True (and remembered) when a reset mail for `address` may go out now.
  bool AllowResetMail(const std::string& address);

  // The IP key: the address for IPv4, its /64 for IPv6.
  static std::string ClientKey(const std::string& ip);

 private:
  struct AddressState {
    size_t failures = 0;
    int64_t locked_until_ms = 0;
    int64_t last_reset_mail_ms = -1;
    int64_t touched_ms = 0;
  };
  struct IpState {
    size_t failures = 0;
    int64_t window_start_ms = 0;
  };
  void Trim(int64_t now);

  LimiterConfig config_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, AddressState> addresses_;
  std::unordered_map<std::string, IpState> ips_;
};

}  // namespace sg::portal
