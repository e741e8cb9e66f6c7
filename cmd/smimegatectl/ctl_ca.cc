// smimegatectl ca export
#include "cmd/smimegatectl/ctl.h"

namespace sg::ctl {
namespace {

struct CaArgs {
  std::string out_file;
  bool issuing = false;
};

}  // namespace

void AddCaCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<CaArgs>();
  auto* ca = app.add_subcommand("ca", "the S/MIME CA")->require_subcommand(1);
  auto* exp = ca->add_subcommand("export", "print the root certificate (PEM) for partners");
  exp->add_flag("--issuing", a.issuing, "also print the issuing CA certificate");
  exp->add_option("--out", a.out_file, "write to this file instead of stdout");
  exp->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.CaExport();
      if (!r.ok()) return Fail(r.error());
      return WriteOutput(a.out_file, Pem(r->root_der) + (a.issuing ? Pem(r->issuing_der) : ""));
    });
  });
}

}  // namespace sg::ctl
