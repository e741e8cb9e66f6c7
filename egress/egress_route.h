// Routing: which route (and so which transport, hosts and TLS policy) a
// recipient of a message takes.
//
// Inbound mail (from the internet to a hosted domain) takes the route of
// the tenant owning the recipient domain when the tenant has one in the
// keyservice registry (docs/tenants.md "Inbound routes": the customer's own
// mail server, `smimegatectl tenant route set`), else the `inbound` route of
// the config file. Outbound mail takes the first per-domain route whose
// domain matches the recipient domain (exactly, or as a parent when written
// ".example.com"), else the `outbound` default.
//
// Tenant routes are replaced at run time (ReplaceTenantRoutes, from the
// composition root's follower of the keyservice's change events); when the
// keyservice is unreachable the last known routes stay in use.
//
// Threading: RouteFor from any thread (the egress loop); ReplaceTenantRoutes
// from another (the follower). A returned reference stays valid for the
// Router's life: a replaced route is kept (routes change rarely: one
// RouteConfig per change of a tenant's route).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "egress/egress_config.h"
#include "proto/envelope.pb.h"

namespace sg::egress {

// A tenant's inbound route as the registry holds it.
struct TenantRouteSpec {
  std::vector<std::string> hosts;  // "host", "host:port", "[v6]:port"
  std::string tls;                 // none | opportunistic | required | verify
  bool operator==(const TenantRouteSpec&) const = default;
};

struct TenantRoutes {
  std::map<std::string, std::string> domain_tenant;  // hosted domain -> tenant id
  std::map<std::string, TenantRouteSpec> routes;     // tenant id -> its route
};

// The RouteConfig of a tenant's route: transport smtp to `spec.hosts`, the
// TLS policy of spec.tls, and everything else (port default 25,
// max_connections, allowed_networks) from `inbound`, the config file's
// egress.inbound. kInvalidArgument naming the host or policy.
Result<RouteConfig> TenantRouteConfig(const std::string& tenant, const TenantRouteSpec& spec,
                                      const RouteConfig& inbound);

class Router {
 public:
  explicit Router(const EgressConfig& config) : config_(config) {}

  const RouteConfig& RouteFor(smimegate::v1::Direction direction,
                              std::string_view recipient) const;

  // The registry's tenant routes now. A route that cannot be used (a
  // malformed host) is left out with a warning: its tenant's mail takes
  // egress.inbound. Returns the number of tenant routes in use.
  size_t ReplaceTenantRoutes(const TenantRoutes& routes);

  // The connection-pool key: recipients with the same key can share one
  // SMTP transaction/connection. MX routes are per recipient domain.
  static std::string DestinationKey(const RouteConfig& route, std::string_view recipient);

 private:
  struct Table {
    std::map<std::string, std::string> domain_tenant;
    std::map<std::string, const RouteConfig*> by_tenant;
  };
  const RouteConfig* TenantRouteFor(std::string_view recipient) const;

  const EgressConfig& config_;
  mutable std::mutex mu_;
  std::shared_ptr<const Table> table_ = std::make_shared<const Table>();  // swapped whole
  std::map<std::string, std::pair<TenantRouteSpec, const RouteConfig*>> current_;  // by tenant
  std::vector<std::unique_ptr<RouteConfig>> kept_;  // every tenant route ever used
  uint64_t generation_ = 0;
};

}  // namespace sg::egress
