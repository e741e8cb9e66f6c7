#include "ingress/ingress_hosted_domains.h"

namespace sg::ingress {

HostedDomains::HostedDomains(const std::set<std::string>& domains) {
  Map m;
  for (const auto& d : domains) m.emplace(d, "default");
  domains_ = std::make_shared<const Map>(std::move(m));
}

std::shared_ptr<const HostedDomains::Map> HostedDomains::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return domains_;
}

bool HostedDomains::Contains(const std::string& domain) const {
  return Snapshot()->count(domain) != 0;
}

std::string HostedDomains::TenantOf(const std::string& domain) const {
  auto now = Snapshot();
  auto it = now->find(domain);
  return it == now->end() ? std::string() : it->second;
}

void HostedDomains::Replace(Map domains) {
  auto next = std::make_shared<const Map>(std::move(domains));
  std::lock_guard<std::mutex> lock(mu_);
  domains_.swap(next);  // the old map is freed after the lock, by its last reader
}

size_t HostedDomains::size() const { return Snapshot()->size(); }

}  // namespace sg::ingress
