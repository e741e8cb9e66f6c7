// smimegatectl user add|remove|list|import
#include <iostream>
#include <set>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_directory.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "common/mail/address.h"
#include "keyservice/import_files.h"

namespace sg::ctl {
namespace {

struct UserArgs {
  std::string address, domain, tenant, file;
  bool no_participate = false;
  bool json = false;
  // import --sync
  bool sync = false, dry_run = false;
  std::string source = "csv-import";
  std::vector<std::string> domains;
  int max_disable_percent = -1;
};

// import --sync: the file is the directory of the domains it feeds
// (--domain, else every domain in the file); users of those domains missing
// from it are disabled, then removed after the grace period
// (docs/directory.md).
int SyncImport(ks::KeyServiceClient& c, const UserArgs& a, const std::vector<ks::User>& users,
               int timeout_s) {
  smimegate::keyservice::v1::DirectorySyncRequest req;
  req.set_source(a.source);
  req.set_dry_run(a.dry_run);
  req.set_with_users(true);
  SetGuardOverride(req, a.max_disable_percent);
  std::set<std::string> domains(a.domains.begin(), a.domains.end());
  if (domains.empty()) {
    for (const auto& u : users) domains.insert(mail::DomainOf(u.address));
  }
  for (const auto& d : domains) req.add_domains(d);
  for (const auto& u : users) {
    auto* e = req.add_users();
    e->set_address(u.address);
    e->set_enabled(true);
    e->set_participating(u.participating);
  }
  return RunDirectorySync(c, req, timeout_s);
}

}  // namespace

void AddUserCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<UserArgs>();
  auto* user = app.add_subcommand("user", "participating users")->require_subcommand(1);

  auto* add = user->add_subcommand("add", "add or update a user");
  add->add_option("address", a.address, "email address")->required();
  add->add_flag("--no-participate", a.no_participate, "registered but not participating");
  add->add_option("--tenant", a.tenant, "its domain's tenant (the default; any other is refused)");
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
  import->add_flag("--sync", a.sync,
                   "the file is the directory: users of its domains missing from it are "
                   "disabled, then removed after the grace period");
  import->add_option("--source", a.source, "--sync: the source name its state is kept under")
      ->capture_default_str();
  import->add_option("--domain", a.domains, "--sync: the domains the file feeds (default: its own)");
  import->add_flag("--dry-run", a.dry_run, "--sync: print the planned changes, change nothing");
  AddGuardOverride(*import, a.max_disable_percent);
  import->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto text = ReadFile(a.file);
      if (!text.ok()) return Fail(text.error());
      auto users = ks::ParseUsersCsv(*text, a.file);
      if (!users.ok()) return Fail(users.error());
      if (!a.sync && (a.dry_run || !a.domains.empty() || a.max_disable_percent >= 0)) {
        return Fail(MakeError(ErrorCode::kInvalidArgument,
                              "--dry-run, --domain and --max-disable-percent need --sync"));
      }
      if (a.sync) return SyncImport(c, a, *users, ctl.globals.timeout_s);
      auto r = c.PutUsers(*users);
      if (!r.ok()) return Fail(r.error());
      std::cout << "imported " << users->size() << " users (" << r->added << " added, "
                << r->updated << " updated)\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
