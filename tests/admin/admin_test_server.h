// A keyservice in a temporary directory with the admin REST API on a free
// loopback port (self-signed certificate), a fixture of resellers, tenants,
// domains, users and certificates, and a client for the tests of tests/admin.
//
//   reseller r1: tenants a (a.example: ann@), c (c.example: cat@)
//   reseller r2: tenant b (b.example: bob@)
//   tenant default: default.example
// The portal's admin is a FakePortalAdmin with its fixture (portal()).
// Every user has a current certificate (issued by the built-in CA); tenant
// b has a relay client bound (network 192.0.2.0/24). The per-token rate
// limit and the per-client limit before authentication are off unless a
// test passes them.
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <string>

#include "admin/admin_server.h"
#include "admin/admin_tokens.h"
#include "common/metrics.h"
#include "keyservice/key_service_impl.h"
#include "tests/admin/fake_portal_admin.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::admin::testing {

struct HttpAnswer {
  int status = 0;  // 0: no answer (connection failed)
  std::string body;
  std::string allow;
  std::string www_authenticate;
  std::string content_type;
  std::string retry_after;
};

class AdminTestServer {
 public:
  // `adjust` may change the API's config before the server starts.
  explicit AdminTestServer(uint64_t max_body_bytes = 1 << 20, RateLimit rate_limit = {0, 1},
                           ClientLimit client_limit = {{0, 1}, 1});
  ~AdminTestServer();

  keyservice::KeyServiceImpl& ks() { return *ks_; }
  AdminTokens& tokens() { return *tokens_; }
  FakePortalAdmin& portal() { return portal_; }
  // Another portal for /v1/portal (null: none); before the first call.
  void SetPortal(PortalAdminApi* portal) { server_->SetPortal(portal); }
  metrics::Registry& registry() { return registry_; }
  sg::testing::FakeClock& clock() { return clock_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // A new token of `scope` ("super", "reseller:r1", "tenant:a").
  std::string Token(const std::string& scope);
  // The fingerprint of a user's current certificate.
  std::string CertificateOf(const std::string& address);

  // `source`: the client's own address ("127.0.0.2": any of 127/8 works
  // on Linux), to be another client; "" the default.
  HttpAnswer Call(const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = "",
                  const std::string& content_type = "application/json",
                  const std::string& source = "");

 private:
  keyservice::testing::TempDir dir_;
  metrics::Registry registry_;
  sg::testing::FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<keyservice::KeyServiceImpl> ks_;
  std::unique_ptr<AdminTokens> tokens_;
  FakePortalAdmin portal_;
  std::unique_ptr<AdminServer> server_;
};

}  // namespace sg::admin::testing
