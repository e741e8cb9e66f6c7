#include "ingress/ingress_recipient_verifier.h"

#include <spdlog/spdlog.h>

#include "common/ascii.h"
#include "common/mail/address.h"
#include "ingress/ingress_metrics.h"
#include "ingress/ingress_steps.h"

namespace sg::ingress {
namespace {}  // namespace

const char* RecipientStatusName(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::kKnown:
      return "known";
    case RecipientStatus::kUnknown:
      return "unknown";
    case RecipientStatus::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

RecipientVerifier::RecipientVerifier(RecipientCacheConfig cache, IngressMetrics* metrics)
    : cache_config_(cache), metrics_(metrics) {}

void RecipientVerifier::SetSources(const std::string& domain,
                                   std::vector<std::shared_ptr<RecipientSource>> s) {
  domains_[AsciiLower(domain)] = std::move(s);
}

const std::vector<std::shared_ptr<RecipientSource>>* RecipientVerifier::SourcesFor(
    const std::string& domain) const {
  auto it = domains_.find(domain);
  if (it == domains_.end()) it = domains_.find("*");
  if (it == domains_.end() || it->second.empty()) return nullptr;
  return &it->second;
}

bool RecipientVerifier::Verifies(const std::string& domain) const {
  return SourcesFor(AsciiLower(domain)) != nullptr;
}

std::optional<RecipientStatus> RecipientVerifier::Cached(const std::string& address,
                                                         int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(AsciiLower(address));
  if (it == cache_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.status;
}

void RecipientVerifier::Remember(const std::string& key, RecipientStatus status, int64_t now_ms) {
  const auto ttl =
      status == RecipientStatus::kKnown ? cache_config_.positive : cache_config_.negative;
  if (ttl.count() <= 0 || cache_config_.max_entries == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= cache_config_.max_entries && cache_.count(key) == 0) {
    // Full: expired entries go first, else an arbitrary one.
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second.expires_ms <= now_ms ? cache_.erase(it) : std::next(it);
    }
    if (cache_.size() >= cache_config_.max_entries) cache_.erase(cache_.begin());
  }
  cache_[key] = CacheEntry{status, now_ms + ttl.count()};
}

RecipientStatus RecipientVerifier::Verify(const std::string& address, int64_t now_ms) {
  const std::string key = AsciiLower(address);
  const auto* sources = SourcesFor(mail::DomainOf(key));
  if (sources == nullptr) return RecipientStatus::kKnown;
  bool unavailable = false;
  bool all_cacheable = true;
  for (const auto& source : *sources) {
    RecipientStatus st = source->Lookup(address);
    if (metrics_ != nullptr) metrics_->RecipientLookup(source->Name(), RecipientStatusName(st));
    if (st == RecipientStatus::kKnown) {
      if (source->Cacheable()) Remember(key, st, now_ms);
      return st;
    }
    if (st == RecipientStatus::kUnavailable) unavailable = true;
    all_cacheable = all_cacheable && source->Cacheable();
  }
  if (unavailable) return RecipientStatus::kUnavailable;
  // A cheap source (registry, list) may learn the address any minute: an
  // "unknown" is cached only when every source is an expensive one.
  if (all_cacheable) Remember(key, RecipientStatus::kUnknown, now_ms);
  return RecipientStatus::kUnknown;
}

Status RecipientVerifier::Reload() {
  Status first = OkStatus();
  for (auto& [domain, sources] : domains_) {
    for (auto& s : sources) {
      Status st = s->Reload();
      if (!st.ok()) {
        spdlog::error("ingress: reload of recipient source {} for {} failed: {}", s->Name(), domain,
                      st.error().message);
        if (first.ok()) first = st;
      }
    }
  }
  return first;
}

}  // namespace sg::ingress
