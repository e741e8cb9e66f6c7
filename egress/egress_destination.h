// Which addresses egress connects to (issue 13 point 11).
//
// An MX record is the recipient domain's to write: anyone can point one at
// 127.0.0.1, at an internal address (reaching a service on the gateway's
// network), or at the gateway itself (a mail loop). So egress refuses to
// connect to an address that is loopback, private (RFC 1918, RFC 6598,
// RFC 4193), link-local, unspecified, multicast, reserved, or one of the
// gateway's own addresses - unless it lies in the route's
// `allowed_networks` (the organisation's own server on 10.0.0.5, a test
// peer on 127.0.0.1). IPv4-mapped and NAT64 (64:ff9b::/96) IPv6 addresses
// are judged by the IPv4 address inside. The special-purpose ranges are
// common/net_address.h's (the classifier the workers' revocation fetches
// use too); this policy adds the gateway's own addresses and the allow-list.
//
// The gateway's own addresses are those of its network interfaces plus
// egress.own_addresses (public addresses in front of it: NAT, a load
// balancer), which interfaces do not show.
//
// Threading: immutable after construction; safe from any thread.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net_address.h"
#include "common/result.h"

namespace sg::egress {

// The classifier is common/net_address.h (shared with the workers'
// revocation fetches); these names stay available here.
using ::sg::AddressBytes;
using ::sg::AddressClass;
using ::sg::AddressClassName;
using ::sg::AddressText;
using ::sg::Network;
using ::sg::ParseNetwork;

class DestinationPolicy {
 public:
  // `own`: the gateway's own addresses (LocalAddresses() plus configuration).
  explicit DestinationPolicy(std::vector<Network> own) : own_(std::move(own)) {}

  AddressClass Classify(const std::array<uint8_t, 16>& a) const;

  // nullopt when egress may connect to `a` on a route that allows
  // `allowed` (a public address, or one inside `allowed`); otherwise the
  // class that refuses it.
  std::optional<AddressClass> Refuses(const std::array<uint8_t, 16>& a,
                                      const std::vector<Network>& allowed) const;

  // "127.0.0.2 is a loopback address, not in egress.outbound.allowed_networks"
  // (`route_path`: the route's config path, "egress.outbound").
  static std::string RefusalText(const std::array<uint8_t, 16>& a, AddressClass c,
                                 const std::string& route_path);

 private:
  std::vector<Network> own_;
};

// The addresses of this host's network interfaces (getifaddrs).
std::vector<Network> LocalAddresses();

}  // namespace sg::egress
