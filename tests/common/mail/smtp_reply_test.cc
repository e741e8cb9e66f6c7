#include "common/mail/smtp_reply.h"

#include <gtest/gtest.h>

namespace sg::mail {
namespace {

TEST(StatusFromReply, EnhancedCodeOrGeneric) {
  EXPECT_EQ(StatusFromReply(550, "5.1.1 no such user"), "5.1.1");
  EXPECT_EQ(StatusFromReply(552, "5.3.4 too big"), "5.3.4");
  EXPECT_EQ(StatusFromReply(550, "no such user"), "5.0.0");
  EXPECT_EQ(StatusFromReply(451, "4.7.1 later"), "4.7.1");
  EXPECT_EQ(StatusFromReply(550, "4.7.1 class mismatch"), "5.0.0");
  EXPECT_EQ(StatusFromReply(550, "5.1"), "5.0.0");
  EXPECT_EQ(StatusFromReply(554, "5.7.123 policy"), "5.7.123");
}

// The status goes into the DSN's Status field: only RFC 3463 syntax (one
// class digit, one to three digits each for subject and detail) is taken
// from a peer. Found by the egress_reply fuzz target
// (tests/egress/corpus/egress_reply/fuzz_status_two_digit_class).
TEST(StatusFromReply, OnlyRfc3463SyntaxFromThePeer) {
  EXPECT_EQ(StatusFromReply(552, "50.3.4 size"), "5.0.0");
  EXPECT_EQ(StatusFromReply(550, "5.1234.1 odd"), "5.0.0");
  EXPECT_EQ(StatusFromReply(550, "5.1.1234 odd"), "5.0.0");
  EXPECT_EQ(StatusFromReply(550, "5..1 odd"), "5.0.0");
  EXPECT_EQ(StatusFromReply(550, "5.1.1.1 odd"), "5.0.0");
  EXPECT_EQ(StatusFromReply(550, "5.123.123"), "5.123.123");
}

TEST(EnhancedStatus, Syntax) {
  EXPECT_TRUE(IsEnhancedStatus("2.0.0"));
  EXPECT_TRUE(IsEnhancedStatus("5.7.123"));
  EXPECT_TRUE(IsEnhancedStatus("4.100.9"));
  EXPECT_FALSE(IsEnhancedStatus("3.0.0"));  // no class 3
  EXPECT_FALSE(IsEnhancedStatus("55.1.1"));
  EXPECT_FALSE(IsEnhancedStatus("5.1"));
  EXPECT_FALSE(IsEnhancedStatus("5.1.1234"));
  EXPECT_FALSE(IsEnhancedStatus("5.1.1."));
  EXPECT_FALSE(IsEnhancedStatus("5..1"));
}

TEST(Reply, FormatRepeatsCodeAndStatusOnEveryLine) {
  Reply r = MakeReply(250, "2.0.0", "first");
  r.lines.push_back("second");
  EXPECT_EQ(r.Format(), "250-2.0.0 first\r\n250 2.0.0 second\r\n");
  EXPECT_EQ(r.text(), "first");
  Reply greeting = MakeReply(220, "", "mx.example ESMTP");
  EXPECT_EQ(greeting.Format(), "220 mx.example ESMTP\r\n");
}

}  // namespace
}  // namespace sg::mail
