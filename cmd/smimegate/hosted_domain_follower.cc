#include "cmd/smimegate/hosted_domain_follower.h"

#include <spdlog/spdlog.h>

namespace sg::app {

HostedDomainFollower::HostedDomainFollower(keyservice::KeyService& keys, Apply apply,
                                           metrics::Registry& registry, Options options)
    : keys_(keys),
      apply_(std::move(apply)),
      options_(options),
      domains_(registry
                   .AddGauge("smimegate_hosted_domains",
                             "Hosted domains, as this process last read them from the "
                             "keyservice's registry (docs/tenants.md)")
                   .Get()),
      refreshes_(registry.AddCounter(
          "smimegate_hosted_domain_refresh_total",
          "Reads of the keyservice's registry (domains, routes, bindings, tenant policies) by this "
          "process: ok, failed (the last known state stays in use)",
          {"result"})) {}

HostedDomainFollower::~HostedDomainFollower() { Stop(); }

void HostedDomainFollower::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void HostedDomainFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status HostedDomainFollower::Refresh() {
  auto table = keys_.TenantRouting();
  if (!table.ok()) {
    refreshes_.WithLabels({"failed"}).Inc();
    return table.error();
  }
  Domains names;
  for (const auto& d : table->domains) names.emplace(d.name, d.tenant);
  domains_.Set(static_cast<double>(names.size()));
  refreshes_.WithLabels({"ok"}).Inc();
  if (apply_) apply_(std::move(names));
  for (const auto& consumer : consumers_) consumer(*table);
  return OkStatus();
}

bool HostedDomainFollower::WaitRetry() {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, options_.retry, [this] { return stopping_; });
}

void HostedDomainFollower::Run() {
  uint64_t epoch = 0;
  uint64_t version = 0;
  bool stale = true;  // the registry must be read (again)
  bool failing = false;
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  };
  while (!stopping()) {
    if (stale) {
      Status st = Refresh();
      if (!st.ok()) {
        if (!failing) {
          spdlog::warn("ingress: cannot read the hosted domains from the keyservice: {} (the "
                       "last known domains stay in use; trying again every {} ms)",
                       st.error().message, options_.retry.count());
        }
        failing = true;
        if (!WaitRetry()) return;
        continue;
      }
      if (failing) spdlog::info("ingress: hosted domains read from the keyservice again");
      failing = false;
      stale = false;
    }
    auto changes = keys_.WaitForChanges(epoch, version, options_.poll_wait);
    if (!changes.ok()) {
      stale = true;  // whatever happened meanwhile is read once it answers again
      if (!WaitRetry()) return;
      continue;
    }
    stale = changes->reset;
    for (const auto& e : changes->events) {
      stale = stale || e.kind == "domain" || e.kind == "tenant" || e.kind == "policy";
    }
    epoch = changes->epoch;
    version = changes->version;
  }
}

}  // namespace sg::app
