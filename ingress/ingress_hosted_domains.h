// HostedDomains: the hosted domains the listeners check (MX: recipient
// domains; relay: sender domains), replaceable while the server runs.
// Starts as the config file's hosted_domains; with a keyservice, the
// composition root (cmd/smimegate hosted_domain_follower.h) replaces it with
// the registry's domains whenever a domain is added or removed, so a domain
// takes effect without a restart (docs/tenants.md). When the keyservice is
// unreachable nothing is replaced: the last known set stays in use.
//
// Threading: thread-safe. Contains is called by every loop for every RCPT
// and MAIL FROM; Replace by the follower's thread.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace sg::ingress {

class HostedDomains {
 public:
  explicit HostedDomains(std::set<std::string> domains);  // lower case

  bool Contains(const std::string& domain) const;
  void Replace(std::set<std::string> domains);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  // Swapped whole: a lookup never sees a half-updated set.
  std::shared_ptr<const std::set<std::string>> domains_;
};

}  // namespace sg::ingress
