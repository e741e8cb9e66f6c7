// smimegatectl ca export
#include "cmd/smimegatectl/ctl.h"

namespace sg::ctl {
namespace {

struct CaArgs {
  std::string out_file;
  std::string label;
  bool issuing = false;
};

// One CA: its root (and issuing CA). Several: each preceded by a comment
// line "# <label> (<backend>)", which PEM readers skip.
Result<std::string> ExportText(const ks::CaCertificates& cas, const CaArgs& a) {
  auto pems = [&](const std::string& root, const std::string& issuing) {
    return Pem(root) + (a.issuing ? Pem(issuing) : "");
  };
  if (!a.label.empty()) {
    std::string known;
    for (const auto& c : cas.all) {
      if (c.label == a.label) return pems(c.root_der, c.issuing_der);
      known += (known.empty() ? "" : ", ") + c.label;
    }
    return MakeError(ErrorCode::kNotFound, "no CA labelled \"" + a.label + "\" (have: " + known + ")");
  }
  if (cas.all.size() <= 1) return pems(cas.root_der, cas.issuing_der);
  std::string out;
  for (const auto& c : cas.all) {
    out += "# " + c.label + " (" + c.backend + ")\n" + pems(c.root_der, c.issuing_der);
  }
  return out;
}

}  // namespace

void AddCaCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<CaArgs>();
  auto* ca = app.add_subcommand("ca", "the S/MIME CA")->require_subcommand(1);
  auto* exp = ca->add_subcommand(
      "export",
      "print the root certificate (PEM) for partners; with per-domain CAs every root, each "
      "after a line \"# <label> (<backend>)\"");
  exp->add_flag("--issuing", a.issuing, "also print the issuing CA certificate");
  exp->add_option("--label", a.label, "only this CA: \"default\" or a domain of keyservice.ca.domains");
  exp->add_option("--out", a.out_file, "write to this file instead of stdout");
  exp->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.CaExport();
      if (!r.ok()) return Fail(r.error());
      auto text = ExportText(*r, a);
      if (!text.ok()) return Fail(text.error());
      return WriteOutput(a.out_file, *text);
    });
  });
}

}  // namespace sg::ctl
