// The account pages over HTTPS (issue 17, "Registration and login"):
// password reset only by a new link to the same address (single use, the
// old password refused afterwards, the new one works) and TOTP as an option
// (after turning it on, the password alone does not log in).
#include <gtest/gtest.h>

#include "portal/portal_accounts.h"
#include "portal/portal_totp.h"
#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

using testing::kPassword;

std::string NewPassword() { return "Orchid-Lantern-Basalt-77"; }

class PortalAccountPagesTest : public testing::PortalServiceFixture {
 protected:
  // bob@partner.example registered through his first message's link; his
  // session cookie.
  std::string RegisterBob() {
    Put("q1", "bob@partner.example", "For Bob");
    auto notes = WaitForNotifications(1);
    EXPECT_EQ(notes.size(), 1u);
    return notes.empty() ? std::string() : Register(LinkToken(notes[0]));
  }

  // The reset link mailed to `address` after the reset form (token), or "".
  std::string RequestResetLink(const std::string& address) {
    const size_t before = Notifications().size();
    auto page = client_->Get("/reset");
    EXPECT_TRUE(page);
    if (!page) return {};
    auto sent = client_->Post("/reset", {{"Cookie", Cookie(page)}},
                              httplib::Params{{"csrf", Csrf(page->body)}, {"address", address}});
    EXPECT_TRUE(sent);
    if (!sent) return {};
    EXPECT_EQ(sent->status, 200) << sent->body;
    service_->accounts().Drain();  // the mail is written in the background
    auto notes = Notifications();
    if (notes.size() != before + 1) return {};
    EXPECT_EQ(notes.back().envelope().recipients(0).address(), address);
    return LinkToken(notes.back(), "r");
  }

  // The reset form posted with a session's CSRF token (from the reset
  // request page: a used or expired link's own page has no form).
  httplib::Result SubmitReset(const std::string& token, const std::string& password,
                              const std::string& code = "") {
    auto page = client_->Get("/reset");
    EXPECT_TRUE(page);
    httplib::Params form{{"csrf", page ? Csrf(page->body) : std::string()},
                         {"password", password},
                         {"password2", password}};
    if (!code.empty()) form.emplace("code", code);
    return client_->Post("/r/" + token, {{"Cookie", page ? Cookie(page) : std::string()}}, form);
  }

  // Base32 (RFC 4648, no padding) as shown on the TOTP setup page.
  static std::string FromBase32(const std::string& text) {
    static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
      const size_t v = kAlphabet.find(c);
      if (v == std::string::npos) continue;
      buffer = (buffer << 5) | static_cast<uint32_t>(v);
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((buffer >> bits) & 0xff));
      }
    }
    return out;
  }

  std::string TotpCode(const std::string& secret) { return Totp(secret, clock_.NowMs() / 1000); }
};

TEST_F(PortalAccountPagesTest, ResetByMailedLinkIsSingleUseAndReplacesThePassword) {
  ASSERT_FALSE(RegisterBob().empty());
  // An unknown address gets the same page and no mail.
  const size_t mails = Notifications().size();
  auto page = client_->Get("/reset");
  ASSERT_TRUE(page);
  auto unknown = client_->Post("/reset", {{"Cookie", Cookie(page)}},
                               httplib::Params{{"csrf", Csrf(page->body)},
                                               {"address", "nobody@partner.example"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 200);
  service_->accounts().Drain();
  EXPECT_EQ(Notifications().size(), mails);

  const std::string token = RequestResetLink("bob@partner.example");
  ASSERT_EQ(token.size(), 43u) << "no reset link was mailed";
  EXPECT_EQ(client_->Get("/l/" + token)->status, 410) << "a reset token opened a message link";
  auto form = client_->Get("/r/" + token);
  ASSERT_TRUE(form);
  ASSERT_EQ(form->status, 200) << form->body;
  EXPECT_NE(form->body.find("bob@partner.example"), std::string::npos);
  auto done = SubmitReset(token, NewPassword());
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 303) << done->body;
  EXPECT_EQ(done->get_header_value("Location"), "/inbox?n=password_changed");
  auto inbox = client_->Get("/inbox", {{"Cookie", Cookie(done)}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  EXPECT_NE(inbox->body.find("For Bob"), std::string::npos);

  // Single use: the page and the form both refuse the link now.
  auto again = client_->Get("/r/" + token);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 410);
  auto reused = SubmitReset(token, "Another-Password-99-x");
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 410) << reused->body;
  // The old password is refused, the new one logs in.
  auto old_login = Login("bob@partner.example", kPassword);
  ASSERT_TRUE(old_login);
  EXPECT_EQ(old_login->status, 401);
  auto new_login = Login("bob@partner.example", NewPassword());
  ASSERT_TRUE(new_login);
  EXPECT_EQ(new_login->status, 303) << new_login->body;
}

TEST_F(PortalAccountPagesTest, AResetLinkExpires) {
  ASSERT_FALSE(RegisterBob().empty());
  const std::string token = RequestResetLink("bob@partner.example");
  ASSERT_EQ(token.size(), 43u);
  AdvanceMs(config_.reset_link_ttl.count());
  auto late = SubmitReset(token, NewPassword());
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 410);
  EXPECT_EQ(Login("bob@partner.example", kPassword)->status, 303);
}

TEST_F(PortalAccountPagesTest, WithTotpOnThePasswordAloneDoesNotLogIn) {
  const std::string cookie = RegisterBob();
  ASSERT_FALSE(cookie.empty());
  // Turn TOTP on: the setup page shows the secret, the first code confirms.
  auto setup = client_->Post("/settings/totp/start", {{"Cookie", cookie}},
                             httplib::Params{{"csrf", CsrfFor(cookie)}, {"password", kPassword}});
  ASSERT_TRUE(setup);
  ASSERT_EQ(setup->status, 200) << setup->body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(setup->body, m, std::regex("id=\"totp-secret\">([A-Z2-7]+)<")))
      << setup->body;
  const std::string secret = FromBase32(m[1].str());
  ASSERT_EQ(secret.size(), 20u);
  auto wrong = client_->Post("/settings/totp/confirm", {{"Cookie", cookie}},
                             httplib::Params{{"csrf", CsrfFor(cookie)}, {"code", "000000"},
                                             {"password", kPassword}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 400);
  EXPECT_TRUE(service_->store().GetAccount("bob@partner.example")->value()
                  .sealed_totp_secret().empty());
  auto confirm = client_->Post("/settings/totp/confirm", {{"Cookie", cookie}},
                               httplib::Params{{"csrf", CsrfFor(cookie)},
                                               {"code", TotpCode(secret)},
                                               {"password", kPassword}});
  ASSERT_TRUE(confirm);
  ASSERT_EQ(confirm->status, 303) << confirm->body;
  EXPECT_EQ(confirm->get_header_value("Location"), "/settings?n=totp_enabled");
  EXPECT_FALSE(service_->store().GetAccount("bob@partner.example")->value()
                   .sealed_totp_secret().empty());

  // The password alone: a session that is not logged in yet.
  AdvanceMs(30'000);  // the next TOTP step (the confirming code is used)
  auto first = Login("bob@partner.example", kPassword);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 303) << first->body;
  EXPECT_EQ(first->get_header_value("Location"), "/login/totp");
  const std::string pending = Cookie(first);
  auto not_yet = client_->Get("/inbox", {{"Cookie", pending}});
  ASSERT_TRUE(not_yet);
  EXPECT_EQ(not_yet->status, 303);
  EXPECT_EQ(not_yet->get_header_value("Location"), "/login");
  // A wrong code is refused, the right one logs in.
  auto totp_page = client_->Get("/login/totp", {{"Cookie", pending}});
  ASSERT_TRUE(totp_page);
  ASSERT_EQ(totp_page->status, 200);
  const std::string code = TotpCode(secret);
  const std::string bad = code == "123456" ? "654321" : "123456";
  auto refused = client_->Post("/login/totp", {{"Cookie", pending}},
                               httplib::Params{{"csrf", Csrf(totp_page->body)}, {"code", bad}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto ok = client_->Post("/login/totp", {{"Cookie", pending}},
                          httplib::Params{{"csrf", Csrf(totp_page->body)}, {"code", code}});
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 303) << ok->body;
  EXPECT_EQ(ok->get_header_value("Location"), "/inbox");
  auto inbox = client_->Get("/inbox", {{"Cookie", Cookie(ok)}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  // The same code once more (replay) does not log in a second session.
  AdvanceMs(1000);
  auto second = Login("bob@partner.example", kPassword);
  ASSERT_TRUE(second);
  auto replay_page = client_->Get("/login/totp", {{"Cookie", Cookie(second)}});
  ASSERT_TRUE(replay_page);
  auto replay = client_->Post("/login/totp", {{"Cookie", Cookie(second)}},
                              httplib::Params{{"csrf", Csrf(replay_page->body)}, {"code", code}});
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 401);
}

}  // namespace
}  // namespace sg::portal
