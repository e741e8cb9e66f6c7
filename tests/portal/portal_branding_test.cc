// Branding and language per hosted domain (issue 17, "Branding" and
// "Notification mail"): a domain's product name, colours, logo and template
// override appear in its notification and on its portal pages, another
// domain keeps the defaults; a domain set to German sends the German
// notification and shows German pages.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string_view>

#include "portal/portal_mime.h"
#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

namespace v1 = smimegate::v1;

void WriteFile(const std::string& path, std::string_view text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

constexpr std::string_view kLogo =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 4 4\"><rect width=\"4\" "
    "height=\"4\" fill=\"#ab12cd\"/></svg>";

class PortalBrandingTest : public testing::PortalServiceFixture {
 protected:
  void Configure(PortalConfig& c) override {
    DomainSettings acme;
    acme.domain = "corp.example";
    acme.product_name = "Acme Secure Post";
    acme.primary_color = "#ab12cd";
    acme.background_color = "#fefdfc";
    acme.logo_file = dir_.Sub("brand") + "/logo.svg";
    acme.templates_dir = dir_.Sub("brand") + "/templates";
    WriteFile(acme.logo_file, kLogo);
    WriteFile(acme.templates_dir + "/mail/en/notification.subject.mustache",
              "[Acme] {{sender}} left you a message");
    c.domains.push_back(acme);
  }
};

TEST_F(PortalBrandingTest, ADomainsBrandShowsInItsMailAndPagesOnly) {
  Put("q1", "bob@partner.example", "Acme figures");
  Put("q2", "carol@partner.example", "Plain figures", "", "dora@other.example");
  auto notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  const DecodedMail acme = Decode(*For(notes, "bob@partner.example"));
  const DecodedMail plain = Decode(*For(notes, "carol@partner.example"));
  // The domain's template override, name and colours in its notification.
  EXPECT_EQ(acme.subject, "[Acme] alice@corp.example left you a message");
  EXPECT_NE(acme.text.find("Acme Secure Post"), std::string::npos) << acme.text;
  EXPECT_NE(acme.html.find("Acme Secure Post"), std::string::npos) << acme.html;
  EXPECT_NE(acme.html.find("#ab12cd"), std::string::npos) << acme.html;
  EXPECT_NE(acme.html.find("#fefdfc"), std::string::npos) << acme.html;
  // Another domain's notification keeps the defaults.
  EXPECT_EQ(plain.subject.find("[Acme]"), std::string::npos) << plain.subject;
  EXPECT_EQ(plain.text.find("Acme"), std::string::npos);
  EXPECT_EQ(plain.html.find("#ab12cd"), std::string::npos);
  EXPECT_NE(plain.text.find(PortalConfig().defaults.product_name), std::string::npos);

  // The link's page carries the brand: name, stylesheet, logo.
  auto page = client_->Get("/l/" + LinkToken(*For(notes, "bob@partner.example")));
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Acme Secure Post"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("href=\"/brand/corp.example.css\""), std::string::npos);
  EXPECT_NE(page->body.find("src=\"/brand/corp.example/logo\""), std::string::npos);
  auto css = client_->Get("/brand/corp.example.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_NE(css->body.find("--primary:#ab12cd"), std::string::npos) << css->body;
  EXPECT_NE(css->body.find("--background:#fefdfc"), std::string::npos) << css->body;
  auto logo = client_->Get("/brand/corp.example/logo");
  ASSERT_TRUE(logo);
  EXPECT_EQ(logo->status, 200);
  EXPECT_EQ(logo->body, kLogo);
  EXPECT_EQ(logo->get_header_value("Content-Type"), "image/svg+xml");
  // The other domain's link page: the default brand.
  auto other = client_->Get("/l/" + LinkToken(*For(notes, "carol@partner.example")));
  ASSERT_TRUE(other);
  ASSERT_EQ(other->status, 200);
  EXPECT_EQ(other->body.find("Acme"), std::string::npos);
  EXPECT_NE(other->body.find("href=\"/brand/default.css\""), std::string::npos);
  // The brand stays with the account after registration.
  const std::string cookie = Register(LinkToken(*For(notes, "bob@partner.example")));
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  EXPECT_NE(inbox->body.find("Acme Secure Post"), std::string::npos);
}

class PortalGermanTest : public testing::PortalServiceFixture {
 protected:
  void Configure(PortalConfig& c) override {
    DomainSettings de;
    de.domain = "corp.example";
    de.language = "de";
    c.domains.push_back(de);
  }
};

TEST_F(PortalGermanTest, AGermanDomainSendsTheGermanNotificationAndPages) {
  Put("q1", "bob@partner.example", "Quartalszahlen");
  Put("q2", "carol@partner.example", "Figures", "", "dora@other.example");
  auto notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  const DecodedMail de = Decode(*For(notes, "bob@partner.example"));
  // (Whether the original subject follows is a per-domain option elsewhere.)
  EXPECT_EQ(de.subject.rfind("Verschlüsselte Nachricht von alice@corp.example", 0), 0u) << de.subject;
  EXPECT_NE(de.text.find("Guten Tag"), std::string::npos) << de.text;
  EXPECT_NE(de.text.find("verschlüsselt für Sie aufbewahrt"), std::string::npos) << de.text;
  EXPECT_NE(de.html.find("lang=\"de\""), std::string::npos) << de.html;
  EXPECT_EQ(de.text.find("Hello"), std::string::npos);
  // A domain without the setting: English.
  const DecodedMail en = Decode(*For(notes, "carol@partner.example"));
  EXPECT_EQ(en.subject.find("Verschlüsselte"), std::string::npos) << en.subject;
  EXPECT_EQ(en.text.find("Guten Tag"), std::string::npos);
  // Without Accept-Language the first page the link opens is in the
  // domain's language (review L-d: it used to fall back to English).
  auto plain = client_->Get("/l/" + LinkToken(*For(notes, "bob@partner.example")));
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200);
  EXPECT_NE(plain->body.find("Passwort wählen"), std::string::npos) << plain->body;
  EXPECT_NE(plain->body.find("lang=\"de\""), std::string::npos);
  // The first page the link opens is German for a German browser.
  auto page = client_->Get("/l/" + LinkToken(*For(notes, "bob@partner.example")),
                           {{"Accept-Language", "de-DE,de;q=0.9,en;q=0.5"}});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Passwort wählen"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("lang=\"de\""), std::string::npos);
  // A browser that asks for English gets English.
  auto english = client_->Get("/l/" + LinkToken(*For(notes, "bob@partner.example")),
                              {{"Accept-Language", "en-GB,en;q=0.8"}});
  ASSERT_TRUE(english);
  EXPECT_NE(english->body.find("Choose your password"), std::string::npos);
}

}  // namespace
}  // namespace sg::portal
