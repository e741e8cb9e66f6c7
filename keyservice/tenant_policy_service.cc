// KeyServiceImpl: per-tenant policy overrides and branding in the registry
// (TenantAdmin, docs/tenants.md "Policy", "Branding"). Every change
// publishes a "tenant" change event: the workers' follower re-reads the
// table (TenantRouting, with the policies) within one long poll. Audited
// by the gRPC layer (KeyAdmin) and the REST API like every admin call.
#include <set>

#include "keyservice/key_service_impl.h"
#include "keyservice/tenant_policy.h"

namespace sg::keyservice {

std::set<std::string> KeyServiceImpl::CaLabels() const {
  std::set<std::string> labels;
  for (const auto& ca : ca_->AllCas()) {
    if (!ca.label.empty()) labels.insert(ca.label);
  }
  labels.insert("default");
  return labels;
}

Result<Tenant> KeyServiceImpl::TenantPolicySet(const TenantPolicy& policy) {
  SG_ASSIGN_OR_RETURN(TenantPolicy norm, NormalizeTenantPolicy(policy, CaLabels()));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(policy.tenant));
  if (norm.empty()) {
    t.clear_policy();
  } else {
    *t.mutable_policy() = PolicyToStored(norm);
  }
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

Result<Tenant> KeyServiceImpl::TenantPolicyClear(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(tenant));
  t.clear_policy();
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

Result<Tenant> KeyServiceImpl::TenantBrandingSet(const TenantBranding& branding) {
  SG_ASSIGN_OR_RETURN(TenantBranding norm, NormalizeTenantBranding(branding));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(branding.tenant));
  if (norm.empty()) {
    t.clear_branding();
  } else {
    *t.mutable_branding() = BrandingToStored(norm);
  }
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

Result<Tenant> KeyServiceImpl::TenantBrandingClear(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(tenant));
  t.clear_branding();
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

std::string KeyServiceImpl::TenantCaBackend(const std::string& domain) {
  auto d = store_->GetDomain(domain);
  if (!d.ok() || !*d) return {};
  const std::string& tenant = (*d)->tenant().empty() ? std::string(kDefaultTenant) : (*d)->tenant();
  auto t = tenants_.GetTenant(tenant);
  if (!t.ok() || !*t) return {};
  return (*t)->policy().ca_backend();
}

}  // namespace sg::keyservice
