// keyservice.admin_api: the admin REST API's listener (docs/admin-api.md,
// docs/configuration.md). Off by default; always HTTPS (a configured
// certificate, else a self-signed one under <data_dir>/admin/tls).
//
// Threading: plain values; parse once at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "admin/admin_client_limit.h"
#include "admin/admin_rate_limit.h"
#include "common/config_node.h"
#include "common/result.h"
#include "common/tls_server.h"

namespace sg::admin {

struct AdminApiConfig {
  bool enabled = false;
  std::string address = "127.0.0.1";
  int port = 8444;  // 0: any free port (tests)
  std::string hostname;  // of the self-signed certificate; default: the host name
  std::optional<tls::ServerFiles> tls;  // unset: self-signed under tls_dir
  std::string tls_dir;
  uint64_t max_body_bytes = 1 << 20;  // larger bodies: 413
  // Reading a request (and writing its answer) may take at most this long.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // Connections served at once (worker threads); more wait for a worker.
  uint32_t max_connections = 8;
  // Requests per second and burst per token (rate_limit_per_token,
  // rate_limit_burst); per_second 0: no limit.
  RateLimit rate_limit;
  // Requests without a valid token per second and burst per client address,
  // and how many client addresses are tracked (rate_limit_unauthenticated_*,
  // admin_client_limit.h); per_second 0: no limit.
  ClientLimit unauthenticated_limit;
  // keyservice.admin_api.portal: where /v1/portal reaches the portal in the
  // distributed mode (the portal pod's portal.admin.listen, mutual TLS with
  // admin credentials). Empty endpoint: the portal of this process
  // (`smimegate run`: its admin socket), or no portal (503).
  struct Portal {
    std::string endpoint;     // host:port
    std::string credentials;  // directory: cert.pem, key.pem, ca.pem (role admin)
    std::string server_name = "smimegate-portal";  // the portal certificate's DNS SAN
  } portal;
};

// Parses `section` (keyservice.admin_api; may be empty: all defaults).
// Relative paths resolve against data_dir. Errors name the key.
Result<AdminApiConfig> ParseAdminApiConfig(const config::ConfigNode& section,
                                           const std::string& data_dir);

}  // namespace sg::admin
