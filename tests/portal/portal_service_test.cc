// The portal stage end to end inside one process: a web-encryption record
// on the portal topic (embedded queue) is stored once and notified through
// the deliver topic; the link leads over HTTPS to registration, the inbox,
// the message and its attachment. The attacks of issue 17 that need no
// browser: a POST without CSRF token, another recipient's message id, a
// reused link, 20 wrong passwords, the cookie's attributes.
#include "portal/portal_service.h"

#include <gtest/gtest.h>

#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

namespace v1 = smimegate::v1;

using PortalServiceTest = testing::PortalServiceFixture;
using testing::kAttachmentBytes;
using testing::kPassword;
using testing::Message;

TEST_F(PortalServiceTest, StoredOnceNotifiedAndReadableAfterRegistration) {
  Put("q1", "Bob@Partner.Example", "Quarterly figures");
  Put("q1", "Bob@Partner.Example", "Quarterly figures");  // delivered twice by the queue
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  // Only once the intake has committed both records does "one
  // notification" say anything.
  ASSERT_TRUE(PortalHandled(2)) << "the intake did not commit both records";
  EXPECT_EQ(Metric("smimegate_portal_duplicates_total"), 1);
  EXPECT_EQ(Metric("smimegate_portal_messages_stored_total"), 1);
  EXPECT_EQ(Notifications().size(), 1u);
  EXPECT_EQ(*service_->store().CountMessages("bob@partner.example"), 1u);
  const v1::MessageRecord& note = notes[0];
  EXPECT_EQ(note.envelope().recipients(0).address(), "bob@partner.example");
  EXPECT_NE(note.message().find("multipart/alternative"), std::string::npos);
  EXPECT_EQ(note.message().find("The figures are attached"), std::string::npos);
  const std::string token = LinkToken(note);
  ASSERT_EQ(token.size(), 43u) << note.message();

  const std::string cookie = Register(token);
  ASSERT_FALSE(cookie.empty());
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  EXPECT_NE(inbox->body.find("Quarterly figures"), std::string::npos) << inbox->body;
  EXPECT_NE(inbox->get_header_value("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_NE(inbox->get_header_value("Strict-Transport-Security"), "");

  auto list = service_->store().ListMessages("bob@partner.example", "", 10);
  ASSERT_EQ(list->size(), 1u);
  const std::string id = (*list)[0].id();
  auto message = client_->Get("/m/" + id, {{"Cookie", cookie}});
  ASSERT_TRUE(message);
  EXPECT_EQ(message->status, 200);
  EXPECT_NE(message->body.find("figures.pdf"), std::string::npos) << message->body;
  std::smatch link;
  ASSERT_TRUE(std::regex_search(message->body, link, std::regex("href=\"(/m/[0-9a-f]{32}/a/[0-9]+)\"")))
      << message->body;
  auto attachment = client_->Get(link[1].str(), {{"Cookie", cookie}});
  ASSERT_TRUE(attachment);
  EXPECT_EQ(attachment->status, 200);
  EXPECT_EQ(attachment->body, std::string(kAttachmentBytes, sizeof kAttachmentBytes - 1));
  EXPECT_EQ(attachment->get_header_value("Content-Type"), "application/octet-stream");
  auto eml = client_->Get("/m/" + id + "/eml", {{"Cookie", cookie}});
  ASSERT_TRUE(eml);
  EXPECT_EQ(eml->body, Message("Quarterly figures"));
}

TEST_F(PortalServiceTest, TheSessionCookieIsHostOnlySecureHttpOnlyStrict) {
  auto page = client_->Get("/login");
  ASSERT_TRUE(page);
  const std::string set = page->get_header_value("Set-Cookie");
  EXPECT_EQ(set.rfind("__Host-sg_session=", 0), 0u) << set;
  EXPECT_NE(set.find("Secure"), std::string::npos) << set;
  EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos) << set;
  EXPECT_EQ(set.find("Domain="), std::string::npos) << set;
}

TEST_F(PortalServiceTest, AttacksAreRefused) {
  Put("q1", "bob@partner.example", "For Bob");
  Put("q2", "carol@partner.example", "For Carol");
  auto notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  const std::string bob_token =
      LinkToken(notes[0].envelope().recipients(0).address() == "bob@partner.example" ? notes[0]
                                                                                     : notes[1]);
  // A state change without the CSRF token.
  auto page = client_->Get("/l/" + bob_token);
  ASSERT_TRUE(page);
  auto no_csrf = client_->Post("/l/" + bob_token, {{"Cookie", Cookie(page)}},
                               httplib::Params{{"password", "Tundra-Kettle-Violin-42"},
                                               {"password2", "Tundra-Kettle-Violin-42"}});
  ASSERT_TRUE(no_csrf);
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_FALSE(service_->store().GetAccount("bob@partner.example")->has_value());
  // A foreign Origin is refused even with the token.
  auto cross = client_->Post("/l/" + bob_token,
                             {{"Cookie", Cookie(page)}, {"Origin", "https://evil.example"}},
                             httplib::Params{{"csrf", Csrf(page->body)},
                                             {"password", "Tundra-Kettle-Violin-42"},
                                             {"password2", "Tundra-Kettle-Violin-42"}});
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);

  const std::string cookie = Register(bob_token);
  ASSERT_FALSE(cookie.empty());
  // The link is used up.
  auto reused = client_->Get("/l/" + bob_token);
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 410);
  // Carol's message id, asked for by Bob: 404 like an id that does not exist.
  auto carols = service_->store().ListMessages("carol@partner.example", "", 1);
  ASSERT_EQ(carols->size(), 1u);
  for (const std::string& path : std::vector<std::string>{"/m/" + (*carols)[0].id(), "/m/" + (*carols)[0].id() + "/eml",
                                 "/m/" + (*carols)[0].id() + "/a/0",
                                 std::string("/m/00000000000000000000000000000000")}) {
    auto r = client_->Get(path, {{"Cookie", cookie}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("For Carol"), std::string::npos);
  }
}

// M6 of the review: every wrong attempt is a plain 401, the right password
// is then refused with 429 and the "locked" text (not a CSRF 403 or a 5xx),
// the lock is the address's (another account from the same client still
// logs in), and it ends after `lockout` (fake clock).
TEST_F(PortalServiceTest, TwentyWrongPasswordsLockTheAddressUntilTheLockoutEnds) {
  Put("q1", "bob@partner.example", "For Bob");
  Put("q2", "carol@partner.example", "For Carol");
  auto notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  ASSERT_FALSE(Register(LinkToken(*For(notes, "bob@partner.example"))).empty());
  ASSERT_FALSE(Register(LinkToken(*For(notes, "carol@partner.example"))).empty());
  for (int i = 0; i < 20; ++i) {
    auto wrong = Login("bob@partner.example", "wrong-" + std::to_string(i));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << i << " " << wrong->body;
    EXPECT_NE(wrong->body.find("The address or the password is not correct."), std::string::npos);
  }
  auto right = Login("bob@partner.example", kPassword);
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 429) << "a locked account logged in: " << right->body;
  EXPECT_NE(right->body.find("Too many failed attempts."), std::string::npos) << right->body;
  EXPECT_EQ(right->get_header_value("Set-Cookie").find("__Host-sg_session="), std::string::npos)
      << "a locked login got a new session";
  // The lock is bob's, not the client's.
  auto carol = Login("carol@partner.example", kPassword);
  ASSERT_TRUE(carol);
  EXPECT_EQ(carol->status, 303) << carol->body;
  // Still locked just before the end of the lockout, open after it.
  AdvanceMs(config_.lockout.count() - 1000);
  auto early = Login("bob@partner.example", kPassword);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 429);
  AdvanceMs(1001);
  auto later = Login("bob@partner.example", kPassword);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 303) << later->body;
  EXPECT_EQ(later->get_header_value("Location"), "/inbox");
}

// Review M1: a password reset on one client logs every other client out.
TEST_F(PortalServiceTest, APasswordResetEndsTheOtherClientsSession) {
  Put("q1", "bob@partner.example", "For Bob");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  const std::string first = Register(LinkToken(notes[0]));  // client 1
  ASSERT_FALSE(first.empty());
  auto form = client_->Get("/reset");  // client 2 asks for a reset link
  ASSERT_TRUE(form);
  auto asked = client_->Post("/reset", {{"Cookie", Cookie(form)}},
                             httplib::Params{{"csrf", Csrf(form->body)},
                                             {"address", "bob@partner.example"}});
  ASSERT_TRUE(asked);
  ASSERT_EQ(asked->status, 200);
  notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  std::string text = notes[1].message();
  for (size_t at; (at = text.find("=\r\n")) != std::string::npos;) text.erase(at, 3);
  std::smatch token;
  ASSERT_TRUE(std::regex_search(text, token, std::regex("/r/([A-Za-z0-9_-]{43})"))) << text;
  auto page = client_->Get("/r/" + token[1].str());
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  auto reset = client_->Post("/r/" + token[1].str(), {{"Cookie", Cookie(page)}},
                             httplib::Params{{"csrf", Csrf(page->body)},
                                             {"password", "Granite-Osprey-Lantern-7"},
                                             {"password2", "Granite-Osprey-Lantern-7"}});
  ASSERT_TRUE(reset);
  ASSERT_EQ(reset->status, 303) << reset->body;
  const std::string second = Cookie(reset);
  // Client 2 is logged in with the new password; client 1 lands on /login.
  auto inbox = client_->Get("/inbox", {{"Cookie", second}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  auto stale = client_->Get("/inbox", {{"Cookie", first}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 303);
  EXPECT_EQ(stale->get_header_value("Location").find("/login"), 0u)
      << stale->get_header_value("Location");
}

TEST_F(PortalServiceTest, ARefusedReplyTakesNoReplyToken) {
  // From a sender outside the hosted domains: nobody to reply to (403).
  std::string from_outside = Message("From outside");
  from_outside.replace(0, from_outside.find("\r\n"), "From: Mallory <mallory@elsewhere.example>");
  Put("q1", "bob@partner.example", "From outside", from_outside, "mallory@elsewhere.example");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  const std::string cookie = Register(LinkToken(notes[0]));
  ASSERT_FALSE(cookie.empty());
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  std::smatch id;
  ASSERT_TRUE(std::regex_search(inbox->body, id, std::regex("/m/([0-9a-f]{32})"))) << inbox->body;
  auto form = client_->Get("/m/" + id[1].str() + "/reply", {{"Cookie", cookie}});
  ASSERT_TRUE(form);
  ASSERT_EQ(form->status, 200) << form->body;
  const httplib::Params reply{{"csrf", Csrf(form->body)}, {"body", "Thanks"}};
  // More refused replies than the bucket holds (20 an hour): each is
  // refused for what it is, none for the rate.
  for (int i = 0; i < 21; ++i) {
    auto r = client_->Post("/m/" + id[1].str() + "/reply", {{"Cookie", cookie}}, reply);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 403) << i;
  }
}

}  // namespace
}  // namespace sg::portal
