// Which client a request is counted under (portal/portal_web_client.h,
// review R2): X-Forwarded-For only from a trusted proxy, its right-most
// entry, and a malformed one from the proxy is refused.
#include "portal/portal_web_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sg::portal {
namespace {

std::vector<Cidr> Proxies() { return {*Cidr::Parse("10.0.0.0/8"), *Cidr::Parse("fd00::/8")}; }

TEST(ResolveClientTest, AnUntrustedPeerIsKeyedOnItsOwnAddress) {
  const Client c = ResolveClient("192.0.2.9", {"198.51.100.1"}, Proxies());
  EXPECT_EQ(c.ip, "192.0.2.9");
  EXPECT_EQ(c.source, Client::Source::kPeer);
  // Nothing is trusted by default.
  EXPECT_EQ(ResolveClient("10.0.0.1", {"198.51.100.1"}, {}).ip, "10.0.0.1");
  // Not even a malformed header matters then.
  EXPECT_EQ(ResolveClient("192.0.2.9", {"garbage"}, Proxies()).source, Client::Source::kPeer);
}

TEST(ResolveClientTest, ATrustedProxyNamesTheClientInTheRightMostEntry) {
  Client c = ResolveClient("10.1.2.3", {"198.51.100.1"}, Proxies());
  EXPECT_EQ(c.ip, "198.51.100.1");
  EXPECT_EQ(c.source, Client::Source::kForwarded);
  // Entries further left were written by the client: never read.
  EXPECT_EQ(ResolveClient("10.1.2.3", {"203.0.113.5, 198.51.100.1"}, Proxies()).ip,
            "198.51.100.1");
  EXPECT_EQ(ResolveClient("10.1.2.3", {"203.0.113.5", "2001:db8::7"}, Proxies()).ip,
            "2001:db8::7");
  EXPECT_EQ(ResolveClient("fd00::1", {" 198.51.100.2 "}, Proxies()).ip, "198.51.100.2");
  // An IPv4 proxy seen IPv4-mapped is still the proxy.
  EXPECT_EQ(ResolveClient("::ffff:10.0.0.1", {"198.51.100.3"}, Proxies()).ip, "198.51.100.3");
  // No header from the proxy: the proxy itself (its health checks).
  c = ResolveClient("10.1.2.3", {}, Proxies());
  EXPECT_EQ(c.ip, "10.1.2.3");
  EXPECT_EQ(c.source, Client::Source::kPeer);
}

TEST(ResolveClientTest, AMalformedHeaderFromATrustedProxyIsMalformed) {
  const std::vector<std::string> bads = {"unknown", "198.51.100.1,", "", "198.51.100.1:443", "[2001:db8::1]", "198.51.100.0/24",
        "198.51.100.1 198.51.100.2", std::string(200, '1')};
  for (const std::string& bad : bads) {
    const Client c = ResolveClient("10.1.2.3", {bad}, Proxies());
    EXPECT_EQ(c.source, Client::Source::kMalformed) << bad;
    EXPECT_EQ(c.ip, "10.1.2.3") << bad;
  }
}

}  // namespace
}  // namespace sg::portal
