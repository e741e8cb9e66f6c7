#include "portal/portal_limiter.h"

#include <algorithm>

#include "common/cidr.h"

namespace sg::portal {

std::string LoginLimiter::ClientKey(const std::string& ip) { return sg::ClientKey(ip, 64); }

LoginLimiter::AddressState& LoginLimiter::TouchAddress(const std::string& address, int64_t now) {
  AddressState& a = addresses_.Touch(address);
  if (a.locked_until_ms != 0 && a.locked_until_ms <= now) {
    a.locked_until_ms = 0;  // a lock that ran out starts a new count
    a.failures = 0;
    a.totp_failures = 0;
  }
  addresses_.EvictOver(config_.max_entries,
                       [now](const AddressState& s) { return s.locked_until_ms > now; });
  return a;
}

void LoginLimiter::CountIp(const std::string& ip, int64_t now) {
  IpState& s = ips_.Touch(ClientKey(ip));
  if (now - s.window_start_ms >= config_.ip_window.count()) s = IpState{0, now};
  ++s.failures;
  ips_.EvictOver(config_.max_entries, [&](const IpState& e) {
    return e.failures >= config_.max_ip_failures &&
           now - e.window_start_ms < config_.ip_window.count();
  });
}

bool LoginLimiter::Lock(AddressState& a, size_t count, int64_t now) {
  if (count >= config_.max_failures && a.locked_until_ms == 0) {
    a.locked_until_ms = now + config_.lockout.count();
    return true;
  }
  return false;
}

LoginLimiter::Verdict LoginLimiter::Check(const std::string& address, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  if (const IpState* s = ips_.Find(ClientKey(ip))) {
    if (now - s->window_start_ms < config_.ip_window.count() &&
        s->failures >= config_.max_ip_failures) {
      return Verdict::kIpLimited;
    }
  }
  if (const AddressState* a = addresses_.Find(address)) {
    if (a->locked_until_ms > now) return Verdict::kAddressLocked;
  }
  return Verdict::kAllowed;
}

bool LoginLimiter::Failure(const std::string& address, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  CountIp(ip, now);
  AddressState& a = TouchAddress(address, now);
  return Lock(a, ++a.failures, now);
}

bool LoginLimiter::TotpFailure(const std::string& address, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  CountIp(ip, now);
  AddressState& a = TouchAddress(address, now);
  return Lock(a, ++a.totp_failures, now);
}

void LoginLimiter::Success(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (AddressState* a = addresses_.Find(address)) {
    a->failures = 0;
    a->totp_failures = 0;
    a->locked_until_ms = 0;
  }
}

void LoginLimiter::Unlock(const std::string& address) { Success(address); }

LoginLimiter::AddressStatus LoginLimiter::Peek(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  const AddressState* a = addresses_.Find(address);
  if (a == nullptr || (a->locked_until_ms != 0 && a->locked_until_ms <= clock_.NowMs())) return {};
  return {a->failures, a->totp_failures, a->locked_until_ms};
}

bool LoginLimiter::AllowResetMail(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  AddressState& a = TouchAddress(address, now);
  if (a.last_reset_mail_ms >= 0 && now - a.last_reset_mail_ms < config_.reset_interval.count()) {
    return false;
  }
  a.last_reset_mail_ms = now;
  return true;
}

bool LoginLimiter::AllowReply(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  AddressState& a = TouchAddress(address, now);
  const double capacity = static_cast<double>(config_.max_replies);
  if (a.reply_tokens < 0) {
    a.reply_tokens = capacity;
  } else if (config_.reply_window.count() > 0) {
    // Refill continuously: `max_replies` tokens per `reply_window`.
    const double refill = static_cast<double>(now - a.reply_refill_ms) * capacity /
                          static_cast<double>(config_.reply_window.count());
    a.reply_tokens = std::min(capacity, a.reply_tokens + std::max(0.0, refill));
  }
  a.reply_refill_ms = now;
  if (a.reply_tokens < 1) return false;
  a.reply_tokens -= 1;
  return true;
}

size_t LoginLimiter::AddressEntries() {
  std::lock_guard<std::mutex> lock(mu_);
  return addresses_.size();
}

}  // namespace sg::portal
