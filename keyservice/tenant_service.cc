// KeyServiceImpl: tenants and resellers (TenantAdmin, docs/tenants.md), the
// domain registry's tenant side (TenantDomains, TenantRemoveDomain) and the
// seeding of the default tenant at Open.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "keyservice/key_service_impl.h"
#include "keyservice/keyservice_x509.h"
#include "keyservice/tenant_policy.h"

namespace sg::keyservice {
namespace {

Error NoTenant(const std::string& id) {
  return MakeError(ErrorCode::kNotFound,
                   "no tenant " + id + " (add it with `smimegatectl tenant add " + id + "`)");
}

Error NoReseller(const std::string& id) {
  return MakeError(ErrorCode::kNotFound,
                   "no reseller " + id + " (add it with `smimegatectl reseller add " + id + "`)");
}

}  // namespace

Tenant TenantFromStored(const store::StoredTenant& t, std::vector<std::string> domains) {
  Tenant out{t.id(), t.name(), t.reseller(), t.created_at(), std::move(domains)};
  out.route.tenant = t.id();
  out.route.hosts.assign(t.route().hosts().begin(), t.route().hosts().end());
  if (!t.route().tls().empty()) out.route.tls = t.route().tls();
  for (const auto& b : t.bindings()) out.bindings.push_back(TenantBinding{b.kind(), b.value(), t.id()});
  out.policy = PolicyFromStored(t.policy(), t.id());
  out.branding = BrandingFromStored(t.branding(), t.id());
  return out;
}

namespace {

std::string TenantOf(const store::StoredDomain& d) {
  return d.tenant().empty() ? kDefaultTenant : d.tenant();
}

}  // namespace

Status KeyServiceImpl::SeedTenants() {
  const int64_t now = UnixSeconds(clock_.Now());
  SG_ASSIGN_OR_RETURN(auto def, tenants_.GetTenant(kDefaultTenant));
  if (!def) {
    store::StoredTenant t;
    t.set_id(kDefaultTenant);
    t.set_name("the config file's hosted_domains");
    t.set_created_at(now);
    SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  }
  SG_ASSIGN_OR_RETURN(auto domains, store_->ListDomains());
  for (auto& d : domains) {
    const std::string label = d.tenant();
    auto valid = NormalizeTenantId(label, "tenant");
    std::string id = valid.ok() ? *valid : TenantIdFromLabel(label);
    if (id.empty()) id = kDefaultTenant;
    SG_ASSIGN_OR_RETURN(auto existing, tenants_.GetTenant(id));
    if (!existing) {
      // An older store: `domain add --tenant` was a free-text label.
      store::StoredTenant t;
      t.set_id(id);
      t.set_name(label);
      t.set_created_at(now);
      SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
      spdlog::info("keyservice: tenant {} registered for the label \"{}\" of domain {}", id, label,
                   d.name());
    }
    if (id != label) {
      SG_RETURN_IF_ERROR(validation_->Update(
          d.name(), [&](store::StoredDomain& sd) { sd.set_tenant(id); }));
    }
  }
  return OkStatus();
}

Result<std::string> KeyServiceImpl::TenantForDomain(const std::string& requested) {
  if (requested.empty()) return std::string();
  SG_ASSIGN_OR_RETURN(std::string id, NormalizeTenantId(requested, "tenant"));
  SG_ASSIGN_OR_RETURN(auto t, tenants_.GetTenant(id));
  if (!t) return NoTenant(id);
  return id;
}

Result<std::map<std::string, std::vector<std::string>>> KeyServiceImpl::DomainsByTenant() {
  SG_ASSIGN_OR_RETURN(auto domains, store_->ListDomains());
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& d : domains) out[TenantOf(d)].push_back(d.name());  // the store sorts by name
  return out;
}

Result<Tenant> KeyServiceImpl::TenantView(const store::StoredTenant& t) {
  SG_ASSIGN_OR_RETURN(auto by_tenant, DomainsByTenant());
  return TenantFromStored(t, by_tenant[t.id()]);
}

Result<std::vector<HostedDomain>> KeyServiceImpl::TenantDomains() {
  SG_ASSIGN_OR_RETURN(auto domains, store_->ListDomains());
  std::vector<HostedDomain> out;
  out.reserve(domains.size());
  for (const auto& d : domains) out.push_back(HostedDomain{d.name(), TenantOf(d)});
  return out;
}

Result<Tenant> KeyServiceImpl::TenantAdd(const Tenant& tenant) {
  SG_ASSIGN_OR_RETURN(std::string id, NormalizeTenantId(tenant.id, "tenant"));
  SG_RETURN_IF_ERROR(CheckTenantName(tenant.name, "tenant"));
  std::string reseller;
  if (!tenant.reseller.empty()) {
    SG_ASSIGN_OR_RETURN(reseller, NormalizeTenantId(tenant.reseller, "reseller"));
  }
  std::lock_guard<std::mutex> lock(tenant_mu_);
  if (!reseller.empty()) {
    SG_ASSIGN_OR_RETURN(auto r, tenants_.GetReseller(reseller));
    if (!r) return NoReseller(reseller);
  }
  SG_ASSIGN_OR_RETURN(auto existing, tenants_.GetTenant(id));
  // An update keeps the route and the bindings.
  store::StoredTenant t = existing ? *existing : store::StoredTenant();
  t.set_id(id);
  t.set_name(tenant.name.empty() ? id : tenant.name);
  t.set_reseller(reseller);
  t.set_created_at(existing ? existing->created_at() : UnixSeconds(clock_.Now()));
  SG_RETURN_IF_ERROR(tenants_.PutTenant(t));
  changes_.Publish("tenant", id);
  return TenantView(t);
}

Result<std::vector<Tenant>> KeyServiceImpl::TenantList(const std::string& reseller) {
  std::string want;
  if (!reseller.empty()) {
    SG_ASSIGN_OR_RETURN(want, NormalizeTenantId(reseller, "reseller"));
    SG_ASSIGN_OR_RETURN(auto r, tenants_.GetReseller(want));
    if (!r) return NoReseller(want);
  }
  SG_ASSIGN_OR_RETURN(auto tenants, tenants_.ListTenants());
  SG_ASSIGN_OR_RETURN(auto by_tenant, DomainsByTenant());
  std::vector<Tenant> out;
  for (const auto& t : tenants) {
    if (!want.empty() && t.reseller() != want) continue;
    out.push_back(TenantFromStored(t, by_tenant[t.id()]));
  }
  return out;
}

Result<Tenant> KeyServiceImpl::TenantShow(const std::string& id) {
  SG_ASSIGN_OR_RETURN(std::string norm, NormalizeTenantId(id, "tenant"));
  SG_ASSIGN_OR_RETURN(auto t, tenants_.GetTenant(norm));
  if (!t) return NoTenant(norm);
  return TenantView(*t);
}

Status KeyServiceImpl::TenantRemove(const std::string& id) {
  SG_ASSIGN_OR_RETURN(std::string norm, NormalizeTenantId(id, "tenant"));
  if (norm == kDefaultTenant) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the default tenant cannot be removed: it holds the config file's "
                     "hosted_domains and domains added without --tenant");
  }
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto t, tenants_.GetTenant(norm));
  if (!t) return NoTenant(norm);
  SG_ASSIGN_OR_RETURN(auto view, TenantView(*t));
  if (!view.domains.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tenant " + norm + " still has " + std::to_string(view.domains.size()) +
                         " domain(s) (" + view.domains.front() +
                         (view.domains.size() > 1 ? ", ..." : "") +
                         "): remove them first (`smimegatectl domain remove`) or move them "
                         "(`smimegatectl domain add DOMAIN --tenant OTHER`)");
  }
  SG_RETURN_IF_ERROR(tenants_.DeleteTenant(norm));
  changes_.Publish("tenant", norm);
  return OkStatus();
}

Result<Reseller> KeyServiceImpl::ResellerAdd(const Reseller& reseller) {
  SG_ASSIGN_OR_RETURN(std::string id, NormalizeTenantId(reseller.id, "reseller"));
  SG_RETURN_IF_ERROR(CheckTenantName(reseller.name, "reseller"));
  {
    std::lock_guard<std::mutex> lock(tenant_mu_);
    SG_ASSIGN_OR_RETURN(auto existing, tenants_.GetReseller(id));
    store::StoredReseller r;
    r.set_id(id);
    r.set_name(reseller.name.empty() ? id : reseller.name);
    r.set_created_at(existing ? existing->created_at() : UnixSeconds(clock_.Now()));
    SG_RETURN_IF_ERROR(tenants_.PutReseller(r));
    changes_.Publish("reseller", id);
  }
  return ResellerShow(id);
}

Result<std::vector<Reseller>> KeyServiceImpl::ResellerList() {
  SG_ASSIGN_OR_RETURN(auto resellers, tenants_.ListResellers());
  SG_ASSIGN_OR_RETURN(auto tenants, tenants_.ListTenants());
  std::map<std::string, std::vector<std::string>> by_reseller;
  for (const auto& t : tenants) {
    if (!t.reseller().empty()) by_reseller[t.reseller()].push_back(t.id());
  }
  std::vector<Reseller> out;
  out.reserve(resellers.size());
  for (const auto& r : resellers) {
    out.push_back(Reseller{r.id(), r.name(), r.created_at(), by_reseller[r.id()]});
  }
  return out;
}

Result<Reseller> KeyServiceImpl::ResellerShow(const std::string& id) {
  SG_ASSIGN_OR_RETURN(std::string norm, NormalizeTenantId(id, "reseller"));
  SG_ASSIGN_OR_RETURN(auto all, ResellerList());
  for (auto& r : all) {
    if (r.id == norm) return std::move(r);
  }
  return NoReseller(norm);
}

Status KeyServiceImpl::ResellerRemove(const std::string& id) {
  SG_ASSIGN_OR_RETURN(std::string norm, NormalizeTenantId(id, "reseller"));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto r, ResellerShow(norm));
  if (!r.tenants.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "reseller " + norm + " still has " + std::to_string(r.tenants.size()) +
                         " tenant(s) (" + r.tenants.front() + (r.tenants.size() > 1 ? ", ..." : "") +
                         "): remove them or give them another reseller first");
  }
  SG_RETURN_IF_ERROR(tenants_.DeleteReseller(norm));
  changes_.Publish("reseller", norm);
  return OkStatus();
}

Status KeyServiceImpl::TenantRemoveDomain(const std::string& domain) {
  SG_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto existing, store_->GetDomain(name));
  if (!existing) return MakeError(ErrorCode::kNotFound, "domain " + name + " is not hosted");
  SG_ASSIGN_OR_RETURN(auto users, ListUsers(name));
  if (!users.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "domain " + name + " still has " + std::to_string(users.size()) +
                         " user(s) (" + users.front().address +
                         (users.size() > 1 ? ", ..." : "") +
                         "): remove them first (`smimegatectl user remove`); their keys stay "
                         "for decryption");
  }
  SG_RETURN_IF_ERROR(validation_->Remove(name));
  UpdateUnvalidatedGauge();
  changes_.Publish("domain", "@" + name);
  return OkStatus();
}

}  // namespace sg::keyservice
