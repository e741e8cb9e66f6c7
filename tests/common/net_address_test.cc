// The one classifier of special-purpose IP addresses (common/net_address.h),
// used by egress (MX hosts) and the workers' revocation fetches (URLs in
// partners' certificates): a table of addresses and their classes, and the
// network parser.
#include "common/net_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <vector>

namespace sg {
namespace {

IpBytes A(const char* text) {
  auto n = ParseNetwork(text);
  EXPECT_TRUE(n.ok()) << text;
  return n.ok() ? n->addr : IpBytes{};
}

TEST(NetAddress, ClassifiesSpecialPurposeAddresses) {
  struct Case {
    const char* addr;
    AddressClass cls;
  };
  const std::vector<Case> cases = {
      {"8.8.8.8", AddressClass::kPublic},          {"193.99.144.80", AddressClass::kPublic},
      {"127.0.0.1", AddressClass::kLoopback},      {"127.255.0.9", AddressClass::kLoopback},
      {"0.0.0.0", AddressClass::kUnspecified},     {"10.1.2.3", AddressClass::kPrivate},
      {"172.16.0.1", AddressClass::kPrivate},      {"172.31.255.255", AddressClass::kPrivate},
      {"172.32.0.1", AddressClass::kPublic},       {"192.168.1.1", AddressClass::kPrivate},
      {"100.64.0.1", AddressClass::kPrivate},      {"169.254.169.254", AddressClass::kLinkLocal},
      {"192.0.2.1", AddressClass::kReserved},      {"198.18.0.1", AddressClass::kReserved},
      {"203.0.113.8", AddressClass::kReserved},    {"224.0.0.1", AddressClass::kMulticast},
      {"255.255.255.255", AddressClass::kReserved},
      {"::1", AddressClass::kLoopback},            {"::", AddressClass::kUnspecified},
      {"fd12::1", AddressClass::kPrivate},         {"fc00::1", AddressClass::kPrivate},
      {"fe80::1", AddressClass::kLinkLocal},       {"fec0::1", AddressClass::kReserved},
      {"ff02::1", AddressClass::kMulticast},       {"2a00:1450:4001::1", AddressClass::kPublic},
      {"2001:db8::1", AddressClass::kReserved},    {"100::1", AddressClass::kReserved},
      {"::10.0.0.1", AddressClass::kReserved},
      // Outside global unicast 2000::/3: not public (the revocation copy's rule).
      {"4000::1", AddressClass::kReserved},        {"1::1", AddressClass::kReserved},
      // Judged by the IPv4 address inside.
      {"::ffff:127.0.0.1", AddressClass::kLoopback}, {"::ffff:10.0.0.1", AddressClass::kPrivate},
      {"::ffff:8.8.8.8", AddressClass::kPublic},
      {"64:ff9b::10.0.0.1", AddressClass::kPrivate}, {"64:ff9b::7f00:1", AddressClass::kLoopback},
      {"64:ff9b::8.8.8.8", AddressClass::kPublic},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyAddress(A(c.addr)), c.cls)
        << c.addr << " is " << AddressClassName(ClassifyAddress(A(c.addr)));
  }
}

TEST(NetAddress, SockaddrsOfBothFamilies) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "10.0.0.7", &v4.sin_addr), 1);
  const IpBytes b4 = AddressBytes(reinterpret_cast<const sockaddr*>(&v4));
  EXPECT_TRUE(IsIpv4Mapped(b4));
  EXPECT_EQ(AddressText(b4), "10.0.0.7");
  EXPECT_EQ(ClassifyAddress(b4), AddressClass::kPrivate);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "2a00:1450:4001::1", &v6.sin6_addr), 1);
  const IpBytes b6 = AddressBytes(reinterpret_cast<const sockaddr*>(&v6));
  EXPECT_EQ(AddressText(b6), "2a00:1450:4001::1");
  EXPECT_EQ(ClassifyAddress(b6), AddressClass::kPublic);
  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_EQ(ClassifyAddress(AddressBytes(&other)), AddressClass::kUnspecified);
}

TEST(NetAddress, ParsesNetworksAndRejectsNonsense) {
  EXPECT_EQ(ParseNetwork("10.0.0.0/8")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(ParseNetwork("fd00::/8")->ToString(), "fd00::/8");
  EXPECT_EQ(ParseNetwork("127.0.0.1")->ToString(), "127.0.0.1/32");
  EXPECT_TRUE(ParseNetwork("10.0.0.0/8")->Contains(A("10.255.0.1")));
  EXPECT_FALSE(ParseNetwork("10.0.0.0/8")->Contains(A("11.0.0.1")));
  EXPECT_FALSE(ParseNetwork("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseNetwork("::/129").ok());
  auto bad = ParseNetwork("mail.example");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("mail.example"), std::string::npos);
  EXPECT_FALSE(ParseNetwork("10.0.0.0/x").ok());
}

}  // namespace
}  // namespace sg
