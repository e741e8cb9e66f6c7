// IP networks in CIDR notation ("10.0.0.0/8", "2001:db8::/32", "127.0.0.1")
// for ingress.listeners[].trusted_networks and portal.trusted_proxies, and the
// per-client key of connection and login limits.
//
// IPv4 is held as IPv4-mapped IPv6, so "127.0.0.0/8" also matches a client
// seen as "::ffff:127.0.0.1" on a dual-stack socket.
//
// Threading: immutable values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sg {

class Cidr {
 public:
  // kInvalidArgument with the offending text.
  static Result<Cidr> Parse(std::string_view text);
  // `ip` is a numeric address as printed by inet_ntop.
  bool Contains(std::string_view ip) const;

 private:
  std::array<uint8_t, 16> net_{};
  int prefix_ = 128;
};

bool AnyContains(const std::vector<Cidr>& nets, std::string_view ip);

// True when `text` is a numeric IPv4 or IPv6 address (no network, no port).
bool IsIpAddress(std::string_view text);

// The key under which per-client limits count a client: an IPv4 address as
// it is; an IPv6 address as its network of `ipv6_prefix` bits
// ("2001:db8:1:2::/64"), because one subscriber usually holds a whole /64
// and could otherwise open a connection from each of 2^64 addresses.
// Text that is not an address is returned unchanged.
std::string ClientKey(std::string_view ip, int ipv6_prefix);

}  // namespace sg
