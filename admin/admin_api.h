// AdminApi: the admin REST API without its transport (docs/admin-api.md):
// authentication (bearer tokens, admin_tokens.h), routing (admin_routes.h),
// authorisation by scope (admin_access.h), the handlers
// (admin_handlers_*.cc) and one audit record per call. AdminServer
// (admin_server.h) puts it on an HTTPS listener.
//
// Answers are JSON; errors are {"error":{"code":"...","message":"..."}} with
// the HTTP status of the code (admin_json.h). A call without a valid token
// answers 401 whatever the path, so the route table is not probed without
// one. An object outside the caller's scope answers 404 with exactly the
// body of an object that does not exist.
//
// Threading: Handle is thread-safe (every dependency is); it blocks on the
// keyservice store. Ownership: every dependency is borrowed and must
// outlive the AdminApi.
#pragma once

#include <map>
#include <string>

#include "admin/admin_client_limit.h"
#include "admin/admin_portal.h"
#include "admin/admin_rate_limit.h"
#include "admin/admin_tokens.h"
#include "common/clock.h"
#include "keyservice/audit.h"
#include "keyservice/dkim_admin.h"
#include "keyservice/key_admin.h"
#include "keyservice/key_service.h"
#include "keyservice/tenant_admin.h"
#include "keyservice/usage_admin.h"

namespace sg::admin {

struct ApiDeps {
  keyservice::KeyAdmin& keys;
  keyservice::TenantAdmin& tenants;
  keyservice::KeyService& service;  // TenantDomains: which tenant owns a domain
  keyservice::AuditSink& audit;
  TokenVerifier& tokens;  // AdminTokens
  const Clock& clock;
  keyservice::UsageAdmin& usage;  // GET /v1/usage, PUT /v1/domains/{name}/total-users
  keyservice::DkimAdmin& dkim;    // /v1/domains/{name}/dkim (docs/dkim.md)
};

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // raw path, percent-encoded segments
  std::map<std::string, std::string> query;  // decoded
  std::string authorization;  // the Authorization header
  std::string client_address;  // the peer's IP address (the client limit's key)
  std::string body;
};

struct ApiReply {
  int status = 200;
  std::string body;  // JSON text (or content_type's)
  std::string content_type = "application/json";
  std::string allow;         // 405: the methods the path has
  bool unauthenticated = false;  // 401: add WWW-Authenticate
  int64_t retry_after = 0;       // 429: seconds, for Retry-After
  // 429: which limit refused it: "token", "client_address" or
  // "client_table_full" (the metric's label); empty otherwise.
  std::string limited;
};

struct ApiLimits {
  RateLimit per_token{0, 1};          // after authentication, per token id
  ClientLimit per_client{{0, 1}, 1};  // before authentication, per client address
};

// Limits (both answer 429 rate_limited with Retry-After):
//  - before the token is checked, per client address (admin_client_limit.h):
//    a client whose requests keep failing authentication is refused without
//    its token being looked at; such refusals are audited (and logged) once
//    per client per minute, not one by one;
//  - after authentication and before routing, per token (admin_rate_limit.h).
// The default ApiLimits turn both off (tests); AdminServer passes the config.
class AdminApi {
 public:
  explicit AdminApi(ApiDeps deps, ApiLimits limits = {})
      : d_(deps),
        limiter_(limits.per_token, deps.clock),
        client_limiter_(limits.per_client, deps.clock) {}
  ApiReply Handle(const ApiRequest& request);
  // The portal's admin for /v1/portal (borrowed; null: those routes answer
  // 503). Set before the API serves its first request.
  void SetPortal(PortalAdminApi* portal) { portal_ = portal; }

 private:
  ApiReply RefuseClient(const ApiRequest& request, const ClientRateLimiter::Admission& admission);

  ApiDeps d_;
  PortalAdminApi* portal_ = nullptr;
  TokenRateLimiter limiter_;
  ClientRateLimiter client_limiter_;
};

}  // namespace sg::admin
