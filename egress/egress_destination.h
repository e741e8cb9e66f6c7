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
// are judged by the IPv4 address inside.
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

#include "common/result.h"

namespace sg::egress {

// An IPv4 or IPv6 network; IPv4 is stored as ::ffff:a.b.c.d/96+n.
struct Network {
  std::array<uint8_t, 16> addr{};
  int prefix = 128;
  bool Contains(const std::array<uint8_t, 16>& a) const;
  std::string ToString() const;
};

// "10.0.0.0/8", "127.0.0.1" (/32), "fd00::/8", "::1" (/128). kInvalidArgument
// naming the text when it is not an address or the prefix is out of range.
Result<Network> ParseNetwork(std::string_view text);

enum class AddressClass {
  kPublic,
  kLoopback,
  kPrivate,
  kLinkLocal,
  kUnspecified,
  kMulticast,
  kReserved,
  kSelf,  // one of the gateway's own addresses
};
const char* AddressClassName(AddressClass c);  // "loopback", "private", ... "the gateway's own"

// 16-byte form of a sockaddr (IPv4 mapped), and its text.
std::array<uint8_t, 16> AddressBytes(const sockaddr* addr);
std::string AddressText(const std::array<uint8_t, 16>& a);

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
