// smimegatectl trust add|list|approve|remove
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "keyservice/import_files.h"

namespace sg::ctl {
namespace {

struct TrustArgs {
  std::string file, fingerprint;
  bool pending = false;
  bool source = false;
  bool json = false;
};

void PrintTrusted(const ks::TrustAddResult& r) {
  for (const auto& f : r.fingerprints) std::cout << "trusted " << f << "\n";
  std::cout << r.promoted_pending << " pending certificates are now trusted\n";
}

// `trust list --source`: the bundles first, then one anchor a line with its origin.
int PrintSources(const ks::TrustSourceList& s) {
  std::cout << "mozilla-email\t"
            << (s.mozilla_origin.empty() ? "off"
                                         : s.mozilla_origin + ", extracted " +
                                               Timestamp(s.mozilla_extracted_at * 1000000))
            << "\n";
  std::cout << "system\t" << (s.system_file.empty() ? "off" : s.system_file) << "\n";
  for (const auto& i : s.anchors) {
    std::cout << i.origin << "\t" << i.fingerprint << "\t" << Date(i.not_after) << "\t"
              << i.subject << "\n";
  }
  return 0;
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
  auto* list = trust->add_subcommand("list", "list admin-added anchors (or --pending, --source)");
  list->add_flag("--pending", a.pending, "list harvested certificates waiting for approval");
  list->add_flag("--source", a.source,
                 "every anchor in use with its origin (mozilla-email, system, own-ca, admin, "
                 "approved), and where the bundles came from");
  list->add_flag("--json", a.json, "a JSON array of certificates (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      if (a.source) {
        auto s = c.TrustSources();
        if (!s.ok()) return Fail(s.error());
        if (a.json) return PrintJsonList(s->anchors, CertificateJson);
        return PrintSources(*s);
      }
      auto r = c.ListCertificates("", a.pending ? "pending" : "trust");
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, CertificateJson);
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
