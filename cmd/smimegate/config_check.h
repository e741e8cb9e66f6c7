// The deployment checks of `smimegate check-config` beyond parsing: what
// would stop a stage at start, found before it is started.
//   - the key-encryption key (keyservice stage): present, owner-only file,
//     in its format (keyservice/kek_check.h; never shown);
//   - the ports of the stage's listeners (ingress listeners, metrics,
//     keyservice TCP listener, portal): no two on the same address and port,
//     and each can be bound now. Refused for want of privilege (< 1024
//     without root or NET_BIND_SERVICE) or an address not on this machine is
//     an error; a port in use is a warning (the gateway may be running);
//   - the TLS certificate files (ingress listeners' tls, keyservice.tls,
//     portal.tls): readable, key matching the certificate (the same loading
//     as at start, common/tls_server.h), the leaf not expired (an error) or
//     expiring within 14 days (a warning);
//   - egress.admin of a separately started egress (stage egress, listen
//     set): its port as above; the three egress.admin.tls files readable and
//     loading as above; the certificate of the role egress (URI SAN
//     spiffe://<keyservice.tls.trust_domain>/egress) and for the name
//     smimegate-egress that `smimegatectl queue --egress` verifies. Each
//     error names the key and the fix (`smimegatectl credentials issue
//     --role egress`).
//   - egress.mta_sts.ca_file (MTA-STS enabled): loads as trust anchors.
//
// Threading: runs once on the main thread; binds and closes test sockets.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cmd/smimegate/app.h"
#include "cmd/smimegate/app_config.h"

namespace sg::app {

struct DeploymentCheck {
  std::vector<std::string> errors;    // each names the key and the cause
  std::vector<std::string> warnings;
};

// `now` decides certificate expiry (injected for tests).
DeploymentCheck CheckDeployment(const AppConfig& config, Stage stage,
                                std::chrono::system_clock::time_point now);

}  // namespace sg::app
