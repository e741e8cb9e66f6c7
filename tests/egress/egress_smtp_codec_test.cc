#include <gtest/gtest.h>

#include "egress/egress_smtp_reply.h"
#include "egress/egress_smtp_session.h"

namespace sg::egress {
namespace {

TEST(ReplyParser, MultiLineRepliesSplitAcrossReads) {
  ReplyParser p;
  std::vector<SmtpReply> out;
  ASSERT_TRUE(p.Feed("250-mx.example Hello\r\n250-PIPE", out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.Feed("LINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n354 go\r\n", out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].code, 250);
  ASSERT_EQ(out[0].lines.size(), 4u);
  EXPECT_EQ(out[1].code, 354);
  auto caps = ParseEhloCaps(out[0]);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.max_size, 1000u);
  EXPECT_FALSE(caps.dsn);
}

TEST(ReplyParser, HostileRepliesAreSpecificErrors) {
  {
    ReplyParser p;
    std::vector<SmtpReply> out;
    auto st = p.Feed(std::string(5000, 'x'), out);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kCorruption);
  }
  {
    ReplyParser p;
    std::vector<SmtpReply> out;
    EXPECT_FALSE(p.Feed("hello\r\n", out).ok());
  }
  {
    ReplyParser p;
    std::vector<SmtpReply> out;
    EXPECT_FALSE(p.Feed("250-a\r\n550 b\r\n", out).ok());  // code changes mid-reply
  }
  {
    ReplyParser p;
    std::vector<SmtpReply> out;
    std::string many;
    for (int i = 0; i < 300; ++i) many += "250-x\r\n";
    EXPECT_FALSE(p.Feed(many, out).ok());
  }
  {
    ReplyParser p;
    std::vector<SmtpReply> out;
    EXPECT_FALSE(p.Feed("999 nope\r\n", out).ok());
  }
}

TEST(DotStuff, StuffsLeadingDotsAndTerminates) {
  EXPECT_EQ(DotStuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
  EXPECT_EQ(DotStuff(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(DotStuff("no final newline"), "no final newline\r\n.\r\n");
  EXPECT_EQ(DotStuff("bare\nlf\n.x\n"), "bare\r\nlf\r\n..x\r\n.\r\n");
}

TEST(DotStuff, EdgeCases) {
  EXPECT_EQ(DotStuff(""), ".\r\n");
  EXPECT_EQ(DotStuff("\n"), "\r\n.\r\n");
  EXPECT_EQ(DotStuff("\n\n.\n"), "\r\n\r\n..\r\n.\r\n");
  EXPECT_EQ(DotStuff("a\rb\r\n"), "a\rb\r\n.\r\n");  // a bare CR stays as it is
  EXPECT_EQ(DotStuff("x\r\n.y"), "x\r\n..y\r\n.\r\n");
  EXPECT_EQ(DotStuff("a.\r\n.\r\n"), "a.\r\n..\r\n.\r\n");
  std::string big;
  for (int i = 0; i < 1000; ++i) big += (i % 3 == 0 ? ".line\n" : "line\r\n");
  const std::string stuffed = DotStuff(big);
  EXPECT_EQ(stuffed.find("\n.line"), std::string::npos);
  EXPECT_EQ(stuffed.size(), big.size() + 334 /* dots */ + 334 /* CRs */ + 3);
}

TEST(XText, EncodesPlusEqualsAndControls) {
  EXPECT_EQ(XText("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(XText("user@example.com"), "user@example.com");
}

}  // namespace
}  // namespace sg::egress
