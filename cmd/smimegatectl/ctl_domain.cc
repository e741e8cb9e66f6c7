// smimegatectl domain add|list
#include <iostream>

#include "cmd/smimegatectl/ctl.h"

namespace sg::ctl {
namespace {

struct DomainArgs {
  std::string domain, tenant;
};

}  // namespace

void AddDomainCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<DomainArgs>();
  auto* dom = app.add_subcommand("domain", "hosted domains")->require_subcommand(1);
  auto* add = dom->add_subcommand("add", "add a hosted domain");
  add->add_option("domain", a.domain, "domain name")->required();
  add->add_option("--tenant", a.tenant, "tenant");
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.AddDomain(ks::Domain{a.domain, a.tenant});
      if (!r.ok()) return Fail(r.error());
      std::cout << "added domain " << a.domain << "\n";
      return 0;
    });
  });
  dom->add_subcommand("list", "list hosted domains")->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListDomains();
      if (!r.ok()) return Fail(r.error());
      for (const auto& d : *r) std::cout << d.name << (d.tenant.empty() ? "" : "\t" + d.tenant) << "\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
