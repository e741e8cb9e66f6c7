// Resellers and tenants (docs/admin-api.md "Tenants and resellers").
#include "admin/admin_handlers.h"

namespace sg::admin {
Answer ListResellers(Call& c) {
  auto list = c.d.tenants.ResellerList();
  if (!list.ok()) return ErrorAnswer(list.error());
  Json out = Json::array();
  for (const auto& r : *list) {
    auto visible = c.access.Reseller(r.id);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (*visible) out.push_back(ToJson(r));
  }
  return {200, Json{{"resellers", out}}};
}

Answer AddReseller(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden("only a super token may add resellers");
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  keyservice::Reseller r;
  auto id = StringField(*body, "id");
  auto name = StringField(*body, "name");
  if (!id.ok()) return ErrorAnswer(id.error());
  if (!name.ok()) return ErrorAnswer(name.error());
  r.id = *id;
  r.name = *name;
  auto added = c.d.tenants.ResellerAdd(r);
  if (!added.ok()) return ErrorAnswer(added.error());
  return {201, ToJson(*added)};
}

Answer ShowReseller(Call& c) {
  const std::string& id = c.params[0];
  if (auto hidden = Hidden(c.access.Reseller(id), "reseller", id)) return *hidden;
  auto r = c.d.tenants.ResellerShow(id);
  if (!r.ok()) return r.error().code == ErrorCode::kNotFound ? NotFound("reseller", id)
                                                              : ErrorAnswer(r.error());
  return {200, ToJson(*r)};
}

Answer RemoveReseller(Call& c) {
  const std::string& id = c.params[0];
  if (auto hidden = Hidden(c.access.Reseller(id), "reseller", id)) return *hidden;
  if (!c.access.scope().is_super()) return Forbidden("only a super token may remove resellers");
  auto st = c.d.tenants.ResellerRemove(id);
  if (!st.ok()) return ErrorAnswer(st.error());
  return {204, nullptr};
}

Answer ListTenants(Call& c) {
  std::string reseller = c.Query("reseller");
  auto list = c.d.tenants.TenantList(reseller);
  if (!list.ok()) return ErrorAnswer(list.error());
  Json out = Json::array();
  for (const auto& t : *list) {
    auto visible = c.access.Tenant(t.id);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (*visible) out.push_back(ToJson(t));
  }
  return {200, Json{{"tenants", out}}};
}

// A reseller token adds tenants of its own reseller only; an existing
// tenant outside the caller's scope cannot be taken over (409: ids are one
// namespace, so that a taken id shows is unavoidable).
Answer AddTenant(Call& c) {
  const Scope& scope = c.access.scope();
  if (scope.kind == Scope::Kind::kTenant) return Forbidden("a tenant token cannot add tenants");
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto id = StringField(*body, "id");
  auto name = StringField(*body, "name");
  auto reseller = StringField(*body, "reseller");
  if (!id.ok()) return ErrorAnswer(id.error());
  if (!name.ok()) return ErrorAnswer(name.error());
  if (!reseller.ok()) return ErrorAnswer(reseller.error());
  keyservice::Tenant t{*id, *name, *reseller};
  if (scope.kind == Scope::Kind::kReseller) {
    if (!t.reseller.empty() && t.reseller != scope.id) {
      return Forbidden("a reseller token adds tenants of its own reseller only");
    }
    t.reseller = scope.id;
  } else if (!t.reseller.empty()) {
    if (auto hidden = Hidden(c.access.Reseller(t.reseller), "reseller", t.reseller)) return *hidden;
  }
  auto existing = c.d.tenants.TenantShow(t.id);
  if (existing.ok()) {
    auto visible = c.access.Tenant(existing->id);
    if (!visible.ok()) return ErrorAnswer(visible.error());
    if (!*visible) return ErrorAnswer(409, "conflict", "tenant id \"" + t.id + "\" is taken");
  }
  auto added = c.d.tenants.TenantAdd(t);
  if (!added.ok()) return ErrorAnswer(added.error());
  return {existing.ok() ? 200 : 201, ToJson(*added)};
}

Answer ShowTenant(Call& c) {
  const std::string& id = c.params[0];
  if (auto hidden = Hidden(c.access.Tenant(id), "tenant", id)) return *hidden;
  auto t = c.d.tenants.TenantShow(id);
  if (!t.ok()) return t.error().code == ErrorCode::kNotFound ? NotFound("tenant", id)
                                                              : ErrorAnswer(t.error());
  return {200, ToJson(*t)};
}

Answer RemoveTenant(Call& c) {
  const std::string& id = c.params[0];
  if (auto hidden = Hidden(c.access.Tenant(id), "tenant", id)) return *hidden;
  if (c.access.scope().kind == Scope::Kind::kTenant) {
    return Forbidden("a tenant token cannot remove its tenant");
  }
  auto st = c.d.tenants.TenantRemove(id);
  if (!st.ok()) return ErrorAnswer(st.error());
  return {204, nullptr};
}

}  // namespace sg::admin
