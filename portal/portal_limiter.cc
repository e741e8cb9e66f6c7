#include "portal/portal_limiter.h"

#include <arpa/inet.h>

#include <vector>

namespace sg::portal {

std::string LoginLimiter::ClientKey(const std::string& ip) {
  in6_addr a6{};
  if (ip.find(':') != std::string::npos && inet_pton(AF_INET6, ip.c_str(), &a6) == 1) {
    std::fill(a6.s6_addr + 8, a6.s6_addr + 16, 0);
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    return std::string(buf) + "/64";
  }
  return ip;
}

void LoginLimiter::Trim(int64_t now) {
  if (addresses_.size() > config_.max_entries) {
    std::erase_if(addresses_, [&](const auto& kv) {
      return kv.second.locked_until_ms <= now &&
             now - kv.second.touched_ms > config_.lockout.count();
    });
    // Still too many (an attack on many addresses): forget unlocked ones.
    if (addresses_.size() > config_.max_entries) {
      std::erase_if(addresses_, [&](const auto& kv) { return kv.second.locked_until_ms <= now; });
    }
  }
  if (ips_.size() > config_.max_entries) {
    std::erase_if(ips_, [&](const auto& kv) {
      return now - kv.second.window_start_ms >= config_.ip_window.count();
    });
  }
}

LoginLimiter::Verdict LoginLimiter::Check(const std::string& address, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  if (auto it = ips_.find(ClientKey(ip)); it != ips_.end()) {
    if (now - it->second.window_start_ms < config_.ip_window.count() &&
        it->second.failures >= config_.max_ip_failures) {
      return Verdict::kIpLimited;
    }
  }
  if (auto it = addresses_.find(address); it != addresses_.end()) {
    if (it->second.locked_until_ms > now) return Verdict::kAddressLocked;
  }
  return Verdict::kAllowed;
}

bool LoginLimiter::Failure(const std::string& address, const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  Trim(now);
  IpState& s = ips_[ClientKey(ip)];
  if (now - s.window_start_ms >= config_.ip_window.count()) s = IpState{0, now};
  ++s.failures;
  AddressState& a = addresses_[address];
  a.touched_ms = now;
  if (a.locked_until_ms != 0 && a.locked_until_ms <= now) {
    a.locked_until_ms = 0;  // a lock that ran out starts a new count
    a.failures = 0;
  }
  if (++a.failures >= config_.max_failures && a.locked_until_ms == 0) {
    a.locked_until_ms = now + config_.lockout.count();
    return true;
  }
  return false;
}

void LoginLimiter::Success(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = addresses_.find(address);
  if (it != addresses_.end()) {
    it->second.failures = 0;
    it->second.locked_until_ms = 0;
  }
}

void LoginLimiter::Unlock(const std::string& address) { Success(address); }

bool LoginLimiter::AllowResetMail(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  Trim(now);
  AddressState& a = addresses_[address];
  a.touched_ms = now;
  if (a.last_reset_mail_ms >= 0 && now - a.last_reset_mail_ms < config_.reset_interval.count()) {
    return false;
  }
  a.last_reset_mail_ms = now;
  return true;
}

}  // namespace sg::portal
