// A tenant's inbound route and its relay-client bindings (docs/admin-api.md
// "Routes and bindings", docs/tenants.md "Inbound routes", "Relay clients
// bound in the registry"). Hosts, TLS policies and bindings are validated
// by the keyservice exactly as for smimegatectl (tenant_routing.h).
//
// Who may change what: the route carries only the tenant's own inbound mail
// to its own server, so its tenant's token may set and clear it. A binding
// decides which tenant's domains (and keys) a relay client may send as, and
// the registry's binding of an identity wins over the config file's (which
// the keyservice cannot see), so any binding made below the provider could
// capture a client configured for another tenant: only a super token adds
// or removes bindings; reseller and tenant tokens read them (403 otherwise).
#include "admin/admin_handlers.h"
#include "keyservice/tenant_routing.h"

namespace sg::admin {
namespace {

Json RouteJson(const keyservice::Tenant& t) {
  if (t.route.hosts.empty()) {
    return {{"tenant", t.id}, {"hosts", Json::array()}, {"tls", ""}};
  }
  return {{"tenant", t.id}, {"hosts", t.route.hosts}, {"tls", t.route.tls}};
}

Json BindingJson(const keyservice::TenantBinding& b) {
  return {{"kind", b.kind}, {"value", b.value}, {"tenant", b.tenant}};
}

// The tenant of the path when in scope; else the answer (404 or the store's error).
Result<std::optional<keyservice::Tenant>> TenantInScope(Call& c) {
  const std::string& id = c.params[0];
  SG_ASSIGN_OR_RETURN(bool visible, c.access.Tenant(id));
  if (!visible) return std::optional<keyservice::Tenant>();
  auto t = c.d.tenants.TenantShow(id);
  if (!t.ok() && t.error().code == ErrorCode::kNotFound) return std::optional<keyservice::Tenant>();
  if (!t.ok()) return t.error();
  return std::optional<keyservice::Tenant>(std::move(*t));
}

// A string array member ("hosts"); kInvalidArgument when not one.
Result<std::vector<std::string>> StringList(const Json& body, const std::string& key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "\"" + key + "\" must be an array of strings");
  }
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "\"" + key + "\" must be an array of strings");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

Answer ShowRoute(Call& c) {
  auto t = TenantInScope(c);
  if (!t.ok()) return ErrorAnswer(t.error());
  if (!*t) return NotFound("tenant", c.params[0]);
  return {200, RouteJson(**t)};
}

// PUT {"hosts": ["mx.example:25", ...], "tls": "none|opportunistic|required|verify"}
Answer SetRoute(Call& c) {
  auto t = TenantInScope(c);
  if (!t.ok()) return ErrorAnswer(t.error());
  if (!*t) return NotFound("tenant", c.params[0]);
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto hosts = StringList(*body, "hosts");
  if (!hosts.ok()) return ErrorAnswer(hosts.error());
  auto tls = StringField(*body, "tls");
  if (!tls.ok()) return ErrorAnswer(tls.error());
  keyservice::TenantRoute route;
  route.tenant = (*t)->id;
  route.hosts = *hosts;
  if (!tls->empty()) route.tls = *tls;
  auto set = c.d.tenants.TenantRouteSet(route);
  if (!set.ok()) return ErrorAnswer(set.error());
  return {200, RouteJson(*set)};
}

Answer ClearRoute(Call& c) {
  auto t = TenantInScope(c);
  if (!t.ok()) return ErrorAnswer(t.error());
  if (!*t) return NotFound("tenant", c.params[0]);
  auto cleared = c.d.tenants.TenantRouteClear((*t)->id);
  if (!cleared.ok()) return ErrorAnswer(cleared.error());
  return {204, nullptr};
}

Answer ListBindings(Call& c) {
  auto t = TenantInScope(c);
  if (!t.ok()) return ErrorAnswer(t.error());
  if (!*t) return NotFound("tenant", c.params[0]);
  Json out = Json::array();
  for (const auto& b : (*t)->bindings) out.push_back(BindingJson(b));
  return {200, Json{{"bindings", out}}};
}

// POST {"kind": "user|certificate|network", "value": "..."}: super only.
Answer AddBinding(Call& c) {
  auto t = TenantInScope(c);
  if (!t.ok()) return ErrorAnswer(t.error());
  if (!*t) return NotFound("tenant", c.params[0]);
  if (!c.access.scope().is_super()) {
    return Forbidden(
        "only a super token may bind relay clients (a binding decides which "
        "tenant's domains a client may send as)");
  }
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto kind = StringField(*body, "kind");
  auto value = StringField(*body, "value");
  if (!kind.ok()) return ErrorAnswer(kind.error());
  if (!value.ok()) return ErrorAnswer(value.error());
  auto norm = keyservice::NormalizeTenantBinding({*kind, *value, (*t)->id});
  if (!norm.ok()) return ErrorAnswer(norm.error());
  for (const auto& b : (*t)->bindings) {
    if (b.kind == norm->kind && b.value == norm->value) return {200, BindingJson(b)};
  }
  auto bound = c.d.tenants.TenantBind(*norm);
  if (!bound.ok()) return ErrorAnswer(bound.error());
  return {201, BindingJson(*norm)};
}

// DELETE /v1/tenants/{id}/bindings/{kind}/{value} (value percent-encoded):
// super only; 404 when the tenant has no such binding.
Answer RemoveBinding(Call& c) {
  auto t = TenantInScope(c);
  if (!t.ok()) return ErrorAnswer(t.error());
  if (!*t) return NotFound("tenant", c.params[0]);
  if (!c.access.scope().is_super()) {
    return Forbidden(
        "only a super token may unbind relay clients (an unbound client is no "
        "longer confined to its tenant's domains)");
  }
  const std::string& kind = c.params[1];
  const std::string& value = c.params[2];
  auto norm = keyservice::NormalizeTenantBinding({kind, value, (*t)->id});
  if (!norm.ok()) return ErrorAnswer(norm.error());
  bool found = false;
  for (const auto& b : (*t)->bindings)
    found = found || (b.kind == norm->kind && b.value == norm->value);
  if (!found) return NotFound("binding", kind + " " + value);
  auto st = c.d.tenants.TenantUnbind(*norm);
  if (!st.ok()) return ErrorAnswer(st.error());
  return {204, nullptr};
}

}  // namespace sg::admin
