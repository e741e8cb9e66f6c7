#include "egress/egress_destination.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace sg::egress {
namespace {

using Bytes = std::array<uint8_t, 16>;

Bytes Mapped(uint32_t v4_host_order) {
  Bytes b{};
  b[10] = b[11] = 0xff;
  b[12] = static_cast<uint8_t>(v4_host_order >> 24);
  b[13] = static_cast<uint8_t>(v4_host_order >> 16);
  b[14] = static_cast<uint8_t>(v4_host_order >> 8);
  b[15] = static_cast<uint8_t>(v4_host_order);
  return b;
}

bool IsMapped(const Bytes& a) {
  for (int i = 0; i < 10; ++i) {
    if (a[static_cast<size_t>(i)] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

// 64:ff9b::/96, the NAT64 well-known prefix (RFC 6052).
bool IsNat64(const Bytes& a) {
  static const uint8_t kPrefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  return std::memcmp(a.data(), kPrefix, 12) == 0;
}

struct Range {
  const char* net;
  AddressClass cls;
};

// Special-purpose ranges (RFC 6890 and successors). Order matters only
// where ranges nest: the first match wins.
const Range kRanges[] = {
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
};

const std::vector<std::pair<Network, AddressClass>>& Ranges() {
  static const auto* ranges = [] {
    auto* v = new std::vector<std::pair<Network, AddressClass>>;
    for (const auto& r : kRanges) v->emplace_back(*ParseNetwork(r.net), r.cls);
    return v;
  }();
  return *ranges;
}

}  // namespace

bool Network::Contains(const Bytes& a) const {
  int bits = prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

std::string Network::ToString() const {
  const int p = IsMapped(addr) ? prefix - 96 : prefix;
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
    n.addr = Mapped(ntohl(a4.s_addr));
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

Bytes AddressBytes(const sockaddr* addr) {
  Bytes b{};
  if (addr->sa_family == AF_INET) {
    b = Mapped(ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr));
  } else if (addr->sa_family == AF_INET6) {
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, 16);
  }
  return b;
}

std::string AddressText(const Bytes& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsMapped(a)) {
    inet_ntop(AF_INET, a.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
  }
  return buf;
}

AddressClass DestinationPolicy::Classify(const Bytes& a) const {
  for (const auto& own : own_) {
    if (own.Contains(a)) return AddressClass::kSelf;
  }
  if (IsNat64(a)) {  // judged by the IPv4 address it carries
    Bytes v4 = Mapped(0);
    std::memcpy(v4.data() + 12, a.data() + 12, 4);
    AddressClass inner = Classify(v4);
    if (inner != AddressClass::kPublic) return inner;
  }
  for (const auto& [net, cls] : Ranges()) {
    if (net.Contains(a)) return cls;
  }
  return AddressClass::kPublic;
}

std::optional<AddressClass> DestinationPolicy::Refuses(const Bytes& a,
                                                       const std::vector<Network>& allowed) const {
  const AddressClass c = Classify(a);
  if (c == AddressClass::kPublic) return std::nullopt;
  for (const auto& n : allowed) {
    if (n.Contains(a)) return std::nullopt;
  }
  return c;
}

std::string DestinationPolicy::RefusalText(const Bytes& a, AddressClass c,
                                           const std::string& route_path) {
  const std::string what = c == AddressClass::kSelf
                               ? "one of the gateway's own addresses (a mail loop)"
                               : std::string("a ") + AddressClassName(c) + " address";
  return AddressText(a) + " is " + what + ", not in " + route_path + ".allowed_networks";
}

std::vector<Network> LocalAddresses() {
  std::vector<Network> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    Network n;
    n.addr = AddressBytes(i->ifa_addr);
    n.prefix = 128;
    out.push_back(n);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace sg::egress
