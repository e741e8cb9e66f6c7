// smimegatectl cert list|show|export|import
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "common/ascii.h"
#include "keyservice/import_files.h"
#include "keyservice/keyservice_x509.h"

namespace sg::ctl {
namespace {

struct CertArgs {
  std::string address, domain, kind, fingerprint, out_file, file;
  bool json = false;
};

// The one certificate whose fingerprint starts with `prefix`.
Result<ks::CertificateInfo> FindByPrefix(const std::vector<ks::CertificateInfo>& certs,
                                         const std::string& fingerprint) {
  const std::string prefix = AsciiLower(fingerprint);
  const ks::CertificateInfo* found = nullptr;
  for (const auto& i : certs) {
    if (prefix.empty() || i.fingerprint.rfind(prefix, 0) != 0) continue;
    if (found && found->fingerprint != i.fingerprint) {
      return MakeError(ErrorCode::kInvalidArgument, "fingerprint prefix " + fingerprint + " is ambiguous");
    }
    found = &i;
  }
  if (!found) return MakeError(ErrorCode::kNotFound, "no certificate " + fingerprint);
  return *found;
}

// cert import without --address or --domain: the one address the (first)
// certificate names.
Result<std::string> AddressFromCertificate(const std::string& der, const std::string& file) {
  SG_ASSIGN_OR_RETURN(ks::X509Ptr x, ks::ParseCertificateDer(der));
  auto names = ks::EmailAddresses(x.get());
  if (names.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     file + ": the certificate (" + ks::SubjectText(x.get()) +
                         ") names no email address; give --address or --domain");
  }
  if (names.size() > 1) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    return MakeError(ErrorCode::kInvalidArgument,
                     file + ": the certificate names several addresses (" + all + "); give --address");
  }
  return names[0];
}

void AddShowAndExport(CLI::App* cert, Ctl& ctl, CertArgs& a) {
  auto* show = cert->add_subcommand("show", "details and PEM of a certificate");
  show->add_option("fingerprint", a.fingerprint, "fingerprint (or a unique prefix)")->required();
  show->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates("", "");
      if (!r.ok()) return Fail(r.error());
      auto found = FindByPrefix(*r, a.fingerprint);
      if (!found.ok()) return Fail(found.error());
      std::cout << "fingerprint: " << found->fingerprint << "\nkind: " << found->kind
                << "\nowner: " << found->owner << "\nsubject: " << found->subject
                << "\nissuer: " << found->issuer << "\nvalid: " << Date(found->not_before)
                << " .. " << Date(found->not_after) << "\ncurrent: " << (found->current ? "yes" : "no")
                << "\nprivate key: " << (found->has_private_key ? "held by the keyservice" : "no")
                << "\n" << Pem(found->der);
      return 0;
    });
  });
  auto* exp = cert->add_subcommand("export", "PEM of the current certificate of an owner");
  exp->add_option("owner", a.address, "address or @domain")->required();
  exp->add_option("--out", a.out_file, "write to this file instead of stdout");
  exp->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates(a.address, "");
      if (!r.ok()) return Fail(r.error());
      for (const auto& i : *r) {
        if (i.current) return WriteOutput(a.out_file, Pem(i.der));
      }
      return Fail(MakeError(ErrorCode::kNotFound, "no current certificate for " + a.address));
    });
  });
}

}  // namespace

void AddCertCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<CertArgs>();
  auto* cert =
      app.add_subcommand("cert", "certificates (own, partner, pending)")->require_subcommand(1);
  auto* list = cert->add_subcommand("list", "list certificates");
  list->add_option("--owner", a.address, "address or @domain");
  list->add_option("--kind", a.kind, "own|own-domain|partner|partner-domain|pending|trust");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.ListCertificates(a.address, a.kind);
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, CertificateJson);
      for (const auto& i : *r) {
        std::cout << i.fingerprint << "\t" << i.kind << "\t" << (i.owner.empty() ? "-" : i.owner)
                  << "\t" << Date(i.not_before) << ".." << Date(i.not_after)
                  << (i.current ? "\tcurrent" : "") << (i.has_private_key ? "\tkey" : "") << "\t"
                  << i.subject << "\n";
      }
      return 0;
    });
  });
  AddShowAndExport(cert, ctl, a);

  auto* import = cert->add_subcommand(
      "import",
      "import partner certificates (PEM bundle or DER) for an address or a domain; without "
      "--address or --domain, for the address the certificate names");
  import->add_option("file", a.file, "certificate file")->required();
  auto* by_addr = import->add_option("--address", a.address, "the partner address");
  auto* by_dom = import->add_option("--domain", a.domain, "a partner domain (domain certificate)");
  by_addr->excludes(by_dom);
  import->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto data = ReadFile(a.file);
      if (!data.ok()) return Fail(data.error());
      auto der = ks::ParseCertificateFile(*data, a.file);
      if (!der.ok()) return Fail(der.error());
      std::string owner = Owner(a.address, a.domain);
      if (owner.empty()) {
        auto inferred = AddressFromCertificate(der->front(), a.file);
        if (!inferred.ok()) return Fail(inferred.error());
        owner = *inferred;
        std::cout << "address from the certificate: " << owner << "\n";
      }
      auto r = c.ImportCertificates(owner, *der);
      if (!r.ok()) return Fail(MakeError(r.error().code, a.file + ": " + r.error().message));
      for (const auto& f : *r) std::cout << "imported " << f << "\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
