// Brute-force limits of the portal's login, registration-code, TOTP and
// reset forms, and the reply rate (docs/portal.md "Web security"):
//   - per address: after `max_failures` wrong passwords (or registration
//     codes) the address is locked for `lockout`. Only a whole successful
//     login (password and, when due, TOTP) resets the count, and a password
//     reset by link unlocks it. Unknown addresses are counted exactly like
//     known ones, so a lock says nothing about an account.
//   - per address, for the second factor: wrong TOTP codes have a count of
//     their own that a correct password does not reset (otherwise whoever
//     has the password could guess codes forever, 19 at a time); it locks
//     the address after `max_failures` too, and only a right TOTP code (a
//     whole login, a reset with the code) or the lock running out clears it.
//   - per client IP: at most `max_ip_failures` wrong answers per `ip_window`
//     (IPv6 clients count per /64), whatever addresses they try.
//   - per address: at most one reset mail per `reset_interval`, at most
//     `max_replies` replies per `reply_window` (a token bucket).
// The counters live in memory and per process; docs/portal.md says what
// that means for several replicas. Each table is an LRU bounded by
// `max_entries`: touching an entry and evicting the least recently used one
// are O(1); an address that is locked (or an IP that is limited) is never
// evicted before its lock runs out, so a flood of other addresses cannot
// wipe a victim's lock (memory then grows by the locked entries only,
// which the IP limit bounds).
//
// Threading: thread-safe (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/lru_table.h"

namespace sg::portal {

struct LimiterConfig {
  size_t max_failures = 20;
  std::chrono::milliseconds lockout{std::chrono::hours(1)};
  size_t max_ip_failures = 100;
  std::chrono::milliseconds ip_window{std::chrono::minutes(15)};
  std::chrono::milliseconds reset_interval{std::chrono::minutes(5)};
  size_t max_replies = 20;
  std::chrono::milliseconds reply_window{std::chrono::hours(1)};
  size_t max_entries = 100000;
};

class LoginLimiter {
 public:
  enum class Verdict { kAllowed, kAddressLocked, kIpLimited };

  LoginLimiter(LimiterConfig config, const Clock& clock) : config_(config), clock_(clock) {}

  // Before checking a secret for `address` from `ip`.
  Verdict Check(const std::string& address, const std::string& ip);
  // A wrong password or registration code; true when this failure locked
  // the address.
  bool Failure(const std::string& address, const std::string& ip);
  // A wrong TOTP code: counted apart from passwords (see above); true when
  // this failure locked the address.
  bool TotpFailure(const std::string& address, const std::string& ip);
  // A whole login succeeded (password and, when due, the TOTP code): both
  // counts start again and a lock is lifted.
  void Success(const std::string& address);
  // A password reset by link (after the TOTP code, when the account has one).
  void Unlock(const std::string& address);
  // What the limiter holds for `address` now (admin: `smimegatectl portal
  // account show`); a lock that ran out reads as no lock and no failures.
  // Touches nothing (the entry keeps its place in the LRU).
  struct AddressStatus {
    size_t failures = 0;
    size_t totp_failures = 0;
    int64_t locked_until_ms = 0;  // 0: not locked
  };
  AddressStatus Peek(const std::string& address);
  // True (and remembered) when a reset mail for `address` may go out now.
  bool AllowResetMail(const std::string& address);
  // True (and counted) when `address` may send one more reply now.
  bool AllowReply(const std::string& address);

  // The IP key: the address for IPv4 (also when written IPv4-mapped,
  // "::ffff:192.0.2.7"), its /64 for IPv6 (sg::ClientKey). The portal's
  // per-IP connection limit counts under the same key.
  static std::string ClientKey(const std::string& ip);

  // Entries held (tests: the bound).
  size_t AddressEntries();

 private:
  struct AddressState {
    size_t failures = 0;
    size_t totp_failures = 0;
    int64_t locked_until_ms = 0;
    int64_t last_reset_mail_ms = -1;
    double reply_tokens = -1;  // < 0: a full bucket
    int64_t reply_refill_ms = 0;
  };
  struct IpState {
    size_t failures = 0;
    int64_t window_start_ms = 0;
  };
  AddressState& TouchAddress(const std::string& address, int64_t now);
  void CountIp(const std::string& ip, int64_t now);
  bool Lock(AddressState& a, size_t count, int64_t now);

  LimiterConfig config_;
  const Clock& clock_;
  std::mutex mu_;
  LruTable<AddressState> addresses_;
  LruTable<IpState> ips_;
};

}  // namespace sg::portal
