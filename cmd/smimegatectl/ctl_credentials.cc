// smimegatectl credentials issue: client certificates for the keyservice
// API. The key pair is generated here; only the public key travels.
#include <openssl/crypto.h>
#include <unistd.h>

#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "common/host_name.h"
#include "keyservice/credentials_files.h"
#include "keyservice/rpc_roles.h"

namespace sg::ctl {
namespace {

struct CredentialsArgs {
  std::string role, out, name;
  uint32_t validity_days = 0;
};

std::string DefaultName(const std::string& role) {
  const std::string host = HostName("");
  return role + (host.empty() ? std::string() : "@" + host);
}

}  // namespace

void AddCredentialsCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<CredentialsArgs>();
  auto* creds = app.add_subcommand("credentials", "client certificates for the keyservice API")
                    ->require_subcommand(1);
  auto* issue = creds->add_subcommand(
      "issue", "issue credentials with a role (admin only): writes cert.pem, key.pem, ca.pem "
               "(mode 0600) into --out");
  issue->add_option("--role", a.role, "worker | admin | reader | ingress | egress | portal")
      ->required()
      ->check(CLI::IsMember(keyservice::IssuableRoles()));
  issue->add_option("--out", a.out, "directory for the files (created 0700)")->required();
  issue->add_option("--name", a.name, "subject CN (default ROLE@HOSTNAME)");
  issue->add_option("--validity-days", a.validity_days,
                    "validity (default keyservice.tls.client_validity)")
      ->check(CLI::Range(1, 3650));
  issue->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto key = ks::GenerateCredentialKey();
      if (!key.ok()) return Fail(key.error());
      std::string name = a.name.empty() ? DefaultName(a.role) : a.name;
      auto r = c.IssueCredentials(ks::CredentialsRequest{a.role, name, key->public_key_der,
                                                          a.validity_days});
      if (!r.ok()) {
        OPENSSL_cleanse(key->key_pem.data(), key->key_pem.size());
        return Fail(r.error());
      }
      auto st = ks::WriteCredentialsDir(a.out, r->certificate_pem, key->key_pem, r->ca_pem);
      OPENSSL_cleanse(key->key_pem.data(), key->key_pem.size());
      if (!st.ok()) return Fail(MakeError(ErrorCode::kInvalidArgument, "--out: " + st.error().message));
      std::cout << "wrote " << a.role << " credentials for \"" << name << "\" to " << a.out
                << " (cert.pem, key.pem, ca.pem)\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
