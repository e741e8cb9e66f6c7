#include "workers/tenant_counters.h"

#include <set>
#include <spdlog/spdlog.h>

#include "common/mail/address.h"

namespace sg::workers {

namespace v1 = smimegate::v1;

TenantCounters::TenantCounters(Sink sink, metrics::Registry& registry,
                               std::chrono::milliseconds interval)
    : sink_(std::move(sink)),
      total_(registry.AddCounter("smimegate_tenant_messages_total",
                                 "Messages processed per tenant and action: signed, encrypted, "
                                 "decrypted, verified, bounced, web_encrypted (docs/usage.md)",
                                 {"tenant", "kind"})),
      interval_(interval) {}

TenantCounters::~TenantCounters() { Stop(); }

void TenantCounters::ReplaceDomains(std::map<std::string, std::string> domains) {
  auto next = std::make_shared<const std::map<std::string, std::string>>(std::move(domains));
  std::lock_guard<std::mutex> lock(mu_);
  domains_.swap(next);
}

std::string TenantCounters::TenantOf(const std::string& address) const {
  std::shared_ptr<const std::map<std::string, std::string>> d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    d = domains_;
  }
  auto it = d->find(mail::DomainOf(address));
  return it == d->end() ? std::string() : it->second;
}

void TenantCounters::Count(const std::string& tenant, const std::string& kind) {
  if (tenant.empty()) return;
  total_.WithLabels({tenant, kind}).Inc();
  std::lock_guard<std::mutex> lock(mu_);
  ++pending_[tenant][kind];
}

void TenantCounters::Observe(const v1::Envelope& input, int input_notes,
                             const std::vector<v1::MessageRecord>& outputs) {
  const bool outbound = input.direction() == v1::DIRECTION_OUTBOUND;
  const std::string sender_tenant = outbound ? TenantOf(input.mail_from()) : std::string();
  std::set<std::pair<std::string, std::string>> seen;  // (tenant, kind): once per message
  auto count = [&](const std::string& tenant, const std::string& kind) {
    if (seen.emplace(tenant, kind).second) Count(tenant, kind);
  };
  for (const auto& out : outputs) {
    for (int i = input_notes; i < out.notes_size(); ++i) {
      const auto& n = out.notes(i);
      const std::string tenant = outbound ? sender_tenant : TenantOf(n.detail());
      const std::string& a = n.action();
      if (a == "signed" || a == "signed+encrypted") count(tenant, "signed");
      if (a == "encrypted" || a == "signed+encrypted") count(tenant, "encrypted");
      if (a == "decrypted" || a == "verified") count(tenant, a);
      if (a == "web-encryption") count(tenant, "web_encrypted");
    }
  }
  // Recipients the policy bounced: the DSNs it produced (to the sender).
  for (const auto& out : outputs) {
    bool dsn = false;
    for (const auto& n : out.notes()) dsn = dsn || n.action() == "dsn";
    if (!dsn) continue;
    std::string tenant = sender_tenant;
    for (int i = 0; tenant.empty() && !outbound && i < input.recipients_size(); ++i) {
      tenant = TenantOf(input.recipients(i).address());
    }
    count(tenant, "bounced");
  }
}

Status TenantCounters::Flush() {
  std::lock_guard<std::mutex> flush(flush_mu_);
  Batch batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return OkStatus();
  Status st = sink_(batch);
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);  // kept for the next flush
    for (const auto& [t, kinds] : batch) {
      for (const auto& [k, n] : kinds) pending_[t][k] += n;
    }
  }
  return st;
}

void TenantCounters::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
      lock.unlock();
      if (Status st = Flush(); !st.ok()) {
        spdlog::warn("workers: message counters not sent to the keyservice yet: {} (kept for "
                     "the next attempt)",
                     st.error().message);
      }
      lock.lock();
    }
  });
}

void TenantCounters::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sg::workers
