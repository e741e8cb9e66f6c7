#include "ingress/ingress_hosted_domains.h"

#include <algorithm>
#include <charconv>

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

namespace {

// The prefix length of "net/len" (an address alone: every bit).
int PrefixOf(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) return text.find(':') != std::string::npos ? 128 : 32;
  int v = 0;
  std::from_chars(text.data() + slash + 1, text.data() + text.size(), v);
  // An IPv4 prefix counts as its IPv4-mapped IPv6 length.
  return text.find(':') != std::string::npos ? v : v + 96;
}

}  // namespace

RegistryBindings MakeRegistryBindings(
    const std::vector<std::tuple<std::string, std::string, std::string>>& bindings) {
  RegistryBindings out;
  std::vector<std::tuple<int, Cidr, std::string>> nets;
  for (const auto& [kind, value, tenant] : bindings) {
    if (kind == "user") {
      out.users.emplace(value, tenant);
    } else if (kind == "certificate") {
      out.certificates.emplace(value, tenant);
    } else if (kind == "network") {
      auto net = Cidr::Parse(value);
      if (net.ok()) nets.emplace_back(PrefixOf(value), *net, tenant);
    }
  }
  std::stable_sort(nets.begin(), nets.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  for (auto& [prefix, net, tenant] : nets) out.networks.emplace_back(net, std::move(tenant));
  return out;
}

std::shared_ptr<const RegistryBindings> HostedDomains::BindingSnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bindings_;
}

void HostedDomains::ReplaceBindings(RegistryBindings bindings) {
  auto next = std::make_shared<const RegistryBindings>(std::move(bindings));
  std::lock_guard<std::mutex> lock(mu_);
  bindings_.swap(next);
}

std::optional<std::string> HostedDomains::TenantOfUser(std::string_view user) const {
  auto b = BindingSnapshot();
  auto it = b->users.find(std::string(user));
  if (it == b->users.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HostedDomains::TenantOfCertificate(std::string_view subject) const {
  auto b = BindingSnapshot();
  auto it = b->certificates.find(std::string(subject));
  if (it == b->certificates.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HostedDomains::TenantOfNetwork(std::string_view ip) const {
  auto b = BindingSnapshot();
  for (const auto& [net, tenant] : b->networks) {
    if (net.Contains(ip)) return tenant;
  }
  return std::nullopt;
}

}  // namespace sg::ingress
