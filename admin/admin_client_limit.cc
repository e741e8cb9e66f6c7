#include "admin/admin_client_limit.h"

#include "common/cidr.h"

namespace sg::admin {

ClientRateLimiter::Entry& ClientRateLimiter::EntryFor(const std::string& client, int64_t now,
                                                      bool& overflow) {
  overflow = false;
  if (clients_.Find(client) == nullptr && clients_.size() >= limit_.max_clients) {
    // Make room: drop least recently used buckets that are full again; a
    // draining one stays (skipped a few times at most, so this is O(1)).
    clients_.EvictOver(limit_.max_clients - 1,
                       [&](const Entry& e) { return !e.bucket.FullAt(limit_.rate, now); });
    if (clients_.size() >= limit_.max_clients) {
      overflow = true;
      return overflow_;
    }
  }
  return clients_.Touch(client);
}

void ClientRateLimiter::Refuse(Entry& e, int64_t now, Admission& a) const {
  ++e.unreported;
  if (e.reported_ms >= 0 && now - e.reported_ms < kReportEveryMs) return;
  a.report = true;
  a.unreported = e.unreported;
  e.unreported = 0;
  e.reported_ms = now;
}

ClientRateLimiter::Admission ClientRateLimiter::Take(const std::string& remote_addr) {
  Admission a;
  a.client = ClientKey(remote_addr, 64);
  if (limit_.rate.per_second <= 0 || limit_.max_clients == 0) return a;
  const int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = EntryFor(a.client, now, a.overflow);
  a.retry_after = e.bucket.Take(limit_.rate, now);
  if (a.retry_after > 0) {
    Refuse(e, now, a);
  } else {
    a.taken = true;
  }
  return a;
}

void ClientRateLimiter::Refund(const Admission& admission) {
  if (!admission.taken) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (admission.overflow) {
    overflow_.bucket.Give(limit_.rate);
  } else if (Entry* e = clients_.Find(admission.client)) {
    e->bucket.Give(limit_.rate);
  }
}

size_t ClientRateLimiter::Clients() {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

}  // namespace sg::admin
