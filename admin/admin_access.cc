#include "admin/admin_access.h"

#include "common/mail/address.h"

namespace sg::admin {

Status Access::LoadTenants() {
  if (tenant_reseller_) return OkStatus();
  SG_ASSIGN_OR_RETURN(auto list, tenants_.TenantList(""));
  std::map<std::string, std::string> m;
  for (const auto& t : list) m[t.id] = t.reseller;
  tenant_reseller_ = std::move(m);
  return OkStatus();
}

Status Access::LoadDomains() {
  if (domain_tenant_) return OkStatus();
  SG_ASSIGN_OR_RETURN(auto list, service_.TenantDomains());
  std::map<std::string, std::string> m;
  for (const auto& d : list) m[d.name] = d.tenant;
  domain_tenant_ = std::move(m);
  return OkStatus();
}

Result<bool> Access::Reseller(const std::string& id) {
  if (scope_.kind == Scope::Kind::kTenant) return false;
  if (scope_.kind == Scope::Kind::kReseller && id != scope_.id) return false;
  auto r = tenants_.ResellerShow(id);
  if (r.ok()) return true;
  if (r.error().code == ErrorCode::kNotFound || r.error().code == ErrorCode::kInvalidArgument) {
    return false;
  }
  return r.error();
}

Result<bool> Access::Tenant(const std::string& id) {
  SG_RETURN_IF_ERROR(LoadTenants());
  auto it = tenant_reseller_->find(id);
  if (it == tenant_reseller_->end()) return false;
  switch (scope_.kind) {
    case Scope::Kind::kSuper:
      return true;
    case Scope::Kind::kReseller:
      return it->second == scope_.id;
    case Scope::Kind::kTenant:
      return id == scope_.id;
  }
  return false;
}

Result<std::optional<std::string>> Access::TenantOf(const std::string& domain) {
  SG_RETURN_IF_ERROR(LoadDomains());
  auto name = mail::NormalizeDomain(domain);
  if (!name.ok()) return std::optional<std::string>();
  auto it = domain_tenant_->find(*name);
  if (it == domain_tenant_->end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<bool> Access::Domain(const std::string& domain) {
  SG_ASSIGN_OR_RETURN(auto tenant, TenantOf(domain));
  if (!tenant) return false;
  return Tenant(*tenant);
}

Result<bool> Access::Address(const std::string& address) {
  const std::string domain = mail::DomainOf(address);
  if (domain.empty()) return false;
  return Domain(domain);
}

Result<bool> Access::Owner(const std::string& owner) {
  if (scope_.is_super()) return true;
  if (owner.empty()) return false;
  if (owner.front() == '@') return Domain(owner.substr(1));
  return Address(owner);
}

Result<bool> Access::AuditRole(const std::string& role) {
  if (scope_.is_super()) return true;
  if (role == scope_.ToString()) return true;
  if (scope_.kind != Scope::Kind::kReseller || !role.starts_with("tenant:")) return false;
  return Tenant(role.substr(7));
}

}  // namespace sg::admin
