// Hosted domains (docs/admin-api.md "Domains"): adding or removing one
// reaches the MX listener within seconds through the keyservice's change
// events (kind "domain", docs/tenants.md).
#include "admin/admin_handlers.h"
#include "common/mail/address.h"

namespace sg::admin {
namespace {

// The hosted domain `name` as the registry shows it, when in scope.
Result<std::optional<keyservice::Domain>> FindDomain(Call& c, const std::string& name) {
  SG_ASSIGN_OR_RETURN(bool visible, c.access.Domain(name));
  if (!visible) return std::optional<keyservice::Domain>();
  SG_ASSIGN_OR_RETURN(auto list, c.d.keys.ListDomains());
  SG_ASSIGN_OR_RETURN(std::string normal, mail::NormalizeDomain(name));
  for (auto& d : list) {
    if (d.name == normal) return std::optional<keyservice::Domain>(std::move(d));
  }
  return std::optional<keyservice::Domain>();
}

}  // namespace

Answer ListDomains(Call& c) {
  const std::string tenant = c.Query("tenant");
  auto list = c.d.keys.ListDomains();
  if (!list.ok()) return ErrorAnswer(list.error());
  Json out = Json::array();
  for (const auto& d : *list) {
    if (!tenant.empty() && d.tenant != tenant) continue;
    auto visible = c.access.Tenant(d.tenant);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (*visible) out.push_back(ToJson(d));
  }
  return {200, Json{{"domains", out}}};
}

// The tenant defaults to a tenant token's own; a reseller or super token
// names it. A domain hosted by a tenant outside the scope is not moved (409).
Answer AddDomain(Call& c) {
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto name = StringField(*body, "name");
  auto tenant = StringField(*body, "tenant");
  if (!name.ok()) return ErrorAnswer(name.error());
  if (!tenant.ok()) return ErrorAnswer(tenant.error());
  if (name->empty()) return ErrorAnswer(400, "invalid_argument", "\"name\" is required");
  auto normal = mail::NormalizeDomain(*name);
  if (!normal.ok()) return ErrorAnswer(normal.error());
  keyservice::Domain d{*normal, *tenant};
  const Scope& scope = c.access.scope();
  if (d.tenant.empty() && scope.kind == Scope::Kind::kTenant) d.tenant = scope.id;
  if (d.tenant.empty() && scope.kind == Scope::Kind::kReseller) {
    return ErrorAnswer(400, "invalid_argument", "\"tenant\" is required with a reseller token");
  }
  if (!d.tenant.empty()) {
    if (auto hidden = Hidden(c.access.Tenant(d.tenant), "tenant", d.tenant)) return *hidden;
  }
  auto owner = c.access.TenantOf(d.name);
  if (!owner.ok()) return ErrorAnswer(owner.error());
  if (*owner) {
    auto visible = c.access.Tenant(**owner);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (!*visible) return ErrorAnswer(409, "conflict", "domain \"" + d.name + "\" is hosted already");
  }
  auto st = c.d.keys.AddDomain(d);
  if (!st.ok()) return ErrorAnswer(st.error());
  auto list = c.d.keys.ListDomains();
  if (!list.ok()) return ErrorAnswer(list.error());
  for (const auto& x : *list) {
    if (x.name == d.name) return {*owner ? 200 : 201, ToJson(x)};
  }
  return {201, ToJson(d)};
}

Answer ShowDomain(Call& c) {
  const std::string& name = c.params[0];
  auto d = FindDomain(c, name);
  if (!d.ok()) return ErrorAnswer(d.error());
  if (!*d) return NotFound("domain", name);
  return {200, ToJson(**d)};
}

Answer RemoveDomain(Call& c) {
  const std::string& name = c.params[0];
  if (auto hidden = Hidden(c.access.Domain(name), "domain", name)) return *hidden;
  auto st = c.d.tenants.TenantRemoveDomain(*mail::NormalizeDomain(name));
  if (!st.ok()) return ErrorAnswer(st.error());
  return {204, nullptr};
}

}  // namespace sg::admin
