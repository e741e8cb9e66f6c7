#include "egress/egress_destination.h"

#include <ifaddrs.h>
#include <netinet/in.h>

namespace sg::egress {

AddressClass DestinationPolicy::Classify(const IpBytes& a) const {
  // A NAT64 address reaches the IPv4 address it carries.
  const IpBytes target = IsNat64(a) ? Ipv4Mapped(a.data() + 12) : a;
  for (const auto& own : own_) {
    if (own.Contains(a) || own.Contains(target)) return AddressClass::kSelf;
  }
  return ClassifyAddress(a);
}

std::optional<AddressClass> DestinationPolicy::Refuses(const IpBytes& a,
                                                       const std::vector<Network>& allowed) const {
  const AddressClass c = Classify(a);
  if (c == AddressClass::kPublic) return std::nullopt;
  for (const auto& n : allowed) {
    if (n.Contains(a)) return std::nullopt;
  }
  return c;
}

std::string DestinationPolicy::RefusalText(const IpBytes& a, AddressClass c,
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
