// AdminServer: the admin REST API (admin_api.h) on its own HTTPS listener
// (keyservice.admin_api, admin_config.h), run by the keyservice stage
// (`smimegate keyservice`, and `smimegate run` in-process).
//
// cpp-httplib's SSLServer with the TLS settings of every smimegate listener
// (common/tls_server.h). Limits (docs/admin-api.md "Limits"): a body larger
// than max_body_bytes answers 413 before it is read, a chunked body 411; a
// request must arrive within request_timeout; at most max_connections
// connections are served at once (one worker thread each; more wait for a
// worker). Every answer is JSON; httplib's own errors too.
//
// Metrics: smimegate_admin_api_requests_total{code} (code: "ok" or the
// JSON error code: unauthenticated, not_found, payload_too_large,
// rate_limited, ...); smimegate_admin_api_rate_limited_total{limit} (the
// 429s by the limit that refused them: token, client_address,
// client_table_full; admin_api.h).
//
// Threading: Start/Stop from the main thread; requests on the workers.
// Ownership: borrows the API's dependencies (they outlive the server).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "admin/admin_api.h"
#include "admin/admin_config.h"
#include "common/metrics.h"
#include "common/service.h"

namespace httplib {
class SSLServer;
}  // namespace httplib

namespace sg::admin {

class AdminServer : public Service {
 public:
  AdminServer(AdminApiConfig config, ApiDeps deps, metrics::Registry& registry);
  ~AdminServer() override;

  std::string Name() const override { return "admin_api"; }
  // Loads the certificate (configured, else self-signed under tls_dir) and
  // binds. kUnavailable naming the address when it is taken;
  // kInvalidArgument for certificate files.
  Status Start() override;
  void Stop() override;
  bool Ready() const override;
  int port() const { return port_; }
  // The portal's admin for /v1/portal (admin_api.h); before Start.
  void SetPortal(PortalAdminApi* portal) { api_.SetPortal(portal); }

 private:
  Status MakeServer();
  void ConfigureServer();
  Status Bind();
  void Count(const std::string& code);

  AdminApiConfig config_;
  AdminApi api_;
  const Clock& clock_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& rate_limited_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  int port_ = 0;
};

}  // namespace sg::admin
