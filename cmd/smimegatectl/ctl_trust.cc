// smimegatectl trust add|list|approve|remove
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "keyservice/import_files.h"

namespace sg::ctl {
namespace {

struct TrustArgs {
  std::string file, fingerprint;
  bool pending = false;
};

void PrintTrusted(const ks::TrustAddResult& r) {
  for (const auto& f : r.fingerprints) std::cout << "trusted " << f << "\n";
  std::cout << r.promoted_pending << " pending certificates are now trusted\n";
}

}  // namespace

void AddTrustCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<TrustArgs>();
  auto* trust =
      app.add_subcommand("trust", "trust anchors for partner certificates")->require_subcommand(1);
  auto* add = trust->add_subcommand("add", "trust CA certificates (PEM bundle or DER)");
  add->add_option("file", a.file, "CA certificate file")->required();
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto data = ReadFile(a.file);
      if (!data.ok()) return Fail(data.error());
      auto der = ks::ParseCertificateFile(*data, a.file);
      if (!der.ok()) return Fail(der.error());
      auto r = c.TrustAdd(*der);
      if (!r.ok()) return Fail(MakeError(r.error().code, a.file + ": " + r.error().message));
      PrintTrusted(*r);
      return 0;
    });
  });
  auto* list = trust->add_subcommand("list", "list admin-added anchors (or --pending)");
  list->add_flag("--pending", a.pending, "list harvested certificates waiting for approval");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates("", a.pending ? "pending" : "trust");
      if (!r.ok()) return Fail(r.error());
      for (const auto& i : *r) {
        std::cout << i.fingerprint << "\t" << (i.owner.empty() ? "" : i.owner + "\t")
                  << Date(i.not_after) << "\t" << i.subject << "\tissuer: " << i.issuer << "\n";
      }
      return 0;
    });
  });
  auto* approve = trust->add_subcommand("approve", "trust the CA of a pending certificate");
  approve->add_option("fingerprint", a.fingerprint, "pending certificate fingerprint")->required();
  approve->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TrustApprovePending(a.fingerprint);
      if (!r.ok()) return Fail(r.error());
      PrintTrusted(*r);
      return 0;
    });
  });
  auto* remove = trust->add_subcommand("remove", "remove an admin-added anchor");
  remove->add_option("fingerprint", a.fingerprint, "anchor fingerprint")->required();
  remove->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.TrustRemove(a.fingerprint);
      if (!r.ok()) return Fail(r.error());
      std::cout << "removed " << a.fingerprint << "\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
