// smimegatectl dkim keygen|list|activate|remove (docs/dkim.md): the DKIM
// keys of hosted domains, over the keyservice's gRPC service Dkim.
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "keyservice/dkim_keys.h"

namespace sg::ctl {
namespace {

struct DkimArgs {
  std::string domain, selector, algorithm = "rsa";
  bool json = false;
};

// What an operator publishes: the zone file line, then the next step.
void PrintRecord(const ks::DkimKeyInfo& k) {
  std::cout << ks::DkimZoneLine(k.record_name, k.record_value) << "\n";
}

void AddKeygen(CLI::App& dkim, Ctl& ctl, DkimArgs& a) {
  auto* keygen = dkim.add_subcommand(
      "keygen", "generate a DKIM key for a hosted domain and print its DNS TXT record");
  keygen->add_option("domain", a.domain, "the hosted domain")->required();
  keygen->add_option("--selector", a.selector, "selector (default: sg<yyyymmdd>)");
  keygen->add_option("--algorithm", a.algorithm, "rsa (RSA-2048, default) or ed25519")
      ->check(CLI::IsMember({"rsa", "ed25519"}));
  keygen->add_flag("--json", a.json, "print JSON");
  keygen->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto k = c.DkimKeygen(a.domain, a.selector, a.algorithm);
      if (!k.ok()) return Fail(k.error());
      if (a.json) return PrintJson(ks::DkimKeyJson(*k));
      PrintRecord(*k);
      std::cerr << "publish this record, then: smimegatectl dkim activate " << k->domain << " "
                << k->selector << "\n";
      return 0;
    });
  });
}

}  // namespace

void AddDkimCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<DkimArgs>();
  auto* dkim =
      app.add_subcommand("dkim", "DKIM signing keys of hosted domains")->require_subcommand(1);
  AddKeygen(*dkim, ctl, a);
  auto* list = dkim->add_subcommand("list", "DKIM keys (of one domain)");
  list->add_option("domain", a.domain, "the hosted domain (default: all)");
  list->add_flag("--json", a.json, "print JSON");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto keys = c.DkimList(a.domain);
      if (!keys.ok()) return Fail(keys.error());
      if (a.json) return PrintJsonList(*keys, ks::DkimKeyJson);
      for (const auto& k : *keys) {
        std::cout << k.domain << " " << k.selector << " " << k.algorithm << " " << k.state << " "
                  << Date(k.created_at) << "\n";
      }
      return 0;
    });
  });
  auto* activate = dkim->add_subcommand(
      "activate", "sign with this selector from now on (the active one before is retired)");
  activate->add_option("domain", a.domain, "the hosted domain")->required();
  activate->add_option("selector", a.selector, "the selector")->required();
  activate->add_flag("--json", a.json, "print JSON");
  activate->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto k = c.DkimActivate(a.domain, a.selector);
      if (!k.ok()) return Fail(k.error());
      if (a.json) return PrintJson(ks::DkimKeyJson(*k));
      std::cout << "DKIM key " << k->selector << " of " << k->domain << " is active\n";
      return 0;
    });
  });
  auto* remove = dkim->add_subcommand("remove", "delete a key that is not active");
  remove->add_option("domain", a.domain, "the hosted domain")->required();
  remove->add_option("selector", a.selector, "the selector")->required();
  remove->add_flag("--json", a.json, "print JSON");
  remove->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto st = c.DkimRemove(a.domain, a.selector);
      if (!st.ok()) return Fail(st.error());
      if (a.json) {
        return PrintJson({{"removed", true}, {"domain", a.domain}, {"selector", a.selector}});
      }
      std::cout << "DKIM key " << a.selector << " of " << a.domain
                << " removed (its DNS record may go now)\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
