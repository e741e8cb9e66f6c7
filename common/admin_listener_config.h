// A stage's own admin gRPC port (`<stage>.admin`): egress.admin (QueueAdmin
// of an egress pod) and portal.admin (PortalAdmin of a portal pod), served
// by cmd/smimegate/stage_admin_server.h with mutual TLS, admin role only.
//
//   <stage>:
//     admin:
//       listen: 0.0.0.0:7444      # empty (default): off
//       tls:
//         cert_file: credentials/<role>/cert.pem   # the server certificate
//         key_file: credentials/<role>/key.pem
//         client_ca_file: credentials/<role>/ca.pem  # admin certificates chain to it
// The defaults are what `smimegatectl credentials issue --role <role> --out
// <data_dir>/credentials/<role>` writes; relative paths resolve against
// data_dir.
//
// Threading: plain values; parse once at start-up.
#pragma once

#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace sg {

struct AdminListenerConfig {
  std::string listen;          // "host:port"; empty: off
  std::string cert_file;       // absolute; the server certificate (role <role>)
  std::string key_file;        // absolute
  std::string client_ca_file;  // absolute; admin certificates chain to it
};

// Parses the `admin` map `admin` (may be empty). Errors name the key: a
// listen that is not host:port with a port 1-65535.
Result<AdminListenerConfig> ParseAdminListener(const config::ConfigNode& admin,
                                               const std::string& role,
                                               const std::string& data_dir);

}  // namespace sg
