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

// A tenant's branding of notification mails and portal pages (docs/tenants.md
// "Branding"). Empty fields: the portal's defaults.
struct TenantBranding {
  std::string tenant;
  std::string display_name;
  std::string sender_name;     // From display name of notification mails
  std::string sender_address;  // their From address; "" = portal.mail.from
  std::string product_name;    // the portal's product name
  std::string logo;            // PNG or SVG bytes, at most 64 KiB
  std::string logo_type;       // image/png | image/svg+xml (from the content)
  std::string color;           // "#rrggbb"
  std::string support;         // support contact
  bool empty() const {
    return display_name.empty() && sender_name.empty() && sender_address.empty() &&
           product_name.empty() && logo.empty() && color.empty() && support.empty();
  }
};

struct Tenant {
  std::string id;
  std::string name;
  std::string reseller;  // "" = sold directly
  int64_t created_at = 0;  // unix seconds; read-only
  std::vector<std::string> domains{};  // read-only: its hosted domains, sorted
  TenantRoute route{};                  // read-only here: no hosts = egress.inbound
  std::vector<TenantBinding> bindings{};  // read-only here: its relay clients
  TenantPolicy policy{};                  // read-only here: TenantPolicySet/Clear
  TenantBranding branding{};              // read-only here: TenantBrandingSet/Clear
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

  // The tenant's policy override (docs/tenants.md "Policy"), replacing the
  // previous one whole; workers apply it within seconds (change event
  // "tenant"). kInvalidArgument naming the field for a bad value (a rule's
  // match, an unknown action, tag or CA backend). Returns the tenant.
  virtual Result<Tenant> TenantPolicySet(const TenantPolicy& policy) = 0;
  // Back to the config file's workers.policy.
  virtual Result<Tenant> TenantPolicyClear(const std::string& tenant) = 0;
  // The tenant's branding, replacing the previous one whole.
  // kInvalidArgument for a bad colour, address, logo type or size.
  virtual Result<Tenant> TenantBrandingSet(const TenantBranding& branding) = 0;
  virtual Result<Tenant> TenantBrandingClear(const std::string& tenant) = 0;

  // The registry's global policy rules (docs/tenants.md "Global rules"): for
  // every sender's mail, after the sender tenant's rules and before the
  // config file's workers.policy.rules; workers apply a change within
  // seconds (change event "policy", subject "global"). Rules are checked
  // and normalised like a tenant's (kInvalidArgument naming the rule).
  virtual Result<std::vector<TenantRule>> GlobalRulesShow() = 0;
  // Replaces them all (an empty list: none).
  virtual Result<std::vector<TenantRule>> GlobalRulesSet(const std::vector<TenantRule>& rules) = 0;
  // Adds one, or replaces the action of the rule with the same match (one
  // read-modify-write in the keyservice: concurrent adds are not lost).
  virtual Result<std::vector<TenantRule>> GlobalRuleAdd(const TenantRule& rule) = 0;
  // kNotFound when no rule has that (normalised) match.
  virtual Result<std::vector<TenantRule>> GlobalRuleRemove(const std::string& match) = 0;
};

}  // namespace sg::keyservice
