// The built-in templates: every one parses, the notification renders in
// English and German, and HTML templates escape what they are given.
#include "portal/portal_templates.h"

#include <gtest/gtest.h>

namespace sg::portal {
namespace {

std::unique_ptr<Templates> Builtin() {
  static const PortalConfig config;
  auto t = Templates::Load(config);
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return t.ok() ? std::move(*t) : nullptr;
}

mustache::data Notification(const std::string& sender) {
  mustache::data d;
  d.set("sender", sender);
  d.set("subject", "Figures");
  d.set("link", "https://portal.example/l/TOKEN");
  d.set("expires", "2030-01-01");
  d.set("kept_until", "2030-04-01");
  d.set("product_name", "Secure Mail");
  d.set("first_visit", true);
  d.set("code_required", false);
  return d;
}

TEST(PortalTemplates, NotificationInEnglishAndGerman) {
  auto t = Builtin();
  ASSERT_NE(t, nullptr);
  auto en = t->Render("", "mail/en/notification.txt", Notification("alice@corp.example"));
  auto de = t->Render("", "mail/de/notification.txt", Notification("alice@corp.example"));
  ASSERT_TRUE(en.ok() && de.ok());
  EXPECT_NE(en->find("https://portal.example/l/TOKEN"), std::string::npos);
  EXPECT_NE(de->find("https://portal.example/l/TOKEN"), std::string::npos);
  EXPECT_NE(en->find("password"), std::string::npos) << *en;
  EXPECT_NE(de->find("Passwort"), std::string::npos) << *de;
  EXPECT_NE(*en, *de);
  for (const char* lang : {"en", "de"}) {
    for (const char* kind : {"notification", "reset", "code"}) {
      for (const char* part : {"subject", "txt", "html"}) {
        const std::string name = std::string("mail/") + lang + "/" + kind + "." + part;
        EXPECT_TRUE(t->Render("", name, Notification("a@b.example")).ok()) << name;
      }
    }
  }
}

TEST(PortalTemplates, HtmlEscapesValuesTextDoesNot) {
  auto t = Builtin();
  ASSERT_NE(t, nullptr);
  const std::string evil = "<script>alert(1)</script>@corp.example";
  auto html = t->Render("", "mail/en/notification.html", Notification(evil));
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("<script>"), std::string::npos);
  EXPECT_NE(html->find("&lt;script&gt;"), std::string::npos);
  auto txt = t->Render("", "mail/en/notification.txt", Notification(evil));
  EXPECT_NE(txt->find("<script>"), std::string::npos);
}

TEST(PortalTemplates, StringsPerLanguageWithEnglishFallback) {
  auto t = Builtin();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->String("", "de", "inbox"), "Posteingang");
  EXPECT_NE(t->String("", "en", "inbox"), "Posteingang");
  EXPECT_EQ(t->String("", "fr", "inbox"), t->String("", "en", "inbox"));
  EXPECT_FALSE(t->Render("", "web/nope.html", mustache::data()).ok());
}

}  // namespace
}  // namespace sg::portal
