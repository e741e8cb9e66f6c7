// smimegatectl key import|rollover|revoke
#include <cstdlib>
#include <iostream>

#include "cmd/smimegatectl/ctl.h"

namespace sg::ctl {
namespace {

struct KeyArgs {
  std::string file, address, domain, password_file;
  std::string reason = "keyCompromise";
};

Result<std::string> Password(const std::string& password_file) {
  if (!password_file.empty()) {
    SG_ASSIGN_OR_RETURN(std::string p, ReadFile(password_file));
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
    return p;
  }
  const char* env = std::getenv("SMIMEGATE_P12_PASSWORD");
  return std::string(env ? env : "");
}

}  // namespace

void AddKeyCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<KeyArgs>();
  auto* key = app.add_subcommand("key", "private keys")->require_subcommand(1);
  auto* import =
      key->add_subcommand("import", "import a PKCS#12 (.p12/.pfx) key for a user or our domain");
  import->add_option("file", a.file, "PKCS#12 file")->required();
  auto* by_addr = import->add_option("--address", a.address, "the hosted user");
  auto* by_dom = import->add_option("--domain", a.domain, "our hosted domain (domain key)");
  by_addr->excludes(by_dom);
  import->add_option("--password-file", a.password_file,
                     "file holding the password (else $SMIMEGATE_P12_PASSWORD, else empty)");
  import->callback([&] {
    if (a.address.empty() && a.domain.empty()) {
      throw CLI::ValidationError("key import", "give --address or --domain");
    }
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto data = ReadFile(a.file);
      if (!data.ok()) return Fail(data.error());
      auto password = Password(a.password_file);
      if (!password.ok()) return Fail(password.error());
      auto r = c.ImportKey(Owner(a.address, a.domain), *data, *password);
      if (!r.ok()) return Fail(MakeError(r.error().code, a.file + ": " + r.error().message));
      std::cout << "imported key " << r->key_id << " certificate " << r->fingerprint << "\n";
      return 0;
    });
  });
  auto* rollover = key->add_subcommand("rollover", "issue a new key and certificate now");
  rollover->add_option("address", a.address, "the user")->required();
  rollover->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.Rollover(a.address);
      if (!r.ok()) return Fail(r.error());
      std::cout << "new key " << r->key_id << " certificate " << r->fingerprint << "\n";
      return 0;
    });
  });
  auto* revoke = key->add_subcommand(
      "revoke", "revoke the user's current certificate at its CA, then issue a new key");
  revoke->add_option("address", a.address, "the user")->required();
  revoke->add_option("--reason", a.reason,
                     "RFC 5280 reason: keyCompromise (default), superseded, affiliationChanged, "
                     "cessationOfOperation, privilegeWithdrawn, cACompromise, unspecified");
  revoke->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.RevokeKey(a.address, a.reason);
      if (!r.ok()) return Fail(r.error());
      std::cout << "revoked certificate serial " << r->revoked_serial << " ("
                << r->revoked_fingerprint << ", " << a.reason << ")\n"
                << "new key " << r->replacement.key_id << " certificate "
                << r->replacement.fingerprint << "\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
