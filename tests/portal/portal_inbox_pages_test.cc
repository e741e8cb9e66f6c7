// The inbox's state changes over HTTPS (issue 17, "Inbox" and "Storage"):
// reply-all goes to the hosted To/Cc of the original and never to a
// non-hosted one (no open relay), delete by the reader removes the message
// from the inbox, the store and the .eml download, and retention deletes a
// message and makes its link useless (fake clock, metric).
#include <gtest/gtest.h>

#include "portal/portal_expiry.h"
#include "portal/portal_metrics.h"
#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

namespace v1 = smimegate::v1;

using testing::Message;

class PortalInboxPagesTest : public testing::PortalServiceFixture {
 protected:
  void Configure(PortalConfig& c) override {
    DomainSettings corp;
    corp.domain = "corp.example";
    corp.retention = std::chrono::hours(24);
    c.domains.push_back(corp);
  }

  // bob's session after registering through the link of his only message.
  std::string RegisterBob() {
    auto notes = WaitForNotifications(1);
    const auto* note = For(notes, "bob@partner.example");
    EXPECT_NE(note, nullptr);
    return note == nullptr ? std::string() : Register(LinkToken(*note));
  }
};

TEST_F(PortalInboxPagesTest, ReplyAllReachesTheHostedRecipientsOnly) {
  Put("q1", "bob@partner.example", "Plans",
      Message("Plans", "bob@partner.example, Dave <dave@corp.example>",
              "erin@CORP.example, frank@elsewhere.example"));
  const std::string cookie = RegisterBob();
  ASSERT_FALSE(cookie.empty());
  const std::string id = OnlyMessageId("bob@partner.example");
  auto form = client_->Get("/m/" + id + "/reply?all=1", {{"Cookie", cookie}});
  ASSERT_TRUE(form);
  ASSERT_EQ(form->status, 200) << form->body;
  EXPECT_NE(form->body.find("frank@elsewhere.example"), std::string::npos)
      << "the form does not name the recipient it leaves out";
  auto sent = client_->Post("/m/" + id + "/reply", {{"Cookie", cookie}},
                            httplib::Params{{"csrf", Csrf(form->body)},
                                            {"all", "1"},
                                            {"subject", "Re: Plans"},
                                            {"body", "Agreed, see you all on Monday."}});
  ASSERT_TRUE(sent);
  ASSERT_EQ(sent->status, 303) << sent->body;
  auto replies = Records("portal-reply");
  ASSERT_EQ(replies.size(), 1u);
  const auto& env = replies[0].envelope();
  std::vector<std::string> to;
  for (const auto& r : env.recipients()) to.push_back(r.address());
  EXPECT_EQ(to, (std::vector<std::string>{"alice@corp.example", "dave@corp.example",
                                          "erin@corp.example"}));
  EXPECT_EQ(env.origin(), v1::ORIGIN_PORTAL);
  EXPECT_EQ(env.mail_from(), "bob@partner.example");
  EXPECT_NE(replies[0].message().find("Agreed, see you all on Monday."), std::string::npos);
  EXPECT_EQ(replies[0].message().find("frank@elsewhere.example"), std::string::npos)
      << "the non-hosted recipient is named in the reply that goes out";
  EXPECT_EQ(Metric("smimegate_portal_replies_total"), 1);

  // A plain reply goes to the sender alone.
  auto one = client_->Post("/m/" + id + "/reply", {{"Cookie", cookie}},
                           httplib::Params{{"csrf", Csrf(form->body)},
                                           {"body", "Only to Alice."}});
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 303) << one->body;
  replies = Records("portal-reply");
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_EQ(replies[1].envelope().recipients_size(), 1);
  EXPECT_EQ(replies[1].envelope().recipients(0).address(), "alice@corp.example");
}

TEST_F(PortalInboxPagesTest, AReplyToANonHostedSenderIsRefused) {
  // A message whose sender is outside the hosted domains (an admin rule can
  // web-encrypt relayed mail): replying would send to the internet.
  std::string outside = Message("Outside", "bob@partner.example", "frank@elsewhere.example");
  outside.replace(0, outside.find("\r\n"), "From: Mallory <mallory@elsewhere.example>");
  Put("q1", "bob@partner.example", "Outside", outside, "mallory@elsewhere.example");
  const std::string cookie = RegisterBob();
  ASSERT_FALSE(cookie.empty());
  const std::string id = OnlyMessageId("bob@partner.example");
  const std::string csrf = CsrfFor(cookie);
  for (const char* all : {"0", "1"}) {
    auto sent = client_->Post("/m/" + id + "/reply", {{"Cookie", cookie}},
                              httplib::Params{{"csrf", csrf}, {"all", all}, {"body", "hello"}});
    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->status, 403) << "all=" << all << " " << sent->body;
  }
  EXPECT_TRUE(Records("portal-reply").empty());
  EXPECT_EQ(Metric("smimegate_portal_replies_total"), 0);
}

TEST_F(PortalInboxPagesTest, DeleteRemovesTheMessageFromInboxStoreAndDownloads) {
  Put("q1", "bob@partner.example", "Delete me");
  const std::string cookie = RegisterBob();
  ASSERT_FALSE(cookie.empty());
  const std::string id = OnlyMessageId("bob@partner.example");
  ASSERT_EQ(client_->Get("/m/" + id + "/eml", {{"Cookie", cookie}})->status, 200);
  // Without the CSRF token nothing happens.
  auto forged = client_->Post("/m/" + id + "/delete", {{"Cookie", cookie}}, httplib::Params{});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
  ASSERT_TRUE(service_->store().GetMessage("bob@partner.example", id).ok());

  auto deleted = client_->Post("/m/" + id + "/delete", {{"Cookie", cookie}},
                               httplib::Params{{"csrf", CsrfFor(cookie)}});
  ASSERT_TRUE(deleted);
  ASSERT_EQ(deleted->status, 303) << deleted->body;
  EXPECT_EQ(deleted->get_header_value("Location"), "/inbox?n=deleted");
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  EXPECT_EQ(inbox->body.find("Delete me"), std::string::npos) << inbox->body;
  EXPECT_EQ(service_->store().GetMessage("bob@partner.example", id).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(service_->store().GetContent("bob@partner.example", id).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(*service_->store().CountMessages("bob@partner.example"), 0u);
  for (const std::string& path : {"/m/" + id, "/m/" + id + "/eml", "/m/" + id + "/a/1"}) {
    auto r = client_->Get(path, {{"Cookie", cookie}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
  }
  EXPECT_EQ(Metric("smimegate_portal_deleted_total{why=\"reader\"}"), 1);
  // Deleting again is a 404, not an error page.
  auto twice = client_->Post("/m/" + id + "/delete", {{"Cookie", cookie}},
                             httplib::Params{{"csrf", CsrfFor(cookie)}});
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 404);
}

TEST_F(PortalInboxPagesTest, RetentionDeletesTheMessageAndItsLink) {
  Put("q1", "bob@partner.example", "Kept a day");
  const std::string cookie = RegisterBob();
  ASSERT_FALSE(cookie.empty());
  const std::string bobs = OnlyMessageId("bob@partner.example");
  // carol has not registered: her message's link is still unused.
  Put("q2", "carol@partner.example", "Also kept a day");
  auto notes = WaitForNotifications(2);
  const auto* carols_note = For(notes, "carol@partner.example");
  ASSERT_NE(carols_note, nullptr);
  const std::string carols_link = LinkToken(*carols_note);
  const std::string carols = OnlyMessageId("carol@partner.example");

  PortalMetrics metrics(registry_);  // the service's families (same registry)
  // One millisecond before the end of the retention nothing goes.
  AdvanceMs(config_.domains[0].retention.count() - 1);
  auto early = RunExpiry(service_->store(), config_, clock_, &metrics);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->messages, 0u);
  ASSERT_TRUE(service_->store().GetMessage("bob@partner.example", bobs).ok());
  AdvanceMs(1);
  auto report = RunExpiry(service_->store(), config_, clock_, &metrics);
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->messages, 2u);
  EXPECT_EQ(Metric("smimegate_portal_deleted_total{why=\"expired\"}"), 2);
  EXPECT_EQ(service_->store().GetMessage("bob@partner.example", bobs).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(service_->store().GetContent("carol@partner.example", carols).error().code,
            ErrorCode::kNotFound);
  // Bob (logged in again: his session idled out meanwhile) finds nothing.
  auto login = Login("bob@partner.example", testing::kPassword);
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 303);
  const std::string fresh = Cookie(login);
  auto inbox = client_->Get("/inbox", {{"Cookie", fresh}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->body.find("Kept a day"), std::string::npos);
  EXPECT_EQ(client_->Get("/m/" + bobs + "/eml", {{"Cookie", fresh}})->status, 404);
  // Carol's link no longer leads anywhere: no registration for a message
  // that is gone.
  auto link = client_->Get("/l/" + carols_link);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->status, 410) << link->body;
}

}  // namespace
}  // namespace sg::portal
