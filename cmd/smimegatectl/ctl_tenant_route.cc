// smimegatectl tenant route set|clear|show and tenant bind|unbind|bindings
// (docs/tenants.md "Inbound routes", "Relay clients").
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "cmd/smimegatectl/ctl_tenant_call.h"

namespace sg::ctl {
namespace {

struct RouteArgs {
  std::string tenant, tls = "opportunistic", kind, value;
  std::vector<std::string> hosts;
  bool json = false;
};

nlohmann::json RouteJson(const ks::Tenant& t) {
  if (t.route.hosts.empty()) return {{"tenant", t.id}, {"hosts", nlohmann::json::array()}, {"tls", ""}};
  return {{"tenant", t.id}, {"hosts", t.route.hosts}, {"tls", t.route.tls}};
}

nlohmann::json BindingJson(const ks::TenantBinding& b) {
  return {{"kind", b.kind}, {"value", b.value}, {"tenant", b.tenant}};
}

void PrintRoute(const ks::Tenant& t) {
  if (t.route.hosts.empty()) {
    std::cout << "tenant " << t.id << ": no route of its own (egress.inbound of the config)\n";
    return;
  }
  std::string hosts;
  for (const auto& h : t.route.hosts) hosts += (hosts.empty() ? "" : ",") + h;
  std::cout << "tenant " << t.id << ": " << hosts << " tls " << t.route.tls << "\n";
}

void AddRouteGroup(CLI::App& tenant, Ctl& ctl, RouteArgs& a) {
  auto* route = tenant.add_subcommand("route", "a tenant's inbound route: its own mail server")
                    ->require_subcommand(1);
  auto* set = route->add_subcommand("set", "deliver the tenant's inbound mail to these hosts");
  set->add_option("tenant", a.tenant, "tenant id")->required();
  set->add_option("hosts", a.hosts, "host[:port], tried in order")->required();
  set->add_option("--tls", a.tls, "none | opportunistic | required | verify")
      ->capture_default_str();
  set->callback([&] {
    RunTenantCall(
        ctl,
        [&](ks::KeyServiceClient& c) {
          ks::TenantRoute r;
          r.tenant = a.tenant;
          r.hosts = a.hosts;
          r.tls = a.tls;
          return c.TenantRouteSet(r);
        },
        PrintRoute);
  });
  auto* clear = route->add_subcommand("clear", "back to the config file's egress.inbound");
  clear->add_option("tenant", a.tenant, "tenant id")->required();
  clear->callback([&] {
    RunTenantCall(
        ctl, [&](ks::KeyServiceClient& c) { return c.TenantRouteClear(a.tenant); }, PrintRoute);
  });
  auto* show = route->add_subcommand("show", "the tenant's inbound route");
  show->add_option("tenant", a.tenant, "tenant id")->required();
  show->add_flag("--json", a.json, "a JSON object: tenant, hosts, tls");
  show->callback([&] {
    RunTenantCall(
        ctl, [&](ks::KeyServiceClient& c) { return c.TenantShow(a.tenant); }, PrintRoute, &a.json,
        RouteJson);
  });
}

void AddBindGroup(CLI::App& tenant, Ctl& ctl, RouteArgs& a) {
  auto* bind = tenant.add_subcommand(
      "bind", "bind a relay client (AUTH user, certificate subject, network) to a tenant");
  bind->add_option("tenant", a.tenant, "tenant id")->required();
  bind->add_option("kind", a.kind, "user | certificate | network")->required();
  bind->add_option("value", a.value, "AUTH user name, certificate subject or CIDR")->required();
  bind->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto t = c.TenantBind(ks::TenantBinding{a.kind, a.value, a.tenant});
      if (!t.ok()) return Fail(t.error());
      std::cout << a.kind << " " << a.value << " bound to tenant " << t->id << "\n";
      return 0;
    });
  });
  auto* unbind = tenant.add_subcommand("unbind", "remove a relay client's tenant binding");
  unbind->add_option("kind", a.kind, "user | certificate | network")->required();
  unbind->add_option("value", a.value, "AUTH user name, certificate subject or CIDR")->required();
  unbind->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto st = c.TenantUnbind(ks::TenantBinding{a.kind, a.value, ""});
      if (!st.ok()) return Fail(st.error());
      std::cout << "unbound " << a.kind << " " << a.value << "\n";
      return 0;
    });
  });
  auto* list = tenant.add_subcommand("bindings", "relay clients bound to tenants: kind, value, tenant");
  list->add_option("--tenant", a.tenant, "only this tenant's");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      std::vector<ks::TenantBinding> out;
      if (a.tenant.empty()) {
        auto table = c.TenantRouting();
        if (!table.ok()) return Fail(table.error());
        out = table->bindings;
      } else {
        auto t = c.TenantShow(a.tenant);
        if (!t.ok()) return Fail(t.error());
        out = t->bindings;
      }
      if (a.json) return PrintJsonList(out, BindingJson);
      for (const auto& b : out) std::cout << b.kind << "\t" << b.value << "\t" << b.tenant << "\n";
      return 0;
    });
  });
}

}  // namespace

void AddTenantRouteCommands(CLI::App& tenant, Ctl& ctl) {
  auto& a = ctl.Keep<RouteArgs>();
  AddRouteGroup(tenant, ctl, a);
  AddBindGroup(tenant, ctl, a);
}

}  // namespace sg::ctl
