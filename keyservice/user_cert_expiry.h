// How soon participating users' own certificates expire, per tenant
// (issue 24): the gauge
//
//   smimegate_tenant_user_certificates{tenant, expires_within}
//       expires_within: expired | 3d | 7d | 30d | later
//
// counts participating users by the latest notAfter among their own keys
// (issued or imported; a user with a newer certificate is counted by that
// one). Users without any key yet (their first certificate comes with their
// first message) are not counted. Labels are bounded: tenants x 5 buckets,
// never users.
//
// Rollover renews a certificate keyservice.rollover_before (7 days by
// default) before it expires, so with the defaults a user in "3d" or
// "expired" means rollover is failing (the CA refuses or is down): the
// alert SmimegateUserCertificatesNotRenewed (deploy/k8s/monitoring).
//
// Cost: computed after each of the keyservice's rollover passes (at start,
// then every keyservice.rollover_check_interval, 1 h by default), never per
// scrape:
// one scan of the users and domains and one prefix read of each
// participating user's keys, the same reads the rollover pass makes; a
// scrape only reads the gauge. With 100,000 users that is 100,000 point
// prefix reads per hour.
//
// Threading: Update() from the scheduler thread; the gauge is read by scrapes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "keyservice/key_store.h"

namespace sg::keyservice {

inline constexpr std::array<std::string_view, 5> kExpiryBuckets = {"expired", "3d", "7d", "30d",
                                                                   "later"};

// The index into kExpiryBuckets of a certificate valid until |not_after| at
// |now| (unix seconds): expired when not_after <= now, else the first of
// 3, 7, 30 days that is not shorter than the time left, else "later".
size_t ExpiryBucket(int64_t not_after, int64_t now);

// tenant -> users per bucket.
using ExpiryTally = std::map<std::string, std::array<int64_t, kExpiryBuckets.size()>>;

// Counts every participating user of |store| by tenant (the tenant of the
// user's domain in the registry; "default" when the domain is not in it).
Result<ExpiryTally> TallyUserCertExpiry(KeyStore& store, int64_t now);

// The gauge over a key store. Update() runs one tally and publishes it; the
// keyservice's scheduler calls it after each rollover pass
// (keyservice_server.cc). Store, clock and registry are borrowed.
class UserCertExpiry {
 public:
  UserCertExpiry(KeyStore& store, const Clock& clock, metrics::Registry& registry);

  // Errors: the store's (the gauge keeps its last values).
  Status Update();

  // Sets every bucket of every tenant in |tally|; tenants published before
  // and missing now (removed, or no user with a key left) are set to 0.
  void Publish(const ExpiryTally& tally);

 private:
  KeyStore& store_;
  const Clock& clock_;
  metrics::Family<metrics::Gauge>& gauge_;
  std::mutex mu_;
  std::set<std::string> tenants_;  // guarded by mu_
};

}  // namespace sg::keyservice
