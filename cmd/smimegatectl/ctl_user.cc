// smimegatectl user add|remove|list|import
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "keyservice/import_files.h"

namespace sg::ctl {
namespace {

struct UserArgs {
  std::string address, domain, tenant, file;
  bool no_participate = false;
  bool json = false;
};

}  // namespace

void AddUserCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<UserArgs>();
  auto* user = app.add_subcommand("user", "participating users")->require_subcommand(1);

  auto* add = user->add_subcommand("add", "add or update a user");
  add->add_option("address", a.address, "email address")->required();
  add->add_flag("--no-participate", a.no_participate, "registered but not participating");
  add->add_option("--tenant", a.tenant, "tenant");
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.PutUsers({ks::User{a.address, !a.no_participate, a.tenant}});
      if (!r.ok()) return Fail(r.error());
      std::cout << (r->added ? "added " : "updated ") << a.address << "\n";
      return 0;
    });
  });

  auto* remove = user->add_subcommand("remove", "remove a user (keys stay for decryption)");
  remove->add_option("address", a.address, "email address")->required();
  remove->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.RemoveUser(a.address);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed " << a.address << "\n";
      return 0;
    });
  });

  auto* list = user->add_subcommand("list", "list users");
  list->add_option("--domain", a.domain, "only this domain");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListUsers(a.domain);
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, UserJson);
      for (const auto& u : *r) {
        std::cout << u.address << "\t" << (u.participating ? "participating" : "not-participating")
                  << (u.tenant.empty() ? "" : "\t" + u.tenant) << "\n";
      }
      return 0;
    });
  });

  auto* import = user->add_subcommand(
      "import", "import users from CSV: address[,participating[,tenant]] per line");
  import->add_option("file", a.file, "CSV file")->required();
  import->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto text = ReadFile(a.file);
      if (!text.ok()) return Fail(text.error());
      auto users = ks::ParseUsersCsv(*text, a.file);
      if (!users.ok()) return Fail(users.error());
      auto r = c.PutUsers(*users);
      if (!r.ok()) return Fail(r.error());
      std::cout << "imported " << users->size() << " users (" << r->added << " added, "
                << r->updated << " updated)\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
