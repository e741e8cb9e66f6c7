// TenantBrandings (portal_tenant_branding.h): the per-tenant cache of the
// registry's brandings with a fake keyservice (a map and a switch) and a
// fake clock: read once per ttl, read again after a registry change, kept
// while the keyservice is down (retried after `retry`), bounded in size,
// and checked again (colour, logo type and size).
#include "portal/portal_tenant_branding.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

using namespace std::chrono_literals;

// The keyservice's registry as the portal reads it.
struct FakeRegistry {
  std::map<std::string, TenantBrand> brandings;  // tenants without one: absent
  bool down = false;
  int reads = 0;
  TenantBrandingFetch Fetch() {
    return [this](const std::string& tenant) -> Result<TenantBrand> {
      ++reads;
      if (down) return MakeError(ErrorCode::kUnavailable, "keyservice at 127.0.0.1:1 unreachable");
      auto it = brandings.find(tenant);
      return it == brandings.end() ? TenantBrand{} : it->second;
    };
  }
};

class TenantBrandingsTest : public ::testing::Test {
 protected:
  TenantBrandingsTest() {
    TenantBrand acme;
    acme.product_name = "Acme Secure Post";
    acme.color = "#ab12cd";
    registry_.brandings["acme"] = acme;
    TenantBrand beta;
    beta.product_name = "Beta Mail";
    registry_.brandings["beta"] = beta;
  }
  std::unique_ptr<TenantBrandings> Make(size_t max_tenants = 100) {
    TenantBrandingOptions o;
    o.ttl = 60s;
    o.retry = 10s;
    o.max_tenants = max_tenants;
    auto b = std::make_unique<TenantBrandings>(registry_.Fetch(), o, clock_, metrics_);
    b->ReplaceDomains({{"corp.example", "acme"},
                       {"beta.example", "beta"},
                       {"plain.example", "plain"},
                       {"c.example", "c"}});
    return b;
  }
  FakeRegistry registry_;
  sg::testing::FakeClock clock_;
  metrics::Registry metrics_;
};

TEST_F(TenantBrandingsTest, EachDomainGetsItsTenantsBrandingReadOncePerTtl) {
  auto made = Make();
  TenantBrandings& b = *made;
  auto acme = b.ForDomain("corp.example");
  ASSERT_TRUE(acme);
  EXPECT_EQ(acme->product_name, "Acme Secure Post");
  EXPECT_EQ(acme->tenant, "acme");
  ASSERT_TRUE(b.ForDomain("beta.example"));
  EXPECT_EQ(b.ForDomain("beta.example")->product_name, "Beta Mail");
  // A tenant without branding, a domain in no tenant: none (the config's).
  EXPECT_FALSE(b.ForDomain("plain.example"));
  EXPECT_FALSE(b.ForDomain("unknown.example"));
  EXPECT_EQ(registry_.reads, 3);
  for (int i = 0; i < 5; ++i) b.ForDomain("corp.example");
  EXPECT_EQ(registry_.reads, 3);  // cached
  registry_.brandings["acme"].product_name = "Acme Post 2";
  clock_.Advance(61s);
  EXPECT_EQ(b.ForDomain("corp.example")->product_name, "Acme Post 2");
  EXPECT_EQ(registry_.reads, 4);
}

TEST_F(TenantBrandingsTest, ARegistryChangeHasTheBrandingReadAgain) {
  auto made = Make();
  TenantBrandings& b = *made;
  ASSERT_TRUE(b.ForDomain("corp.example"));
  registry_.brandings["acme"].product_name = "Acme Renamed";
  // The follower's table after a change event; a domain moved to beta.
  b.ReplaceDomains({{"corp.example", "beta"}});
  EXPECT_EQ(b.ForDomain("corp.example")->product_name, "Beta Mail");
  b.ReplaceDomains({{"corp.example", "acme"}});
  EXPECT_EQ(b.ForDomain("corp.example")->product_name, "Acme Renamed");
}

TEST_F(TenantBrandingsTest, TheKeyserviceDownKeepsTheLastKnownBrandingAndRetriesLater) {
  auto made = Make();
  TenantBrandings& b = *made;
  ASSERT_TRUE(b.ForDomain("corp.example"));
  registry_.down = true;
  clock_.Advance(61s);
  auto kept = b.ForDomain("corp.example");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->product_name, "Acme Secure Post");
  const int reads = registry_.reads;
  b.ForDomain("corp.example");
  EXPECT_EQ(registry_.reads, reads);  // not before `retry`
  clock_.Advance(11s);
  EXPECT_TRUE(b.ForDomain("corp.example"));
  EXPECT_EQ(registry_.reads, reads + 1);
  // A tenant never read: the config's brand, and no read on every page.
  EXPECT_FALSE(b.ForDomain("beta.example"));
  const int after = registry_.reads;
  EXPECT_FALSE(b.ForDomain("beta.example"));
  EXPECT_EQ(registry_.reads, after);
  // Back up: read at the next try.
  registry_.down = false;
  clock_.Advance(11s);
  ASSERT_TRUE(b.ForDomain("beta.example"));
  EXPECT_EQ(b.ForDomain("beta.example")->product_name, "Beta Mail");
  EXPECT_NE(metrics_.Serialize().find(
                "smimegate_portal_tenant_branding_reads_total{result=\"failed\"} 3"),
            std::string::npos)
      << metrics_.Serialize();
}

TEST_F(TenantBrandingsTest, AtMostMaxTenantsAreKept) {
  registry_.brandings["c"].product_name = "C";
  auto made = Make(2);
  TenantBrandings& b = *made;
  b.ForDomain("corp.example");
  b.ForDomain("beta.example");
  b.ForDomain("corp.example");  // acme used last: beta goes first
  b.ForDomain("c.example");
  EXPECT_EQ(b.cached(), 2u);
  const int reads = registry_.reads;
  b.ForDomain("corp.example");
  EXPECT_EQ(registry_.reads, reads);  // still cached
  b.ForDomain("beta.example");
  EXPECT_EQ(registry_.reads, reads + 1);  // evicted, read again
}

TEST_F(TenantBrandingsTest, ABadColourFromTheRegistryIsNotShown) {
  registry_.brandings["acme"].color = "red;}body{background:url(x)";
  auto made = Make();
  auto acme = made->ForDomain("corp.example");
  ASSERT_TRUE(acme);
  EXPECT_EQ(acme->color, "");
  EXPECT_EQ(acme->product_name, "Acme Secure Post");
  EXPECT_NE(metrics_.Serialize().find(
                "smimegate_portal_tenant_branding_reads_total{result=\"refused\"} 1"),
            std::string::npos);
}

TEST(SanitizeTenantBrandTest, DropsWhatThePortalMustNotShow) {
  TenantBrand ok;
  ok.color = "#A1b2C3";
  ok.logo = std::string("\x89PNG\r\n\x1a\n", 8) + "data";
  ok.logo_type = "image/png";
  EXPECT_FALSE(SanitizeTenantBrand(ok));
  EXPECT_EQ(ok.color, "#A1b2C3");
  EXPECT_FALSE(ok.logo.empty());

  TenantBrand css;
  css.color = "red;}body{background:url(x)";
  EXPECT_TRUE(SanitizeTenantBrand(css));
  EXPECT_EQ(css.color, "");

  TenantBrand wrong_type;  // HTML declared as a PNG
  wrong_type.logo = "<html><script>alert(1)</script></html>";
  wrong_type.logo_type = "image/png";
  EXPECT_TRUE(SanitizeTenantBrand(wrong_type));
  EXPECT_EQ(wrong_type.logo, "");
  EXPECT_EQ(wrong_type.logo_type, "");

  TenantBrand html_type;
  html_type.logo = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
  html_type.logo_type = "text/html";
  EXPECT_TRUE(SanitizeTenantBrand(html_type));
  EXPECT_EQ(html_type.logo, "");

  TenantBrand big;
  big.logo = "<svg xmlns=\"http://www.w3.org/2000/svg\">" + std::string(kMaxTenantLogoBytes, ' ') +
             "</svg>";
  big.logo_type = "image/svg+xml";
  EXPECT_TRUE(SanitizeTenantBrand(big));
  EXPECT_EQ(big.logo, "");
}

}  // namespace
}  // namespace sg::portal
