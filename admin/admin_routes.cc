#include "admin/admin_routes.h"

#include <array>
#include <string_view>

namespace sg::admin {
namespace {

struct Route {
  const char* method;
  const char* path;
  Handler handler;
  bool secret_body = false;  // a private key or password: left out of audit records
};

// The first route whose method and template fit answers.
constexpr std::array kRoutes = {
    Route{"GET", "/v1/whoami", &WhoAmI},
    Route{"GET", "/v1/resellers", &ListResellers},
    Route{"POST", "/v1/resellers", &AddReseller},
    Route{"GET", "/v1/resellers/{id}", &ShowReseller},
    Route{"DELETE", "/v1/resellers/{id}", &RemoveReseller},
    Route{"GET", "/v1/tenants", &ListTenants},
    Route{"POST", "/v1/tenants", &AddTenant},
    Route{"GET", "/v1/tenants/{id}", &ShowTenant},
    Route{"DELETE", "/v1/tenants/{id}", &RemoveTenant},
    Route{"GET", "/v1/tenants/{id}/policy", &ShowTenantPolicy},
    Route{"PUT", "/v1/tenants/{id}/policy", &SetTenantPolicy},
    Route{"DELETE", "/v1/tenants/{id}/policy", &ClearTenantPolicy},
    Route{"GET", "/v1/tenants/{id}/branding", &ShowTenantBranding},
    Route{"PUT", "/v1/tenants/{id}/branding", &SetTenantBranding},
    Route{"DELETE", "/v1/tenants/{id}/branding", &ClearTenantBranding},
    Route{"GET", "/v1/domains", &ListDomains},
    Route{"POST", "/v1/domains", &AddDomain},
    Route{"GET", "/v1/domains/{name}", &ShowDomain},
    Route{"DELETE", "/v1/domains/{name}", &RemoveDomain},
    Route{"GET", "/v1/users", &ListUsers},
    Route{"POST", "/v1/users", &AddUser},
    Route{"GET", "/v1/users/{address}", &ShowUser},
    Route{"DELETE", "/v1/users/{address}", &RemoveUser},
    Route{"POST", "/v1/users/{address}/disable", &DisableUser},
    Route{"POST", "/v1/users/{address}/enable", &EnableUser},
    Route{"POST", "/v1/users/{address}/keys/rollover", &RolloverKey},
    Route{"POST", "/v1/users/{address}/keys/revoke", &RevokeKey},
    Route{"GET", "/v1/certificates", &ListCertificates},
    Route{"GET", "/v1/certificates/{fingerprint}", &ShowCertificate},
    Route{"GET", "/v1/trust", &ListTrust},
    Route{"GET", "/v1/audit", &ListAudit},
    // Usage, routes and bindings, trust changes, imports (admin_handlers_usage.cc,
    // _routes.cc, _trust.cc, _imports.cc).
    Route{"GET", "/v1/usage", &GetUsage},
    Route{"PUT", "/v1/domains/{name}/total-users", &SetDomainTotal},
    Route{"GET", "/v1/tenants/{id}/route", &ShowRoute},
    Route{"PUT", "/v1/tenants/{id}/route", &SetRoute},
    Route{"DELETE", "/v1/tenants/{id}/route", &ClearRoute},
    Route{"GET", "/v1/tenants/{id}/bindings", &ListBindings},
    Route{"POST", "/v1/tenants/{id}/bindings", &AddBinding},
    Route{"DELETE", "/v1/tenants/{id}/bindings/{kind}/{value}", &RemoveBinding},
    Route{"POST", "/v1/trust", &AddTrust},
    Route{"DELETE", "/v1/trust/{fingerprint}", &RemoveTrust},
    Route{"POST", "/v1/trust/pending/{fingerprint}/approve", &ApprovePending},
    Route{"POST", "/v1/users/{address}/keys", &ImportKey, /*secret_body=*/true},
    Route{"POST", "/v1/certificates", &ImportCertificates},
    // The web-encryption portal's messages (admin_handlers_portal.cc).
    Route{"GET", "/v1/portal/messages", &ListPortalMessages},
    Route{"DELETE", "/v1/portal/messages/{recipient}/{id}", &PurgePortalMessage},
    Route{"POST", "/v1/portal/messages/{recipient}/{id}/resend-link", &ResendPortalLink},
    Route{"DELETE", "/v1/portal/recipients/{recipient}", &PurgePortalRecipient},
    Route{"POST", "/v1/portal/purge-expired", &PurgePortalExpired},
    // Recipients' portal accounts (admin_handlers_portal_accounts.cc).
    Route{"GET", "/v1/portal/recipients/{recipient}", &ShowPortalAccount},
    Route{"POST", "/v1/portal/recipients/{recipient}/logout", &LogoutPortalAccount},
    Route{"POST", "/v1/portal/recipients/{recipient}/unlock", &UnlockPortalAccount},
    // The registry's global policy rules (admin_handlers_policy_rules.cc).
    Route{"GET", "/v1/policy/rules", &ListGlobalRules},
    Route{"PUT", "/v1/policy/rules", &SetGlobalRules},
    Route{"POST", "/v1/policy/rules", &AddGlobalRule},
    Route{"DELETE", "/v1/policy/rules/{match}", &RemoveGlobalRule},
    // DKIM keys of a hosted domain (admin_handlers_dkim.cc, docs/dkim.md).
    Route{"GET", "/v1/domains/{name}/dkim", &ListDkimKeys},
    Route{"POST", "/v1/domains/{name}/dkim", &GenerateDkimKey},
    Route{"POST", "/v1/domains/{name}/dkim/{selector}/activate", &ActivateDkimKey},
    Route{"DELETE", "/v1/domains/{name}/dkim/{selector}", &RemoveDkimKey},
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one segment; false for a bad escape or a NUL.
bool Decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.empty() || path.front() != '/') return parts;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// Whether `path` fits `tmpl`; the placeholder values into *params.
bool Fits(std::string_view tmpl, const std::vector<std::string_view>& parts,
          std::vector<std::string>* params) {
  const auto want = Split(tmpl);
  if (want.size() != parts.size()) return false;
  params->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      std::string value;
      if (parts[i].empty() || !Decode(parts[i], value)) return false;
      params->push_back(std::move(value));
    } else if (want[i] != parts[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<RouteInfo> RouteTable() {
  std::vector<RouteInfo> out;
  out.reserve(kRoutes.size());
  for (const auto& r : kRoutes) out.push_back({r.method, r.path});
  return out;
}

RouteMatch FindRoute(const std::string& method, const std::string& path) {
  RouteMatch match;
  const auto parts = Split(path);
  std::vector<std::string> params;
  for (const auto& r : kRoutes) {
    if (!Fits(r.path, parts, &params)) continue;
    match.allow += (match.allow.empty() ? "" : ", ") + std::string(r.method);
    if (match.handler == nullptr && method == r.method) {
      match.handler = r.handler;
      match.route = std::string(r.method) + " " + r.path;
      match.params = params;
      match.secret_body = r.secret_body;
    }
  }
  return match;
}

}  // namespace sg::admin
