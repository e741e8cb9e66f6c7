#include "common/net_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <utility>
#include <vector>

namespace sg {
namespace {

struct Range {
  const char* net;
  AddressClass cls;
};

// Special-purpose ranges (RFC 6890 and successors). Order matters only
// where ranges nest: the first match wins.
constexpr std::array<Range, 23> kRanges = {{
    {"0.0.0.0/8", AddressClass::kUnspecified},
    {"127.0.0.0/8", AddressClass::kLoopback},
    {"10.0.0.0/8", AddressClass::kPrivate},
    {"172.16.0.0/12", AddressClass::kPrivate},
    {"192.168.0.0/16", AddressClass::kPrivate},
    {"100.64.0.0/10", AddressClass::kPrivate},  // carrier-grade NAT
    {"169.254.0.0/16", AddressClass::kLinkLocal},
    {"192.0.0.0/24", AddressClass::kReserved},
    {"192.0.2.0/24", AddressClass::kReserved},
    {"198.18.0.0/15", AddressClass::kReserved},
    {"198.51.100.0/24", AddressClass::kReserved},
    {"203.0.113.0/24", AddressClass::kReserved},
    {"224.0.0.0/4", AddressClass::kMulticast},
    {"240.0.0.0/4", AddressClass::kReserved},  // and 255.255.255.255
    {"::/128", AddressClass::kUnspecified},
    {"::1/128", AddressClass::kLoopback},
    {"fc00::/7", AddressClass::kPrivate},
    {"fe80::/10", AddressClass::kLinkLocal},
    {"fec0::/10", AddressClass::kReserved},  // deprecated site-local
    {"ff00::/8", AddressClass::kMulticast},
    {"100::/64", AddressClass::kReserved},
    {"2001:db8::/32", AddressClass::kReserved},
    {"::/96", AddressClass::kReserved},  // IPv4-compatible (deprecated)
}};

const std::vector<std::pair<Network, AddressClass>>& Ranges() {
  static const auto* ranges = [] {
    auto* v = new std::vector<std::pair<Network, AddressClass>>;
    for (const auto& r : kRanges) v->emplace_back(*ParseNetwork(r.net), r.cls);
    return v;
  }();
  return *ranges;
}

}  // namespace

IpBytes Ipv4Mapped(const uint8_t* v4) {
  IpBytes b{};
  b[10] = b[11] = 0xff;
  std::memcpy(b.data() + 12, v4, 4);
  return b;
}

bool IsIpv4Mapped(const IpBytes& a) {
  for (size_t i = 0; i < 10; ++i) {
    if (a[i] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

// 64:ff9b::/96, the NAT64 well-known prefix (RFC 6052).
bool IsNat64(const IpBytes& a) {
  static constexpr std::array<uint8_t, 12> kPrefix = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  return std::memcmp(a.data(), kPrefix.data(), kPrefix.size()) == 0;
}

bool Network::Contains(const IpBytes& a) const {
  int bits = prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

std::string Network::ToString() const {
  const int p = IsIpv4Mapped(addr) ? prefix - 96 : prefix;
  return AddressText(addr) + "/" + std::to_string(p);
}

Result<Network> ParseNetwork(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\": " + why);
  };
  const size_t slash = text.find('/');
  const std::string host(text.substr(0, slash));
  Network n;
  bool v4 = false;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    n.addr = Ipv4Mapped(reinterpret_cast<const uint8_t*>(&a4));
    v4 = true;
  } else if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    std::memcpy(n.addr.data(), &a6, 16);
  } else {
    return bad("not an IPv4 or IPv6 address (a network is written 10.0.0.0/8 or fd00::/8)");
  }
  const int max = v4 ? 32 : 128;
  int p = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    if (ec != std::errc() || end != digits.data() + digits.size() || p < 0 || p > max) {
      return bad("prefix length must be 0.." + std::to_string(max));
    }
  }
  n.prefix = v4 ? p + 96 : p;
  return n;
}

const char* AddressClassName(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic: return "public";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kLinkLocal: return "link-local";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kReserved: return "reserved";
    case AddressClass::kSelf: return "own";
  }
  return "unknown";
}

AddressClass ClassifyAddress(const IpBytes& a) {
  if (IsNat64(a)) return ClassifyAddress(Ipv4Mapped(a.data() + 12));  // judged by its IPv4
  for (const auto& [net, cls] : Ranges()) {
    if (net.Contains(a)) return cls;
  }
  // IPv6 outside global unicast (2000::/3) is not assigned for public use.
  if (!IsIpv4Mapped(a) && (a[0] & 0xe0) != 0x20) return AddressClass::kReserved;
  return AddressClass::kPublic;
}

IpBytes AddressBytes(const sockaddr* addr) {
  IpBytes b{};
  if (addr->sa_family == AF_INET) {
    b = Ipv4Mapped(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr));
  } else if (addr->sa_family == AF_INET6) {
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, 16);
  }
  return b;
}

std::string AddressText(const IpBytes& a) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (IsIpv4Mapped(a)) {
    inet_ntop(AF_INET, a.data() + 12, buf.data(), buf.size());
  } else {
    inet_ntop(AF_INET6, a.data(), buf.data(), buf.size());
  }
  return buf.data();
}

}  // namespace sg
