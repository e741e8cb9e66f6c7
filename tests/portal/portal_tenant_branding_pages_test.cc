// The portal with the tenants' branding (docs/tenants.md "Branding"): a fake
// keyservice registry with two branded tenants and one without; the
// notification mails (From, product name, colour, logo, support) and the
// pages a recipient sees (link page, stylesheet, logo) show the branding of
// the tenant owning the sender's domain; the tenant without one gets the
// config file's portal.*; with the keyservice down the last known branding
// stays. Everything a tenant set is escaped on pages and in HTML mail.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <string_view>

#include "portal/portal_mime.h"
#include "portal/portal_tenant_branding.h"
#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

namespace v1 = smimegate::v1;

constexpr std::string_view kSvg =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 4 4\"><rect width=\"4\" "
    "height=\"4\" fill=\"#ab12cd\"/></svg>";
constexpr std::string_view kPng = "\x89PNG\r\n\x1a\npretend-png";

class PortalTenantBrandingTest : public testing::PortalServiceFixture {
 protected:
  void BeforeStart(PortalService& service) override {
    TenantBrand acme;
    acme.display_name = "Acme <Holding> & Co";
    acme.sender_name = "Acme Notifications";
    acme.sender_address = "notify@corp.example";
    acme.product_name = "Acme Secure Post";
    acme.color = "#ab12cd";
    acme.support = "help@corp.example";
    acme.logo = std::string(kSvg);
    acme.logo_type = "image/svg+xml";
    brandings_["acme"] = acme;
    TenantBrand beta;
    beta.product_name = "Beta Mail";
    beta.logo = std::string(kPng);
    beta.logo_type = "image/png";
    brandings_["beta"] = beta;
    tenants_ = &service.EnableTenantBranding([this](const std::string& t) -> Result<TenantBrand> {
      if (down_) return MakeError(ErrorCode::kUnavailable, "keyservice unreachable");
      auto it = brandings_.find(t);
      return it == brandings_.end() ? TenantBrand{} : it->second;
    });
    tenants_->ReplaceDomains(
        {{"corp.example", "acme"}, {"beta.example", "beta"}, {"plain.example", "plain"}});
  }

  static bool Has(const std::string& s, std::string_view what) {
    return s.find(what) != std::string::npos;
  }

  std::map<std::string, TenantBrand> brandings_;
  TenantBrandings* tenants_ = nullptr;
  std::atomic<bool> down_{false};  // read by the portal's threads
};

TEST_F(PortalTenantBrandingTest, MailsAndPagesShowTheSendersTenantsBranding) {
  Put("q1", "bob@partner.example", "A", "", "alice@corp.example");
  Put("q2", "carol@partner.example", "B", "", "ben@beta.example");
  Put("q3", "dora@partner.example", "C", "", "pia@plain.example");
  auto notes = WaitForNotifications(3);
  ASSERT_EQ(notes.size(), 3u);
  const DecodedMail acme = Decode(*For(notes, "bob@partner.example"));
  const DecodedMail beta = Decode(*For(notes, "carol@partner.example"));
  const DecodedMail plain = Decode(*For(notes, "dora@partner.example"));
  // Acme: its From, name, colour, logo, organisation and support.
  EXPECT_TRUE(Has(acme.raw, "From: Acme Notifications <notify@corp.example>")) << acme.raw;
  EXPECT_TRUE(Has(acme.text, "Acme Secure Post")) << acme.text;
  EXPECT_TRUE(Has(acme.text, "Acme <Holding> & Co")) << acme.text;  // text: as is
  EXPECT_TRUE(Has(acme.text, "Support: help@corp.example")) << acme.text;
  EXPECT_TRUE(Has(acme.html, "#ab12cd")) << acme.html;
  EXPECT_TRUE(Has(acme.html, "Acme &lt;Holding&gt; &amp; Co")) << acme.html;
  EXPECT_FALSE(Has(acme.html, "<Holding>"));
  EXPECT_TRUE(Has(acme.html, "/brand/corp.example/logo\"")) << acme.html;
  // Beta: its name; the From stays the sender, named by the product.
  EXPECT_TRUE(Has(beta.raw, "From: Beta Mail <ben@beta.example>")) << beta.raw;
  EXPECT_TRUE(Has(beta.text, "Beta Mail"));
  EXPECT_FALSE(Has(beta.text, "Acme"));
  EXPECT_TRUE(Has(beta.html, "/brand/beta.example/logo\""));
  // A tenant without branding: the config's defaults.
  const std::string def = PortalConfig().defaults.product_name;
  EXPECT_TRUE(Has(plain.raw, "From: " + def + " <pia@plain.example>")) << plain.raw;
  EXPECT_TRUE(Has(plain.text, def));
  EXPECT_FALSE(Has(plain.html, "/logo"));
  EXPECT_FALSE(Has(plain.text, "Support:"));

  // The pages a recipient sees.
  auto page = client_->Get("/l/" + LinkToken(*For(notes, "bob@partner.example")));
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_TRUE(Has(page->body, "Acme Secure Post")) << page->body;
  EXPECT_TRUE(Has(page->body, "Acme &lt;Holding&gt; &amp; Co"));
  EXPECT_FALSE(Has(page->body, "<Holding>"));
  EXPECT_TRUE(Has(page->body, "help@corp.example"));
  EXPECT_TRUE(Has(page->body, "href=\"/brand/corp.example.css\""));
  EXPECT_TRUE(Has(page->body, "src=\"/brand/corp.example/logo\""));
  auto css = client_->Get("/brand/corp.example.css");
  ASSERT_TRUE(css);
  EXPECT_TRUE(Has(css->body, "--primary:#ab12cd")) << css->body;
  auto logo = client_->Get("/brand/corp.example/logo");
  ASSERT_TRUE(logo);
  EXPECT_EQ(logo->status, 200);
  EXPECT_EQ(logo->body, kSvg);
  EXPECT_EQ(logo->get_header_value("Content-Type"), "image/svg+xml");
  EXPECT_TRUE(Has(logo->get_header_value("Content-Security-Policy"), "sandbox"));
  EXPECT_EQ(logo->get_header_value("X-Content-Type-Options"), "nosniff");
  auto png = client_->Get("/brand/beta.example/logo");
  ASSERT_TRUE(png);
  EXPECT_EQ(png->body, kPng);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  // The plain tenant's recipient: the default brand, no logo.
  auto other = client_->Get("/l/" + LinkToken(*For(notes, "dora@partner.example")));
  ASSERT_TRUE(other);
  ASSERT_EQ(other->status, 200);
  EXPECT_FALSE(Has(other->body, "Acme"));
  EXPECT_TRUE(Has(other->body, "href=\"/brand/default.css\""));
  EXPECT_FALSE(Has(other->body, "/logo\""));
  auto none = client_->Get("/brand/plain.example/logo");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  // The brand stays with the account: the login page after registration.
  const std::string cookie = Register(LinkToken(*For(notes, "bob@partner.example")));
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  EXPECT_TRUE(Has(inbox->body, "Acme Secure Post"));
}

TEST_F(PortalTenantBrandingTest, TheKeyserviceDownKeepsTheLastKnownBranding) {
  Put("q1", "bob@partner.example", "A", "", "alice@corp.example");
  ASSERT_EQ(WaitForNotifications(1).size(), 1u);
  // The registry becomes unreachable and the cached entry grows old; a
  // registry change (the follower's table) asks for a read as well.
  down_ = true;
  AdvanceMs(3'600'000);
  tenants_->ReplaceDomains({{"corp.example", "acme"}, {"beta.example", "beta"}});
  Put("q2", "carol@partner.example", "B", "", "alice@corp.example");
  Put("q3", "dora@partner.example", "C", "", "ben@beta.example");
  auto notes = WaitForNotifications(3);
  ASSERT_EQ(notes.size(), 3u);
  const DecodedMail kept = Decode(*For(notes, "carol@partner.example"));
  EXPECT_TRUE(Has(kept.raw, "From: Acme Notifications <notify@corp.example>")) << kept.raw;
  EXPECT_TRUE(Has(kept.text, "Acme Secure Post"));
  // Beta was never read: the config's brand until the keyservice answers.
  const DecodedMail never = Decode(*For(notes, "dora@partner.example"));
  EXPECT_FALSE(Has(never.text, "Beta Mail"));
  EXPECT_TRUE(Has(never.text, PortalConfig().defaults.product_name));
  auto css = client_->Get("/brand/corp.example.css");
  ASSERT_TRUE(css);
  EXPECT_TRUE(Has(css->body, "--primary:#ab12cd"));
  EXPECT_GE(Metric("smimegate_portal_tenant_branding_reads_total{result=\"failed\"}"), 1);
}

}  // namespace
}  // namespace sg::portal
