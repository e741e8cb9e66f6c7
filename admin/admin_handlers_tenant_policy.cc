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

}  // namespace

Answer ShowTenantPolicy(Call& c) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  return {200, TenantPolicyToJson(t->policy)};
}

Answer SetTenantPolicy(Call& c) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  t->policy.tenant = t->id;
  auto p = TenantPolicyFromJson(*body, t->policy);
  if (!p.ok()) return ErrorAnswer(p.error());
  if (TenantToken(c) && p->ca_backend != t->policy.ca_backend) {
    return Forbidden("only a reseller or super token may change a tenant's ca_backend");
  }
  auto r = c.d.tenants.TenantPolicySet(*p);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {200, TenantPolicyToJson(r->policy)};
}

// A tenant token clears what it may change: its CA backend stays.
Answer ClearTenantPolicy(Call& c) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  keyservice::TenantPolicy keep;
  keep.tenant = t->id;
  keep.ca_backend = t->policy.ca_backend;
  const bool keep_ca = TenantToken(c) && !keep.ca_backend.empty();
  auto r = keep_ca ? c.d.tenants.TenantPolicySet(keep) : c.d.tenants.TenantPolicyClear(t->id);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {204, nullptr};
}

Answer ShowTenantBranding(Call& c) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  return {200, TenantBrandingToJson(t->branding)};
}

Answer SetTenantBranding(Call& c) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  t->branding.tenant = t->id;
  auto b = TenantBrandingFromJson(*body, t->branding);
  if (!b.ok()) return ErrorAnswer(b.error());
  auto r = c.d.tenants.TenantBrandingSet(*b);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {200, TenantBrandingToJson(r->branding)};
}

Answer ClearTenantBranding(Call& c) {
  std::optional<Answer> answer;
  auto t = VisibleTenant(c, answer);
  if (!t.ok()) return *answer;
  auto r = c.d.tenants.TenantBrandingClear(t->id);
  if (!r.ok()) return ErrorAnswer(r.error());
  return {204, nullptr};
}

}  // namespace sg::admin
