// smimegatectl domain add|remove|list|validate
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"

namespace sg::ctl {
namespace {

struct DomainArgs {
  std::string domain, tenant;
  bool json = false;
};

// "valid until 2027-12-06", "pending: <reason>", "failed: <reason>",
// "not required (builtin)", "not requested".
std::string ValidationText(const ks::Domain& d) {
  if (d.validation_state == "valid") return "valid until " + Date(d.valid_until);
  if (d.validation_state == "pending") {
    return "pending (next check " + Date(d.next_check_at) + "): " + d.validation_reason;
  }
  if (d.validation_state == "failed") return "failed: " + d.validation_reason;
  if (!d.needs_validation) return "not required (" + d.ca_backend + ")";
  return "not requested (`smimegatectl domain validate " + d.name + "`)";
}

}  // namespace

void AddDomainCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<DomainArgs>();
  auto* dom = app.add_subcommand("domain", "hosted domains")->require_subcommand(1);
  auto* add = dom->add_subcommand("add", "add a hosted domain");
  add->add_option("domain", a.domain, "domain name")->required();
  add->add_option("--tenant", a.tenant,
                  "the tenant owning it (`smimegatectl tenant add`); default: a new domain "
                  "goes to the default tenant, an existing one keeps its tenant");
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.AddDomain(ks::Domain{a.domain, a.tenant});
      if (!r.ok()) return Fail(r.error());
      std::cout << "added domain " << a.domain << (a.tenant.empty() ? "" : " to tenant " + a.tenant)
                << "\n";
      return 0;
    });
  });
  auto* remove = dom->add_subcommand(
      "remove", "stop hosting a domain without users (mail to it is refused within seconds)");
  remove->add_option("domain", a.domain, "domain name")->required();
  remove->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TenantRemoveDomain(a.domain);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed domain " << a.domain << "\n";
      return 0;
    });
  });
  auto* list =
      dom->add_subcommand("list", "list hosted domains, their CA backend and validation state");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListDomains();
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, DomainJson);
      for (const auto& d : *r) {
        std::cout << d.name << "\t" << (d.tenant.empty() ? "-" : d.tenant) << "\t" << d.ca_backend
                  << "\t" << ValidationText(d) << "\n";
      }
      return 0;
    });
  });
  auto* validate = dom->add_subcommand(
      "validate", "prove control of a hosted domain by DNS (needed by a public CA backend)");
  validate->add_option("domain", a.domain, "domain name")->required();
  validate->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ValidateDomain(a.domain);
      if (!r.ok()) return Fail(r.error());
      std::cout << "domain " << r->name << ": " << ValidationText(*r) << "\n"
                << "publish this TXT record (the keyservice checks it until found):\n"
                << "  name:  " << r->record_name << "\n"
                << "  value: " << r->record_value << "\n"
                << "  zone file: " << r->record_name << ". 3600 IN TXT \"" << r->record_value
                << "\"\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
