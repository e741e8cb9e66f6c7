#include "ingress/ingress_hosted_domains.h"

namespace sg::ingress {

HostedDomains::HostedDomains(std::set<std::string> domains)
    : domains_(std::make_shared<const std::set<std::string>>(std::move(domains))) {}

bool HostedDomains::Contains(const std::string& domain) const {
  std::shared_ptr<const std::set<std::string>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    now = domains_;
  }
  return now->count(domain) != 0;
}

void HostedDomains::Replace(std::set<std::string> domains) {
  auto next = std::make_shared<const std::set<std::string>>(std::move(domains));
  std::lock_guard<std::mutex> lock(mu_);
  domains_.swap(next);  // the old set is freed outside no reader's lookup
}

size_t HostedDomains::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return domains_->size();
}

}  // namespace sg::ingress
