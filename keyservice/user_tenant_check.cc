#include "keyservice/user_tenant_check.h"

#include <map>

#include "common/mail/address.h"
#include "keyservice/tenant_admin.h"

namespace sg::keyservice {

std::vector<UserTenantMismatch> UserTenantMismatches(const std::vector<User>& users,
                                                     const std::vector<Domain>& domains) {
  std::map<std::string, std::string> owner_of;
  for (const auto& d : domains) owner_of[d.name] = d.tenant.empty() ? kDefaultTenant : d.tenant;
  std::vector<UserTenantMismatch> out;
  for (const auto& u : users) {
    const std::string domain = mail::DomainOf(u.address);
    auto it = owner_of.find(domain);
    if (it == owner_of.end() || u.tenant == it->second) continue;
    if (u.tenant.empty() && it->second == kDefaultTenant) continue;  // no label: default's
    out.push_back({u.address, u.participating, u.tenant, domain, it->second});
  }
  return out;
}

}  // namespace sg::keyservice
