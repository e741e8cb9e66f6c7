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
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/cidr.h"

namespace sg::ingress {

// Relay clients bound to tenants in the keyservice registry
// (`smimegatectl tenant bind`, docs/tenants.md "Relay clients").
struct RegistryBindings {
  std::map<std::string, std::string> users;         // SMTP AUTH user -> tenant id
  std::map<std::string, std::string> certificates;  // client certificate subject -> tenant id
  // Most specific (longest prefix) first; the first network containing the
  // client decides.
  std::vector<std::pair<Cidr, std::string>> networks;
};

// Builds RegistryBindings from (kind, value, tenant) triples: kinds user,
// certificate, network; a malformed network or unknown kind is skipped
// (the keyservice checked them when they were bound).
RegistryBindings MakeRegistryBindings(
    const std::vector<std::tuple<std::string, std::string, std::string>>& bindings);

class HostedDomains {
 public:
  using Map = std::map<std::string, std::string>;  // domain (lower case) -> tenant id

  explicit HostedDomains(const std::set<std::string>& domains);  // all of tenant "default"

  bool Contains(const std::string& domain) const;
  // The tenant owning `domain`; "" when it is not hosted.
  std::string TenantOf(const std::string& domain) const;
  void Replace(Map domains);
  size_t size() const;

  // The registry's relay-client bindings (none until the follower sets them).
  void ReplaceBindings(RegistryBindings bindings);
  // The tenant a relay client is bound to in the registry: by AUTH user,
  // by certificate subject, by network (the client's address); nullopt when
  // it is not bound there.
  std::optional<std::string> TenantOfUser(std::string_view user) const;
  std::optional<std::string> TenantOfCertificate(std::string_view subject) const;
  std::optional<std::string> TenantOfNetwork(std::string_view ip) const;

 private:
  std::shared_ptr<const Map> Snapshot() const;
  std::shared_ptr<const RegistryBindings> BindingSnapshot() const;
  mutable std::mutex mu_;
  // Swapped whole: a lookup never sees a half-updated set.
  std::shared_ptr<const Map> domains_;
  std::shared_ptr<const RegistryBindings> bindings_ = std::make_shared<const RegistryBindings>();
};

}  // namespace sg::ingress
