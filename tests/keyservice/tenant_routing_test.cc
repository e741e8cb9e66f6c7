// Per-tenant inbound routes and relay-client bindings in the keyservice
// registry (docs/tenants.md "Inbound routes", "Relay clients"): syntax,
// ownership, persistence, change events and the table ingress and egress
// follow (KeyService::TenantRouting).
#include <gtest/gtest.h>

#include "keyservice/key_service_impl.h"
#include "keyservice/tenant_routing.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

class TenantRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_.path());
    Open();
    ASSERT_TRUE(ks_->TenantAdd(Tenant{"acme", "ACME", ""}).ok());
    ASSERT_TRUE(ks_->TenantAdd(Tenant{"beta", "Beta", ""}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"beta.example", "beta"}).ok());
  }
  void Open() {
    ks_.reset();
    auto r = KeyServiceImpl::Open(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
  }
  static TenantRoute Route(const std::string& tenant, std::vector<std::string> hosts,
                           const std::string& tls) {
    TenantRoute r;
    r.tenant = tenant;
    r.hosts = std::move(hosts);
    r.tls = tls;
    return r;
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST(TenantRouteSyntax, HostsAndTlsPolicy) {
  TenantRoute r;
  r.hosts = {" Mail.ACME.example:2525 ", "[2001:db8::1]:25", "192.0.2.7", "2001:db8::2"};
  r.tls = "Verify";
  auto ok = NormalizeTenantRoute(r);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->hosts, (std::vector<std::string>{"mail.acme.example:2525", "[2001:db8::1]:25",
                                                 "192.0.2.7", "2001:db8::2"}));
  EXPECT_EQ(ok->tls, "verify");
  r.tls = "";
  EXPECT_EQ(NormalizeTenantRoute(r)->tls, "opportunistic");
  for (const char* bad : {"", "mail.example:0", "mail.example:70000", "mail example", "[::1",
                          "[not-ip]:25", "mail.example:x", "a:b:c:zz"}) {
    r.hosts = {bad};
    auto st = NormalizeTenantRoute(r);
    EXPECT_FALSE(st.ok()) << bad;
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
  r.hosts = {"mail.example"};
  r.tls = "sometimes";
  EXPECT_FALSE(NormalizeTenantRoute(r).ok());
  r.hosts = {};
  r.tls = "none";
  EXPECT_FALSE(NormalizeTenantRoute(r).ok()) << "a route needs a host";
}

TEST(TenantBindingSyntax, Kinds) {
  EXPECT_TRUE(NormalizeTenantBinding(TenantBinding{"user", "relay-acme", "acme"}).ok());
  EXPECT_TRUE(NormalizeTenantBinding(TenantBinding{"CERTIFICATE", "CN=connector.acme.example,O=ACME",
                                                   "acme"}).ok());
  EXPECT_EQ(NormalizeTenantBinding(TenantBinding{"Network", " 10.1.0.0/16 ", "acme"})->value,
            "10.1.0.0/16");
  EXPECT_FALSE(NormalizeTenantBinding(TenantBinding{"network", "10.1.0.0/33", "acme"}).ok());
  EXPECT_FALSE(NormalizeTenantBinding(TenantBinding{"user", "two words", "acme"}).ok());
  EXPECT_FALSE(NormalizeTenantBinding(TenantBinding{"user", "", "acme"}).ok());
  EXPECT_FALSE(NormalizeTenantBinding(TenantBinding{"certificate", "CN=x\ny", "acme"}).ok());
  auto st = NormalizeTenantBinding(TenantBinding{"ip", "10.0.0.1", "acme"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("user, certificate or network"), std::string::npos);
}

TEST_F(TenantRoutingTest, RouteSetClearPersistAndPublish) {
  auto before = ks_->WaitForChanges(0, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(before.ok());
  auto t = ks_->TenantRouteSet(Route("acme", {"mail.acme.example:2525"}, "required"));
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(t->route.hosts, std::vector<std::string>{"mail.acme.example:2525"});
  EXPECT_EQ(t->route.tls, "required");
  auto after = ks_->WaitForChanges(before->epoch, before->version, std::chrono::milliseconds(0));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->events.size(), 1u);
  EXPECT_EQ(after->events[0].kind, "tenant");
  EXPECT_EQ(after->events[0].subject, "acme");

  // Unknown tenant, bad host: refused, nothing stored.
  auto missing = ks_->TenantRouteSet(Route("nosuch", {"mail.example"}, "none"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ks_->TenantRouteSet(Route("beta", {"mail.example:0"}, "none")).ok());

  // A name or reseller change keeps the route; it survives a restart.
  ASSERT_TRUE(ks_->TenantAdd(Tenant{"acme", "ACME Corp", ""}).ok());
  Open();
  auto table = ks_->TenantRouting();
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  ASSERT_EQ(table->routes.size(), 1u);
  EXPECT_EQ(table->routes[0].tenant, "acme");
  EXPECT_EQ(table->routes[0].hosts, std::vector<std::string>{"mail.acme.example:2525"});
  EXPECT_EQ(table->routes[0].tls, "required");
  EXPECT_EQ(table->domains.size(), 3u);

  auto cleared = ks_->TenantRouteClear("acme");
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->route.hosts.empty());
  EXPECT_TRUE(ks_->TenantRouting()->routes.empty());
}

TEST_F(TenantRoutingTest, ClientBoundToOneTenantAtATime) {
  ASSERT_TRUE(ks_->TenantBind(TenantBinding{"user", "relay1", "acme"}).ok());
  ASSERT_TRUE(ks_->TenantBind(TenantBinding{"network", "10.1.0.0/16", "acme"}).ok());
  ASSERT_TRUE(ks_->TenantBind(TenantBinding{"user", "relay1", "acme"}).ok()) << "idempotent";
  auto again = ks_->TenantBind(TenantBinding{"user", "relay1", "beta"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(again.error().message.find("bound to tenant acme"), std::string::npos);
  EXPECT_EQ(ks_->TenantShow("acme")->bindings.size(), 2u);

  auto before = ks_->WaitForChanges(0, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(ks_->TenantUnbind(TenantBinding{"user", "relay1", ""}).ok());
  auto after = ks_->WaitForChanges(before->epoch, before->version, std::chrono::milliseconds(0));
  ASSERT_EQ(after->events.size(), 1u);
  EXPECT_EQ(after->events[0].kind, "tenant");
  auto gone = ks_->TenantUnbind(TenantBinding{"user", "relay1", ""});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(ks_->TenantBind(TenantBinding{"user", "relay1", "beta"}).ok()) << "rebinding";
  Open();
  auto table = ks_->TenantRouting();
  ASSERT_TRUE(table.ok());
  ASSERT_EQ(table->bindings.size(), 2u);
  std::map<std::string, std::string> got;
  for (const auto& b : table->bindings) got[b.kind + " " + b.value] = b.tenant;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"network 10.1.0.0/16", "acme"},
                                                     {"user relay1", "beta"}}));
}

}  // namespace
}  // namespace sg::keyservice
