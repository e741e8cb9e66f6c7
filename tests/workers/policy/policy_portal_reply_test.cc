// A reply from the web-encryption portal (issue 17): each internal recipient
// with a certificate of their own gets it encrypted to that certificate (and
// their key opens it); one without gets it unchanged; an SMTP inbound
// message is not affected by the rule. The workers do not trust the portal
// (review M4): a recipient outside the hosted domains, or a hosted sender,
// is refused (dead-lettered with the reason), never relayed.
#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"

namespace sg::workers::testing {
namespace {

namespace v1 = smimegate::v1;

v1::MessageRecord PortalReply(const std::vector<std::string>& rcpts) {
  v1::MessageRecord r = Record(v1::DIRECTION_INBOUND, "partner@example.org", rcpts,
                               TextMessage("partner@example.org", "Re: Offer",
                                           "SECRET-BODY reply\r\n",
                                           "X-Smimegate-Portal: reply\r\n"));
  r.mutable_envelope()->set_origin(v1::ORIGIN_PORTAL);
  return r;
}

PolicyConfig Hosted() {
  PolicyConfig c;
  c.hosted_domains = {"example.com"};
  return c;
}

TEST(PortalReply, EncryptedToEachInternalRecipientsOwnCertificate) {
  Harness h(Hosted());
  h.AddCast();
  // alice and bob are participating users: the certificates of their keys.
  auto out = h.Run(PortalReply({"alice@example.com", "bob@example.com", "zed@example.com"}));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  const auto& pki = smime::testing::GetTestPki();
  for (const auto& [rcpt, key] : {std::pair{"alice@example.com", &pki.alice},
                                  std::pair{"bob@example.com", &pki.bob}}) {
    SCOPED_TRACE(rcpt);
    auto forms = FormsFor(*out, rcpt);
    ASSERT_EQ(forms.size(), 1u);
    EXPECT_EQ(forms[0]->envelope().recipients_size(), 1);
    EXPECT_EQ(forms[0]->message().find("SECRET-BODY"), std::string::npos) << "clear text leaked";
    Opened o = Open(*h.engine, forms[0]->message(), key);
    EXPECT_TRUE(o.encrypted);
    EXPECT_TRUE(o.decrypt_ok);
    EXPECT_NE(o.message.find("SECRET-BODY"), std::string::npos);
    EXPECT_NE(o.message.find("X-Smimegate-Portal: reply"), std::string::npos);
  }
  // zed has no certificate of his own: the reply reaches him unchanged.
  auto zed = FormsFor(*out, "zed@example.com");
  ASSERT_EQ(zed.size(), 1u);
  EXPECT_NE(zed[0]->message().find("SECRET-BODY"), std::string::npos);
  EXPECT_EQ(Dsn(*out), nullptr);
}

TEST(PortalReply, SmtpInboundMailIsNotEncryptedByTheRule) {
  Harness h(Hosted());
  h.AddCast();
  v1::MessageRecord smtp = PortalReply({"alice@example.com"});
  smtp.mutable_envelope()->set_origin(v1::ORIGIN_SMTP);
  auto out = h.Run(smtp);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  auto forms = FormsFor(*out, "alice@example.com");
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_NE(forms[0]->message().find("SECRET-BODY"), std::string::npos);
}

TEST(PortalReply, ARecipientOutsideTheHostedDomainsIsRefusedNotRelayed) {
  Harness h(Hosted());
  h.AddCast();
  auto out = h.Run(PortalReply({"alice@example.com", "victim@elsewhere.example"}));
  ASSERT_FALSE(out.ok()) << "a portal reply was relayed outside the hosted domains";
  EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied);
  EXPECT_FALSE(IsTransient(out.error().code));  // the worker pool dead-letters it
  EXPECT_NE(out.error().message.find("victim@elsewhere.example"), std::string::npos)
      << out.error().message;
  EXPECT_NE(out.error().message.find("outside the hosted domains"), std::string::npos);
}

TEST(PortalReply, AReplyFromAHostedSenderIsRefused) {
  Harness h(Hosted());
  h.AddCast();
  v1::MessageRecord r = PortalReply({"alice@example.com"});
  r.mutable_envelope()->set_mail_from("bob@EXAMPLE.com");
  auto out = h.Run(r);
  ASSERT_FALSE(out.ok()) << "a portal reply from a hosted sender was accepted";
  EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(out.error().message.find("bob@example.com is in a hosted domain"), std::string::npos)
      << out.error().message;
  // An empty or broken envelope sender is refused too.
  r.mutable_envelope()->set_mail_from("");
  auto empty = h.Run(r);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kPermissionDenied);
}

TEST(PortalReply, WithoutHostedDomainsEveryReplyIsRefused) {
  Harness h;  // no hosted_domains configured: fail closed
  h.AddCast();
  auto out = h.Run(PortalReply({"alice@example.com"}));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace sg::workers::testing
