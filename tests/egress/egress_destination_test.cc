// Which addresses egress connects to (egress/egress_destination.h, issue 13
// point 11): a table of special-purpose addresses, the allow-list, the
// gateway's own addresses, and the start-up check of configured hosts.
#include "egress/egress_destination.h"

#include <gtest/gtest.h>

#include "common/config_node.h"
#include "egress/egress_config.h"

namespace sg::egress {
namespace {

std::array<uint8_t, 16> A(const char* text) {
  auto n = ParseNetwork(text);
  EXPECT_TRUE(n.ok()) << text;
  return n.ok() ? n->addr : std::array<uint8_t, 16>{};
}

TEST(DestinationPolicy, ClassifiesSpecialPurposeAddresses) {
  const DestinationPolicy policy({*ParseNetwork("203.0.113.7"), *ParseNetwork("2001:db8::25")});
  const struct {
    const char* addr;
    AddressClass cls;
  } cases[] = {
      {"192.0.2.1", AddressClass::kReserved},  {"8.8.8.8", AddressClass::kPublic},
      {"127.0.0.1", AddressClass::kLoopback},  {"127.255.0.9", AddressClass::kLoopback},
      {"0.0.0.0", AddressClass::kUnspecified}, {"10.1.2.3", AddressClass::kPrivate},
      {"172.16.0.1", AddressClass::kPrivate},  {"172.31.255.255", AddressClass::kPrivate},
      {"172.32.0.1", AddressClass::kPublic},   {"192.168.1.1", AddressClass::kPrivate},
      {"100.64.0.1", AddressClass::kPrivate},  {"169.254.169.254", AddressClass::kLinkLocal},
      {"224.0.0.1", AddressClass::kMulticast}, {"255.255.255.255", AddressClass::kReserved},
      {"::1", AddressClass::kLoopback},        {"::", AddressClass::kUnspecified},
      {"fd12::1", AddressClass::kPrivate},     {"fe80::1", AddressClass::kLinkLocal},
      {"ff02::1", AddressClass::kMulticast},   {"2a00:1450::1", AddressClass::kPublic},
      // IPv4 inside IPv6 is judged by the IPv4 address.
      {"::ffff:127.0.0.1", AddressClass::kLoopback},
      {"::ffff:10.0.0.1", AddressClass::kPrivate},
      {"64:ff9b::10.0.0.1", AddressClass::kPrivate},
      {"64:ff9b::8.8.8.8", AddressClass::kPublic},
      // The gateway itself (configured own addresses).
      {"203.0.113.7", AddressClass::kSelf},    {"2001:db8::25", AddressClass::kSelf},
      {"203.0.113.8", AddressClass::kReserved},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(policy.Classify(A(c.addr)), c.cls) << c.addr << " is "
                                                 << AddressClassName(policy.Classify(A(c.addr)));
  }
}

TEST(DestinationPolicy, AllowedNetworksOpenExactlyThemselves) {
  const DestinationPolicy policy({});
  const std::vector<Network> allowed{*ParseNetwork("127.0.0.1/32"), *ParseNetwork("10.0.0.0/24")};
  EXPECT_FALSE(policy.Refuses(A("127.0.0.1"), allowed).has_value());
  EXPECT_EQ(policy.Refuses(A("127.0.0.2"), allowed), AddressClass::kLoopback);
  EXPECT_FALSE(policy.Refuses(A("10.0.0.200"), allowed).has_value());
  EXPECT_EQ(policy.Refuses(A("10.0.1.1"), allowed), AddressClass::kPrivate);
  EXPECT_FALSE(policy.Refuses(A("8.8.8.8"), {}).has_value());
  EXPECT_EQ(policy.Refuses(A("::1"), allowed), AddressClass::kLoopback);
  EXPECT_EQ(DestinationPolicy::RefusalText(A("127.0.0.2"), AddressClass::kLoopback, "egress.outbound"),
            "127.0.0.2 is a loopback address, not in egress.outbound.allowed_networks");
}

TEST(DestinationPolicy, ParsesNetworksAndRejectsNonsense) {
  EXPECT_EQ(ParseNetwork("10.0.0.0/8")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(ParseNetwork("fd00::/8")->ToString(), "fd00::/8");
  EXPECT_EQ(ParseNetwork("127.0.0.1")->ToString(), "127.0.0.1/32");
  EXPECT_FALSE(ParseNetwork("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseNetwork("::/129").ok());
  EXPECT_FALSE(ParseNetwork("mail.example").ok());
  EXPECT_FALSE(ParseNetwork("10.0.0.0/x").ok());
}

TEST(DestinationPolicy, TheHostsOwnInterfaceAddressesAreTheGatewayItself) {
  const auto local = LocalAddresses();
  ASSERT_FALSE(local.empty());
  const DestinationPolicy policy(local);
  EXPECT_EQ(policy.Classify(A("127.0.0.1")), AddressClass::kSelf);  // lo
}

Result<EgressConfig> Parse(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  return ParseEgressConfig(*doc->Root().Map("egress"), "/tmp");
}

TEST(DestinationPolicy, AConfiguredHostThatWouldBeRefusedStopsTheStart) {
  auto bad = Parse("egress: {inbound: {transport: smtp, hosts: [\"10.0.0.5:25\"]}}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("egress.inbound.hosts"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("10.0.0.5 is a private address, not in "
                                     "egress.inbound.allowed_networks"),
            std::string::npos)
      << bad.error().message;
  auto good = Parse(
      "egress: {inbound: {transport: smtp, hosts: [\"10.0.0.5:25\"], allowed_networks: "
      "[10.0.0.5/32]}, own_addresses: [198.51.100.9]}\n");
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  ASSERT_EQ(good->inbound.allowed_networks.size(), 1u);
  EXPECT_EQ(good->inbound.config_path, "egress.inbound");
  ASSERT_EQ(good->own_addresses.size(), 1u);
  auto route = Parse(
      "egress: {routes: [{domains: [p.example], transport: smtp, hosts: [\"[::1]:25\"]}]}\n");
  ASSERT_FALSE(route.ok());
  EXPECT_NE(route.error().message.find("egress.routes[0].allowed_networks"), std::string::npos)
      << route.error().message;
  auto junk = Parse("egress: {outbound: {allowed_networks: [\"not-a-net\"]}}\n");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message.find("egress.outbound.allowed_networks"), std::string::npos);
}

}  // namespace
}  // namespace sg::egress
