// smimegatectl: manage users, domains, certificates, trust, keys, access and dead letters
// of a running smimegate through the keyservice gRPC API (mutual TLS with
// admin credentials).
//
// The endpoint comes from --endpoint, else from the `keyservice` section of
// --config (default $SMIMEGATE_HOME/smimegate.yaml, SMIMEGATE_HOME default
// ./var, or --home), else the default Unix socket <home>/run/keyservice.sock.
// The credentials come from --credentials DIR or --cert/--key/--ca, else
// keyservice.admin_credentials (default <data_dir>/credentials/admin,
// written by the keyservice at first start).
//
// Each command group is its own file (ctl_<group>.cc); ctl.h lists them and
// the exit codes.
#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_directory.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"smimegatectl: manage smimegate users, domains, certificates, trust and keys"};
  app.require_subcommand(1);
  app.set_version_flag("--version", sg::VersionLine("smimegatectl"));
  sg::ctl::Ctl ctl;
  auto& g = ctl.globals;
  app.add_option("--home", g.home, "smimegate home (default $SMIMEGATE_HOME or ./var)");
  app.add_option("--config", g.config, "config file (default <home>/smimegate.yaml)");
  app.add_option("--endpoint", g.endpoint,
                 "keyservice endpoint host:port or unix:/path (overrides config)");
  app.add_option("--credentials", g.credentials,
                 "directory with cert.pem, key.pem, ca.pem (default keyservice.admin_credentials)");
  app.add_option("--cert", g.cert, "client certificate (PEM); with --key and --ca");
  app.add_option("--key", g.key, "client private key (PEM)");
  app.add_option("--ca", g.ca, "CA certificate that verifies the keyservice (PEM)");
  app.add_option("--server-name", g.server_name,
                 "name in the keyservice's certificate (default keyservice.tls.server_name)");
  app.add_option("--timeout", g.timeout_s, "seconds to wait for the keyservice")
      ->check(CLI::Range(1, 3600));

  sg::ctl::AddUserCommands(app, ctl);
  sg::ctl::AddDomainCommands(app, ctl);
  sg::ctl::AddCertCommands(app, ctl);
  sg::ctl::AddTrustCommands(app, ctl);
  sg::ctl::AddCaCommands(app, ctl);
  sg::ctl::AddKeyCommands(app, ctl);
  sg::ctl::AddCredentialsCommands(app, ctl);
  sg::ctl::AddAuditCommands(app, ctl);
  sg::ctl::AddKekCommands(app, ctl);
  sg::ctl::AddDeadLetterCommands(app, ctl);
  sg::ctl::AddPortalCommands(app, ctl);
  sg::ctl::AddTenantCommands(app, ctl);
  sg::ctl::AddUsageCommands(app, ctl);
  sg::ctl::AddDirectoryCommands(app, ctl);
  sg::ctl::AddQueueCommands(app, ctl);
  sg::ctl::AddTokenCommands(app, ctl);
  sg::ctl::AddPolicyCommands(app, ctl);
  sg::ctl::AddDkimCommands(app, ctl);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return ctl.Execute();
}
