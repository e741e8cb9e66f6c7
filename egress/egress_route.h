// Routing: which route (and so which transport, hosts and TLS policy) a
// recipient of a message takes.
//
// Inbound mail (from the internet to a hosted domain) always takes the
// `inbound` route, the organisation's own server. Outbound mail takes the
// first per-domain route whose domain matches the recipient domain (exactly,
// or as a parent when written ".example.com"), else the `outbound` default.
//
// Threading: immutable after construction; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "egress/egress_config.h"
#include "proto/envelope.pb.h"

namespace sg::egress {

class Router {
 public:
  explicit Router(const EgressConfig& config) : config_(config) {}

  const RouteConfig& RouteFor(smimegate::v1::Direction direction,
                              std::string_view recipient) const;

  // The connection-pool key: recipients with the same key can share one
  // SMTP transaction/connection. MX routes are per recipient domain.
  static std::string DestinationKey(const RouteConfig& route, std::string_view recipient);

 private:
  const EgressConfig& config_;
};

}  // namespace sg::egress
