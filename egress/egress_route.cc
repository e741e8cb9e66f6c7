#include "egress/egress_route.h"

#include <spdlog/spdlog.h>

#include "common/mail/address.h"

namespace sg::egress {

std::string RouteKey(const RouteConfig& route) {
  if (route.generation == 0) return route.name;
  return route.name + "#" + std::to_string(route.generation);
}

Result<RouteConfig> TenantRouteConfig(const std::string& tenant, const TenantRouteSpec& spec,
                                      const RouteConfig& inbound) {
  RouteConfig route;
  route.name = "tenant:" + tenant;
  route.config_path = "the route of tenant " + tenant + " (smimegatectl tenant route)";
  route.transport = TransportKind::kSmtp;
  route.max_connections = inbound.max_connections;
  route.allowed_networks = inbound.allowed_networks;
  route.tls.ca_file = inbound.tls.ca_file;
  if (spec.tls == "none") {
    route.tls.mode = TlsMode::kNone;
  } else if (spec.tls == "opportunistic" || spec.tls.empty()) {
    route.tls.mode = TlsMode::kOpportunistic;
  } else if (spec.tls == "required" || spec.tls == "verify") {
    route.tls.mode = TlsMode::kRequired;
    route.tls.verify = spec.tls == "verify";
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     route.config_path + ": unknown TLS policy \"" + spec.tls + "\"");
  }
  for (const auto& h : spec.hosts) {
    auto hp = ParseHostPort(h, 25);
    if (!hp.ok()) return MakeError(ErrorCode::kInvalidArgument, route.config_path + ": " + hp.error().message);
    route.hosts.push_back(*hp);
  }
  if (route.hosts.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, route.config_path + ": no hosts");
  }
  return route;
}

size_t Router::ReplaceTenantRoutes(const TenantRoutes& routes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<Table>();
  next->domain_tenant = routes.domain_tenant;
  std::map<std::string, std::pair<TenantRouteSpec, const RouteConfig*>> current;
  for (const auto& [tenant, spec] : routes.routes) {
    auto was = current_.find(tenant);
    if (was != current_.end() && was->second.first == spec) {  // unchanged: same connections
      current.emplace(tenant, was->second);
      next->by_tenant.emplace(tenant, was->second.second);
      continue;
    }
    auto made = TenantRouteConfig(tenant, spec, config_.inbound);
    if (!made.ok()) {
      spdlog::warn("egress: {} (its inbound mail takes egress.inbound)", made.error().message);
      continue;
    }
    made->generation = ++generation_;
    kept_.push_back(std::make_unique<RouteConfig>(std::move(*made)));
    current.emplace(tenant, std::make_pair(spec, kept_.back().get()));
    next->by_tenant.emplace(tenant, kept_.back().get());
  }
  current_.swap(current);
  const size_t n = next->by_tenant.size();
  table_ = std::move(next);
  return n;
}

const RouteConfig* Router::TenantRouteFor(std::string_view recipient) const {
  std::shared_ptr<const Table> table;
  {
    std::lock_guard<std::mutex> lock(mu_);
    table = table_;
  }
  if (table->by_tenant.empty()) return nullptr;
  auto owner = table->domain_tenant.find(mail::DomainOf(recipient));
  if (owner == table->domain_tenant.end()) return nullptr;
  auto route = table->by_tenant.find(owner->second);
  return route == table->by_tenant.end() ? nullptr : route->second;
}

const RouteConfig& Router::RouteFor(smimegate::v1::Direction direction,
                                    std::string_view recipient) const {
  if (direction == smimegate::v1::DIRECTION_INBOUND) {
    const RouteConfig* tenant = TenantRouteFor(recipient);
    return tenant != nullptr ? *tenant : config_.inbound;
  }
  std::string domain = mail::DomainOf(recipient);
  for (const auto& route : config_.routes) {
    for (const auto& d : route.domains) {
      if (d == domain) return route;
      // ".example.com" matches every subdomain of example.com.
      if (!d.empty() && d[0] == '.' && domain.size() > d.size() &&
          domain.compare(domain.size() - d.size(), d.size(), d) == 0) {
        return route;
      }
    }
  }
  return config_.outbound;
}

std::string Router::DestinationKey(const RouteConfig& route, std::string_view recipient) {
  if (route.transport == TransportKind::kMx) return RouteKey(route) + "|" + mail::DomainOf(recipient);
  return RouteKey(route);
}

}  // namespace sg::egress
