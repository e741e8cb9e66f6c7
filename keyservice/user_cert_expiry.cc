#include "keyservice/user_cert_expiry.h"

#include <algorithm>

#include "common/mail/address.h"

namespace sg::keyservice {
namespace {
constexpr int64_t kDay = 86400;
}  // namespace

size_t ExpiryBucket(int64_t not_after, int64_t now) {
  const int64_t left = not_after - now;
  if (left <= 0) return 0;
  if (left <= 3 * kDay) return 1;
  if (left <= 7 * kDay) return 2;
  if (left <= 30 * kDay) return 3;
  return 4;
}

Result<ExpiryTally> TallyUserCertExpiry(KeyStore& store, int64_t now) {
  SG_ASSIGN_OR_RETURN(auto domains, store.ListDomains());
  std::map<std::string, std::string> tenant_of;
  for (const auto& d : domains) tenant_of[d.name()] = d.tenant().empty() ? "default" : d.tenant();
  SG_ASSIGN_OR_RETURN(auto users, store.ListUsers());
  ExpiryTally tally;
  for (const auto& u : users) {
    if (!u.participating()) continue;
    SG_ASSIGN_OR_RETURN(auto keys, store.ListKeys(u.address()));
    if (keys.empty()) continue;
    int64_t latest = keys.front().not_after();
    for (const auto& k : keys) latest = std::max(latest, k.not_after());
    auto it = tenant_of.find(mail::DomainOf(u.address()));
    const std::string& tenant = it == tenant_of.end() ? "default" : it->second;
    ++tally[tenant][ExpiryBucket(latest, now)];
  }
  return tally;
}

UserCertExpiry::UserCertExpiry(KeyStore& store, const Clock& clock, metrics::Registry& registry)
    : store_(store),
      clock_(clock),
      gauge_(registry.AddGauge(
          "smimegate_tenant_user_certificates",
          "Participating users by tenant and how soon their newest own certificate expires "
          "(expired, 3d, 7d, 30d, later); computed by each rollover pass",
          {"tenant", "expires_within"})) {}

Status UserCertExpiry::Update() {
  SG_ASSIGN_OR_RETURN(ExpiryTally tally, TallyUserCertExpiry(store_, UnixSeconds(clock_.Now())));
  Publish(tally);
  return OkStatus();
}

void UserCertExpiry::Publish(const ExpiryTally& tally) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : tenants_) {
    if (tally.count(t) != 0) continue;
    for (auto b : kExpiryBuckets) gauge_.WithLabels({t, std::string(b)}).Set(0);
  }
  for (const auto& [tenant, counts] : tally) {
    for (size_t i = 0; i < kExpiryBuckets.size(); ++i) {
      gauge_.WithLabels({tenant, std::string(kExpiryBuckets[i])})
          .Set(static_cast<double>(counts[i]));
    }
    tenants_.insert(tenant);
  }
}

}  // namespace sg::keyservice
