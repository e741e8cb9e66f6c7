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

#include "admin/admin_portal.h"
#include "admin/admin_rate_limit.h"
#include "admin/admin_tokens.h"
#include "common/clock.h"
#include "keyservice/audit.h"
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
  AdminTokens& tokens;
  const Clock& clock;
  keyservice::UsageAdmin& usage;  // GET /v1/usage, PUT /v1/domains/{name}/total-users
};

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // raw path, percent-encoded segments
  std::map<std::string, std::string> query;  // decoded
  std::string authorization;  // the Authorization header
  std::string body;
};

struct ApiReply {
  int status = 200;
  std::string body;  // JSON text (or content_type's)
  std::string content_type = "application/json";
  std::string allow;         // 405: the methods the path has
  bool unauthenticated = false;  // 401: add WWW-Authenticate
  int64_t retry_after = 0;       // 429: seconds, for Retry-After
};

// A token over its request rate (admin_rate_limit.h) answers 429
// rate_limited with Retry-After, after authentication and before routing.
class AdminApi {
 public:
  explicit AdminApi(ApiDeps deps, RateLimit rate_limit = {})
      : d_(deps), limiter_(rate_limit, deps.clock) {}
  ApiReply Handle(const ApiRequest& request);
  // The portal's admin for /v1/portal (borrowed; null: those routes answer
  // 503). Set before the API serves its first request.
  void SetPortal(PortalAdminApi* portal) { portal_ = portal; }

 private:
  ApiDeps d_;
  PortalAdminApi* portal_ = nullptr;
  TokenRateLimiter limiter_;
};

}  // namespace sg::admin
