// Per-tenant inbound routes (docs/tenants.md "Inbound routes"): inbound mail
// to a tenant's domain takes the tenant's route from the registry, others
// the config file's egress.inbound; a changed route gets new connections.
#include <gtest/gtest.h>

#include "egress/egress_config.h"
#include "egress/egress_route.h"

namespace sg::egress {
namespace {

namespace v1 = smimegate::v1;

EgressConfig Config() {
  auto doc = config::ConfigDocument::LoadString(R"(
egress:
  inbound: {transport: smtp, hosts: ["mail.internal"], max_connections: 4,
            allowed_networks: [127.0.0.0/8], tls: {mode: none}}
)",
                                                "test.yaml");
  EXPECT_TRUE(doc.ok());
  auto cfg = ParseEgressConfig(*doc->Root().Map("egress"), "/var/lib/sg");
  EXPECT_TRUE(cfg.ok()) << cfg.error().ToString();
  return *cfg;
}

TenantRoutes Two(const std::string& acme_host, const std::string& tls) {
  TenantRoutes t;
  t.domain_tenant = {{"acme.example", "acme"}, {"beta.example", "beta"}, {"example.com", "default"}};
  t.routes["acme"] = TenantRouteSpec{{acme_host}, tls};
  return t;
}

TEST(EgressTenantRoute, InboundMailTakesItsTenantsRoute) {
  EgressConfig cfg = Config();
  Router router(cfg);
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_INBOUND, "a@acme.example").name, "inbound")
      << "no tenant routes yet";
  EXPECT_EQ(router.ReplaceTenantRoutes(Two("127.0.0.1:2525", "verify")), 1u);
  const RouteConfig& acme = router.RouteFor(v1::DIRECTION_INBOUND, "a@ACME.example");
  EXPECT_EQ(acme.name, "tenant:acme");
  EXPECT_EQ(acme.transport, TransportKind::kSmtp);
  ASSERT_EQ(acme.hosts.size(), 1u);
  EXPECT_EQ(acme.hosts[0].host, "127.0.0.1");
  EXPECT_EQ(acme.hosts[0].port, 2525);
  EXPECT_EQ(acme.tls.mode, TlsMode::kRequired);
  EXPECT_TRUE(acme.tls.verify);
  EXPECT_EQ(acme.max_connections, 4) << "from egress.inbound";
  EXPECT_EQ(acme.allowed_networks.size(), 1u) << "from egress.inbound";
  // A tenant without a route, an unknown domain: the config file's route.
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_INBOUND, "a@beta.example").name, "inbound");
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_INBOUND, "a@other.example").name, "inbound");
  // Outbound mail never takes a tenant route.
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_OUTBOUND, "a@acme.example").name, "outbound");
}

TEST(EgressTenantRoute, ChangedRouteGetsNewConnectionsUnchangedKeepsThem) {
  EgressConfig cfg = Config();
  Router router(cfg);
  router.ReplaceTenantRoutes(Two("127.0.0.1:2525", "none"));
  const RouteConfig* first = &router.RouteFor(v1::DIRECTION_INBOUND, "a@acme.example");
  const std::string key = Router::DestinationKey(*first, "a@acme.example");
  router.ReplaceTenantRoutes(Two("127.0.0.1:2525", "none"));  // another domain event
  EXPECT_EQ(&router.RouteFor(v1::DIRECTION_INBOUND, "a@acme.example"), first);
  router.ReplaceTenantRoutes(Two("127.0.0.1:2526", "opportunistic"));
  const RouteConfig& second = router.RouteFor(v1::DIRECTION_INBOUND, "a@acme.example");
  EXPECT_EQ(second.hosts[0].port, 2526);
  EXPECT_NE(Router::DestinationKey(second, "a@acme.example"), key)
      << "old sessions to the old host must not carry the new route's mail";
  EXPECT_EQ(first->hosts[0].port, 2525) << "the old route stays valid for jobs holding it";
  // Cleared: back to egress.inbound.
  TenantRoutes none = Two("x", "none");
  none.routes.clear();
  EXPECT_EQ(router.ReplaceTenantRoutes(none), 0u);
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_INBOUND, "a@acme.example").name, "inbound");
}

TEST(EgressTenantRoute, UnusableRouteFallsBackToTheConfigRoute) {
  EgressConfig cfg = Config();
  Router router(cfg);
  EXPECT_EQ(router.ReplaceTenantRoutes(Two("mail.example:0", "none")), 0u);
  EXPECT_EQ(router.RouteFor(v1::DIRECTION_INBOUND, "a@acme.example").name, "inbound");
  EXPECT_FALSE(TenantRouteConfig("acme", TenantRouteSpec{{"m.example"}, "sometimes"}, cfg.inbound).ok());
}

}  // namespace
}  // namespace sg::egress
