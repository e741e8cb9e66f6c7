// HostedDomains: the hosted domains the listeners check (MX: recipient
// domains; relay: sender domains) and the tenant owning each, replaceable
// while the server runs. Starts as the config file's hosted_domains (tenant
// "default"); with a keyservice, the composition root (cmd/smimegate
// hosted_domain_follower.h) replaces it with the registry's domains whenever
// a domain is added, moved or removed, so a domain takes effect without a
// restart (docs/tenants.md). When the keyservice is unreachable nothing is
// replaced: the last known set stays in use.
//
// Threading: thread-safe. Contains / TenantOf are called by every loop for
// every RCPT and MAIL FROM; Replace by the follower's thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace sg::ingress {

class HostedDomains {
 public:
  using Map = std::map<std::string, std::string>;  // domain (lower case) -> tenant id

  explicit HostedDomains(const std::set<std::string>& domains);  // all of tenant "default"

  bool Contains(const std::string& domain) const;
  // The tenant owning `domain`; "" when it is not hosted.
  std::string TenantOf(const std::string& domain) const;
  void Replace(Map domains);
  size_t size() const;

 private:
  std::shared_ptr<const Map> Snapshot() const;
  mutable std::mutex mu_;
  // Swapped whole: a lookup never sees a half-updated set.
  std::shared_ptr<const Map> domains_;
};

}  // namespace sg::ingress
