// A tenant's policy override and branding (docs/admin-api.md "Tenant policy
// and branding"). PUT changes the members present in the body (absent ones
// keep their values). Who may change what (docs/tenants.md "Policy"): a
// tenant token its own tenant's web encryption, rules, tags and branding;
// the CA backend only a reseller or super token (it decides who certifies
// the tenant's users, and what that costs).
#include "admin/admin_handlers.h"
#include "admin/admin_tenant_policy_json.h"

namespace sg::admin {
namespace {

// The tenant of the path when the caller may see it; else the answer.
Result<keyservice::Tenant> VisibleTenant(Call& c, std::optional<Answer>& answer) {
  const std::string& id = c.params[0];
  if (auto hidden = Hidden(c.access.Tenant(id), "tenant", id)) {
    answer = *hidden;
    return MakeError(ErrorCode::kNotFound, id);
  }
  auto t = c.d.tenants.TenantShow(id);
  if (!t.ok()) {
    answer =
        t.error().code == ErrorCode::kNotFound ? NotFound("tenant", id) : ErrorAnswer(t.error());
  }
  return t;
}

bool TenantToken(const Call& c) { return c.access.scope().kind == Scope::Kind::kTenant; }

// GET: a part of the visible tenant (`to_json(tenant)`).
template <class ToJson>
Answer ShowPart(Call& c, ToJson to_json) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  return {200, to_json(*t)};
}

// PUT: `merge(body, tenant)` puts the body's members over the tenant's part
// (Result of the new part), `refuse(part, tenant)` may answer instead (an
// empty optional: go on), `set(part)` stores it and answers the tenant.
template <class Merge, class Refuse, class Set, class ToJson>
Answer SetPart(Call& c, Merge merge, Refuse refuse, Set set, ToJson to_json) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto part = merge(*body, *t);
  if (!part.ok()) return ErrorAnswer(part.error());
  if (std::optional<Answer> refused = refuse(*part, *t)) return *refused;
  auto r = set(*part);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {200, to_json(*r)};
}

// DELETE: `clear(tenant)` answers the tenant.
template <class Clear>
Answer ClearPart(Call& c, Clear clear) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  auto r = clear(*t);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {204, nullptr};
}

nlohmann::json PolicyJson(const keyservice::Tenant& t) { return TenantPolicyToJson(t.policy); }
nlohmann::json BrandingJson(const keyservice::Tenant& t) {
  return TenantBrandingToJson(t.branding);
}

}  // namespace

Answer ShowTenantPolicy(Call& c) { return ShowPart(c, PolicyJson); }

Answer SetTenantPolicy(Call& c) {
  return SetPart(
      c,
      [](const nlohmann::json& body, keyservice::Tenant& t) {
        t.policy.tenant = t.id;
        return TenantPolicyFromJson(body, t.policy);
      },
      [&c](const keyservice::TenantPolicy& p,
           const keyservice::Tenant& t) -> std::optional<Answer> {
        if (TenantToken(c) && p.ca_backend != t.policy.ca_backend) {
          return Forbidden("only a reseller or super token may change a tenant's ca_backend");
        }
        return std::nullopt;
      },
      [&c](const keyservice::TenantPolicy& p) { return c.d.tenants.TenantPolicySet(p); },
      PolicyJson);
}

// A tenant token clears what it may change: its CA backend stays.
Answer ClearTenantPolicy(Call& c) {
  return ClearPart(c, [&c](const keyservice::Tenant& t) {
    keyservice::TenantPolicy keep;
    keep.tenant = t.id;
    keep.ca_backend = t.policy.ca_backend;
    const bool keep_ca = TenantToken(c) && !keep.ca_backend.empty();
    return keep_ca ? c.d.tenants.TenantPolicySet(keep) : c.d.tenants.TenantPolicyClear(t.id);
  });
}

Answer ShowTenantBranding(Call& c) { return ShowPart(c, BrandingJson); }

Answer SetTenantBranding(Call& c) {
  return SetPart(
      c,
      [](const nlohmann::json& body, keyservice::Tenant& t) {
        t.branding.tenant = t.id;
        return TenantBrandingFromJson(body, t.branding);
      },
      [](const keyservice::TenantBranding&, const keyservice::Tenant&) -> std::optional<Answer> {
        return std::nullopt;
      },
      [&c](const keyservice::TenantBranding& b) { return c.d.tenants.TenantBrandingSet(b); },
      BrandingJson);
}

Answer ClearTenantBranding(Call& c) {
  return ClearPart(
      c, [&c](const keyservice::Tenant& t) { return c.d.tenants.TenantBrandingClear(t.id); });
}

}  // namespace sg::admin
