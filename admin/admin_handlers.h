// The admin REST API's handlers (admin_handlers_*.cc), one per route of the
// route table (admin_routes.cc). Internal to the admin library.
//
// A handler gets the call (caller, path parameters, query, body) and
// answers; it never throws (JSON is parsed without exceptions) and treats
// an object outside the caller's scope exactly like a missing one.
//
// Threading: handlers run on the server's worker threads, concurrently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_access.h"
#include "admin/admin_api.h"
#include "admin/admin_json.h"
#include "admin/admin_portal.h"

namespace sg::admin {

struct Call {
  const ApiDeps& d;
  const TokenInfo& caller;
  Access& access;
  std::vector<std::string> params;  // the path's {placeholders}, decoded, in order
  const std::map<std::string, std::string>& query;
  const std::string& body;
  PortalAdminApi* portal = nullptr;  // null: no portal configured (503)

  std::string Query(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? "" : it->second;
  }
};

using Handler = Answer (*)(Call&);

// The body as a JSON object; an error answer (400) otherwise.
Result<Json> BodyObject(const Call& call);
// A string member of a body ("" when absent); kInvalidArgument when not a string.
Result<std::string> StringField(const Json& body, const std::string& key);
// nullopt when `visible` says yes; else the answer: the 404 of an absent
// object, or the store's error.
std::optional<Answer> Hidden(const Result<bool>& visible, const std::string& kind,
                             const std::string& id);
// 403 for a call the caller's scope may not make at all (not about one object).
Answer Forbidden(const std::string& what);
// A "limit" query parameter: 1..1000, 100 when empty; kInvalidArgument otherwise.
Result<uint32_t> ParseLimit(const std::string& text);

// admin_handlers_tenants.cc
Answer ListResellers(Call& c);
Answer AddReseller(Call& c);
Answer ShowReseller(Call& c);
Answer RemoveReseller(Call& c);
Answer ListTenants(Call& c);
Answer AddTenant(Call& c);
Answer ShowTenant(Call& c);
Answer RemoveTenant(Call& c);
// admin_handlers_tenant_policy.cc
Answer ShowTenantPolicy(Call& c);
Answer SetTenantPolicy(Call& c);
Answer ClearTenantPolicy(Call& c);
Answer ShowTenantBranding(Call& c);
Answer SetTenantBranding(Call& c);
Answer ClearTenantBranding(Call& c);
// admin_handlers_domains.cc
Answer ListDomains(Call& c);
Answer AddDomain(Call& c);
Answer ShowDomain(Call& c);
Answer RemoveDomain(Call& c);
// admin_handlers_users.cc
Answer ListUsers(Call& c);
Answer AddUser(Call& c);
Answer ShowUser(Call& c);
Answer DisableUser(Call& c);
Answer EnableUser(Call& c);
Answer RemoveUser(Call& c);
Answer RolloverKey(Call& c);
Answer RevokeKey(Call& c);
// admin_handlers_certs.cc
Answer ListCertificates(Call& c);
Answer ShowCertificate(Call& c);
Answer ListTrust(Call& c);
Answer ListAudit(Call& c);
Answer WhoAmI(Call& c);
// admin_handlers_usage.cc
Answer GetUsage(Call& c);
Answer SetDomainTotal(Call& c);
// admin_handlers_routes.cc
Answer ShowRoute(Call& c);
Answer SetRoute(Call& c);
Answer ClearRoute(Call& c);
Answer ListBindings(Call& c);
Answer AddBinding(Call& c);
Answer RemoveBinding(Call& c);
// admin_handlers_trust.cc
Answer AddTrust(Call& c);
Answer RemoveTrust(Call& c);
Answer ApprovePending(Call& c);
// admin_handlers_imports.cc
Answer ImportKey(Call& c);
Answer ImportCertificates(Call& c);
// DER certificates of a body's "pem" (a PEM bundle) or "der" (base64 of
// one DER certificate): kInvalidArgument naming what is wrong, also for
// more than 100 certificates.
Result<std::vector<std::string>> BodyCertificates(const Json& body);
// admin_handlers_portal.cc
Answer ListPortalMessages(Call& c);
Answer PurgePortalMessage(Call& c);
Answer PurgePortalRecipient(Call& c);
Answer PurgePortalExpired(Call& c);
Answer ResendPortalLink(Call& c);
// 503 with the fix: no portal configured, or c.portal is null.
Answer NoPortal();
// The sending domains the caller may see; nullopt: every domain (super).
Result<std::optional<std::vector<std::string>>> PortalScopeDomains(Call& c);
// admin_handlers_portal_accounts.cc
Answer ShowPortalAccount(Call& c);
Answer LogoutPortalAccount(Call& c);
Answer UnlockPortalAccount(Call& c);
// admin_handlers_policy_rules.cc
Answer ListGlobalRules(Call& c);
Answer SetGlobalRules(Call& c);
Answer AddGlobalRule(Call& c);
Answer RemoveGlobalRule(Call& c);

// admin_handlers_dkim.cc (docs/dkim.md)
Answer ListDkimKeys(Call& c);
Answer GenerateDkimKey(Call& c);
Answer ActivateDkimKey(Call& c);
Answer RemoveDkimKey(Call& c);

}  // namespace sg::admin
