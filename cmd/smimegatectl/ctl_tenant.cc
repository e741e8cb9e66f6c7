// smimegatectl tenant add|list|show|remove and reseller add|list|show|remove
// (docs/tenants.md).
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "keyservice/user_tenant_check.h"

namespace sg::ctl {
namespace {

struct TenantArgs {
  std::string id, name, reseller;
  bool json = false;
};

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out.empty() ? "-" : out;
}

// id  name  reseller  domains
void PrintTenant(const ks::Tenant& t) {
  std::cout << t.id << "\t" << t.name << "\t" << (t.reseller.empty() ? "-" : t.reseller) << "\t"
            << Joined(t.domains) << "\n";
}

void PrintReseller(const ks::Reseller& r) {
  std::cout << r.id << "\t" << r.name << "\t" << Joined(r.tenants) << "\n";
}

// `tenant check`: users whose tenant label is not their domain's tenant
// (keyservice/user_tenant_check.h), each with the command that fixes it;
// exit 1 when there are any, so a script can run it.
int CheckUserTenants(ks::KeyServiceClient& c, bool json) {
  auto users = c.ListUsers("");
  if (!users.ok()) return Fail(users.error());
  auto domains = c.ListDomains();
  if (!domains.ok()) return Fail(domains.error());
  const auto found = ks::UserTenantMismatches(*users, *domains);
  auto fix = [](const ks::UserTenantMismatch& m) {
    return "smimegatectl user add " + m.address + (m.participating ? "" : " --no-participate");
  };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : found) {
      out.push_back({{"address", m.address},
                     {"label", m.label},
                     {"domain", m.domain},
                     {"tenant", m.owner},
                     {"fix", fix(m)}});
    }
    PrintJson(out);
    return found.empty() ? 0 : 1;
  }
  for (const auto& m : found) {
    std::cout << m.address << "\tlabel " << (m.label.empty() ? "(none)" : m.label) << "\tdomain "
              << m.domain << " belongs to tenant " << m.owner << "\tfix: " << fix(m) << "\n";
  }
  std::cout << found.size() << " of " << users->size()
            << " users have a tenant label that is not their domain's tenant\n";
  return found.empty() ? 0 : 1;
}

void AddTenantGroup(CLI::App& app, Ctl& ctl, TenantArgs& a) {
  auto* tenant = app.add_subcommand("tenant", "tenants (customers): own hosted domains")
                     ->require_subcommand(1);
  auto* add = tenant->add_subcommand("add", "add a tenant, or change its name or reseller");
  add->add_option("id", a.id, "stable id: letters, digits, '-'")->required();
  add->add_option("--name", a.name, "display name (default: the id)");
  add->add_option("--reseller", a.reseller, "the reseller selling to it");
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TenantAdd(ks::Tenant{a.id, a.name, a.reseller});
      if (!r.ok()) return Fail(r.error());
      std::cout << "tenant " << r->id << " (" << r->name << ")"
                << (r->reseller.empty() ? "" : " of reseller " + r->reseller) << "\n";
      return 0;
    });
  });
  auto* list = tenant->add_subcommand("list", "tenants: id, name, reseller, domains");
  list->add_option("--reseller", a.reseller, "only this reseller's tenants");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TenantList(a.reseller);
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, TenantJson);
      for (const auto& t : *r) PrintTenant(t);
      return 0;
    });
  });
  auto* show = tenant->add_subcommand("show", "one tenant and its domains");
  show->add_option("id", a.id, "tenant id")->required();
  show->add_flag("--json", a.json, "a JSON object");
  show->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TenantShow(a.id);
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJson(TenantJson(*r));
      std::cout << "id:       " << r->id << "\nname:     " << r->name
                << "\nreseller: " << (r->reseller.empty() ? "-" : r->reseller)
                << "\ncreated:  " << Date(r->created_at) << "\ndomains:  " << Joined(r->domains)
                << "\n";
      return 0;
    });
  });
  auto* remove = tenant->add_subcommand("remove", "remove a tenant without domains");
  remove->add_option("id", a.id, "tenant id")->required();
  remove->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TenantRemove(a.id);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed tenant " << a.id << "\n";
      return 0;
    });
  });
  auto* check = tenant->add_subcommand(
      "check", "users whose tenant label is not their domain's tenant (exit 1 if any)");
  check->add_flag("--json", a.json, "a JSON array: address, label, domain, tenant, fix");
  check->callback(
      [&] { ctl.Run([&](ks::KeyServiceClient& c) { return CheckUserTenants(c, a.json); }); });
  AddTenantRouteCommands(*tenant, ctl);
  AddTenantPolicyCommands(*tenant, ctl);
}

void AddResellerGroup(CLI::App& app, Ctl& ctl, TenantArgs& a) {
  auto* reseller = app.add_subcommand("reseller", "resellers (system houses): own tenants")
                       ->require_subcommand(1);
  auto* add = reseller->add_subcommand("add", "add a reseller, or change its name");
  add->add_option("id", a.id, "stable id: letters, digits, '-'")->required();
  add->add_option("--name", a.name, "display name (default: the id)");
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ResellerAdd(ks::Reseller{a.id, a.name});
      if (!r.ok()) return Fail(r.error());
      std::cout << "reseller " << r->id << " (" << r->name << ")\n";
      return 0;
    });
  });
  auto* list = reseller->add_subcommand("list", "resellers: id, name, tenants");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ResellerList();
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, ResellerJson);
      for (const auto& x : *r) PrintReseller(x);
      return 0;
    });
  });
  auto* show = reseller->add_subcommand("show", "one reseller and its tenants");
  show->add_option("id", a.id, "reseller id")->required();
  show->add_flag("--json", a.json, "a JSON object");
  show->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ResellerShow(a.id);
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJson(ResellerJson(*r));
      std::cout << "id:      " << r->id << "\nname:    " << r->name
                << "\ncreated: " << Date(r->created_at) << "\ntenants: " << Joined(r->tenants)
                << "\n";
      return 0;
    });
  });
  auto* remove = reseller->add_subcommand("remove", "remove a reseller without tenants");
  remove->add_option("id", a.id, "reseller id")->required();
  remove->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ResellerRemove(a.id);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed reseller " << a.id << "\n";
      return 0;
    });
  });
}

}  // namespace

void AddTenantCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<TenantArgs>();
  AddTenantGroup(app, ctl, a);
  AddResellerGroup(app, ctl, a);
}

}  // namespace sg::ctl
