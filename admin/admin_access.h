// Access: what one admin API call's token may see (docs/admin-api.md
// "Authorisation"). A super token sees everything; a reseller token its
// reseller record and the tenants it owns, with their domains, users,
// certificates, keys and audit records; a tenant token its tenant and what
// it owns. An object outside the scope is treated exactly like one that
// does not exist (the handlers answer the same 404).
//
// Ownership follows the registry: a domain belongs to the tenant that owns
// it (TenantDomains), an address or "@domain" certificate owner to its
// domain's tenant. Partner certificates and trust anchors of domains that
// are not hosted belong to nobody: super only.
//
// One Access per call: it reads the domain and tenant maps once, lazily.
// Errors: store failures (kUnavailable, kInternal) pass through.
//
// Threading: not thread-safe (one call's object).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "admin/admin_scope.h"
#include "common/result.h"
#include "keyservice/key_service.h"
#include "keyservice/tenant_admin.h"

namespace sg::admin {

class Access {
 public:
  Access(const Scope& scope, keyservice::TenantAdmin& tenants, keyservice::KeyService& service)
      : scope_(scope), tenants_(tenants), service_(service) {}

  const Scope& scope() const { return scope_; }
  Result<bool> Reseller(const std::string& id);
  // The tenant exists and is in scope.
  Result<bool> Tenant(const std::string& id);
  // The domain is hosted and its tenant is in scope.
  Result<bool> Domain(const std::string& domain);
  // The address's domain is (see Domain).
  Result<bool> Address(const std::string& address);
  // A certificate owner: an address or "@domain" of a domain in scope; ""
  // (trust anchors) and foreign owners: super only.
  Result<bool> Owner(const std::string& owner);
  // An audit record's role: a token scope in this scope (super: every record).
  Result<bool> AuditRole(const std::string& role);
  // The tenant owning a hosted domain, nullopt when not hosted.
  Result<std::optional<std::string>> TenantOf(const std::string& domain);

 private:
  Status LoadTenants();
  Status LoadDomains();

  Scope scope_;
  keyservice::TenantAdmin& tenants_;
  keyservice::KeyService& service_;
  std::optional<std::map<std::string, std::string>> tenant_reseller_;  // tenant -> reseller
  std::optional<std::map<std::string, std::string>> domain_tenant_;    // domain -> tenant
};

}  // namespace sg::admin
