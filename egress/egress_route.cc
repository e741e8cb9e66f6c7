#include "egress/egress_route.h"

#include "common/mail/address.h"

namespace sg::egress {

const RouteConfig& Router::RouteFor(smimegate::v1::Direction direction,
                                    std::string_view recipient) const {
  if (direction == smimegate::v1::DIRECTION_INBOUND) return config_.inbound;
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
  if (route.transport == TransportKind::kMx) return route.name + "|" + mail::DomainOf(recipient);
  return route.name;
}

}  // namespace sg::egress
