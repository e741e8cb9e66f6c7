// TenantAdmin: tenants (customers) and resellers (system houses) in the
// keyservice registry (docs/tenants.md), as used by smimegatectl (over gRPC:
// KeyServiceClient) and tests (in-process: KeyServiceImpl implements it).
//
// A reseller owns tenants; a tenant owns hosted domains (Domain::tenant).
// Ids are stable keys for everything that refers to a tenant later (usage,
// routes, admin tokens): lower-case letters, digits and '-', 1 to 63
// characters, starting with a letter or digit. Names are display text.
// The tenant "default" always exists: the config file's hosted_domains and
// domains added without --tenant belong to it.
//
// Errors: kInvalidArgument for a malformed id or name, or a removal that
// would orphan something (a tenant with domains, a reseller with tenants,
// the default tenant, a domain with users); kNotFound naming the missing
// tenant, reseller or domain. Add is an upsert (of name and reseller).
//
// Threading: thread-safe; calls may block on the store or the network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/key_service.h"

namespace sg::keyservice {

inline constexpr const char* kDefaultTenant = "default";

struct Tenant {
  std::string id;
  std::string name;
  std::string reseller;  // "" = sold directly
  int64_t created_at = 0;  // unix seconds; read-only
  std::vector<std::string> domains{};  // read-only: its hosted domains, sorted
  TenantRoute route{};                  // read-only here: no hosts = egress.inbound
  std::vector<TenantBinding> bindings{};  // read-only here: its relay clients
};

struct Reseller {
  std::string id;
  std::string name;
  int64_t created_at = 0;  // unix seconds; read-only
  std::vector<std::string> tenants{};  // read-only: its tenants' ids, sorted
};

class TenantAdmin {
 public:
  virtual ~TenantAdmin() = default;

  // Adds a tenant or updates its name and reseller (which must exist).
  // Returns it as stored. An empty name becomes the id.
  virtual Result<Tenant> TenantAdd(const Tenant& tenant) = 0;
  // Every tenant (of `reseller` when non-empty), by id, with its domains.
  virtual Result<std::vector<Tenant>> TenantList(const std::string& reseller) = 0;
  virtual Result<Tenant> TenantShow(const std::string& id) = 0;
  // Only a tenant without domains (move or remove them first).
  virtual Status TenantRemove(const std::string& id) = 0;

  virtual Result<Reseller> ResellerAdd(const Reseller& reseller) = 0;
  virtual Result<std::vector<Reseller>> ResellerList() = 0;
  virtual Result<Reseller> ResellerShow(const std::string& id) = 0;
  // Only a reseller without tenants.
  virtual Status ResellerRemove(const std::string& id) = 0;

  // Removes a hosted domain; only one without users (their keys stay, but
  // the domain's validation record goes). Ingress refuses its mail within
  // seconds (change event "domain").
  virtual Status TenantRemoveDomain(const std::string& domain) = 0;

  // The tenant's inbound route (its own mail server): egress delivers the
  // tenant's inbound mail there within seconds (change event "tenant").
  // kInvalidArgument for a malformed host or TLS policy. Returns the tenant.
  virtual Result<Tenant> TenantRouteSet(const TenantRoute& route) = 0;
  // Back to the config file's egress.inbound.
  virtual Result<Tenant> TenantRouteClear(const std::string& tenant) = 0;
  // Binds a relay client to a tenant: ingress lets it send as the tenant's
  // domains only, within seconds. kInvalidArgument when the client is bound
  // to another tenant already (unbind it first) or malformed.
  virtual Result<Tenant> TenantBind(const TenantBinding& binding) = 0;
  // kNotFound when the client is bound to no tenant.
  virtual Status TenantUnbind(const TenantBinding& binding) = 0;
};

}  // namespace sg::keyservice
