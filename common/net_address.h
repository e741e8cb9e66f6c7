// Which kind of IP address a connection would reach: public, or one of the
// special-purpose ranges (RFC 6890 and successors) that a name from the
// internet must not make the gateway connect to. One classifier for every
// outbound connection whose destination someone outside chose: egress
// (an MX record, egress/egress_destination.h) and the workers' revocation
// fetches (a URL in a partner's certificate, workers/smime/revocation_http.h).
//
// Classes: loopback, private (RFC 1918, RFC 6598 carrier-grade NAT, RFC 4193
// unique local), link-local, unspecified, multicast, reserved (IETF
// protocol assignments, documentation, benchmarking, 240/4 and broadcast,
// deprecated IPv6 site-local and IPv4-compatible, discard-only 100::/64,
// and every IPv6 address outside global unicast 2000::/3). IPv4-mapped and
// NAT64 (64:ff9b::/96, RFC 6052) IPv6 addresses are judged by the IPv4
// address inside. kSelf is never returned here: callers that know the
// host's own addresses (egress) assign it.
//
// Addresses are held as 16 bytes, IPv4 as IPv4-mapped (::ffff:a.b.c.d).
//
// Threading: pure functions and immutable values.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg {

using IpBytes = std::array<uint8_t, 16>;

// An IPv4 or IPv6 network; IPv4 is stored as ::ffff:a.b.c.d/96+n.
struct Network {
  IpBytes addr{};
  int prefix = 128;
  bool Contains(const IpBytes& a) const;
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
  kSelf,  // one of the gateway's own addresses (assigned by egress)
};
const char* AddressClassName(AddressClass c);  // "public", "loopback", ... "own"

// The special-purpose class of `a`, or kPublic.
AddressClass ClassifyAddress(const IpBytes& a);

// 16-byte form of a sockaddr (AF_INET mapped, AF_INET6 as is; zeros for
// other families, which classify as unspecified), and its text.
IpBytes AddressBytes(const sockaddr* addr);
std::string AddressText(const IpBytes& a);

// An IPv4-mapped address's embedded IPv4 address, for NAT64 and the like.
bool IsIpv4Mapped(const IpBytes& a);
bool IsNat64(const IpBytes& a);
IpBytes Ipv4Mapped(const uint8_t* v4);  // 4 bytes, network order

}  // namespace sg
