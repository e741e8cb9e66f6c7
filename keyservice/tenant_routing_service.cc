// KeyServiceImpl: per-tenant inbound routes and relay-client bindings in the
// registry (TenantAdmin, docs/tenants.md), and the table ingress and egress
// follow (KeyService::TenantRouting). Every change publishes a "tenant"
// change event, so the followers re-read within one long poll.
#include "keyservice/key_service_impl.h"
#include "keyservice/tenant_routing.h"

namespace sg::keyservice {

Result<store::StoredTenant> KeyServiceImpl::StoredTenantOf(const std::string& id) {
  SG_ASSIGN_OR_RETURN(std::string norm, NormalizeTenantId(id, "tenant"));
  SG_ASSIGN_OR_RETURN(auto t, tenants_.GetTenant(norm));
  if (!t) {
    return MakeError(ErrorCode::kNotFound,
                     "no tenant " + norm + " (add it with `smimegatectl tenant add " + norm + "`)");
  }
  return std::move(*t);
}

Result<TenantRoutingTable> KeyServiceImpl::TenantRouting() {
  TenantRoutingTable out;
  SG_ASSIGN_OR_RETURN(out.domains, TenantDomains());
  SG_ASSIGN_OR_RETURN(auto tenants, tenants_.ListTenants());
  for (const auto& t : tenants) {
    Tenant view = TenantFromStored(t, {});
    if (!view.route.hosts.empty()) out.routes.push_back(std::move(view.route));
    for (auto& b : view.bindings) out.bindings.push_back(std::move(b));
    if (!view.policy.empty()) out.policies.push_back(std::move(view.policy));
  }
  SG_ASSIGN_OR_RETURN(out.global_rules, GlobalRulesShow());
  return out;
}

Result<Tenant> KeyServiceImpl::TenantRouteSet(const TenantRoute& route) {
  SG_ASSIGN_OR_RETURN(TenantRoute norm, NormalizeTenantRoute(route));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(route.tenant));
  auto* r = t.mutable_route();
  r->clear_hosts();
  for (const auto& h : norm.hosts) r->add_hosts(h);
  r->set_tls(norm.tls);
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

Result<Tenant> KeyServiceImpl::TenantRouteClear(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(tenant));
  t.clear_route();
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

Result<Tenant> KeyServiceImpl::TenantBind(const TenantBinding& binding) {
  SG_ASSIGN_OR_RETURN(TenantBinding norm, NormalizeTenantBinding(binding));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, StoredTenantOf(binding.tenant));
  SG_ASSIGN_OR_RETURN(auto all, tenants_.ListTenants());
  for (const auto& other : all) {
    for (const auto& b : other.bindings()) {
      if (b.kind() != norm.kind || b.value() != norm.value) continue;
      if (other.id() == t.id()) return TenantView(t);  // already bound here
      std::string m = norm.kind + " " + norm.value + " is bound to tenant " + other.id() +
                      " already (`smimegatectl tenant unbind " + norm.kind + " '" + norm.value +
                      "'` first)";
      return MakeError(ErrorCode::kInvalidArgument, std::move(m));
    }
  }
  auto* b = t.add_bindings();
  b->set_kind(norm.kind);
  b->set_value(norm.value);
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", t.id());
  return TenantView(t);
}

Status KeyServiceImpl::TenantUnbind(const TenantBinding& binding) {
  SG_ASSIGN_OR_RETURN(TenantBinding norm, NormalizeTenantBinding(binding));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto all, tenants_.ListTenants());
  for (auto& t : all) {
    auto* list = t.mutable_bindings();
    for (int i = 0; i < list->size(); ++i) {
      if (list->Get(i).kind() != norm.kind || list->Get(i).value() != norm.value) continue;
      list->DeleteSubrange(i, 1);
      SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
      changes_.Publish("tenant", t.id());
      return OkStatus();
    }
  }
  return MakeError(ErrorCode::kNotFound,
                   norm.kind + " " + norm.value + " is bound to no tenant");
}

}  // namespace sg::keyservice
