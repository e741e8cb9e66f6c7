#include <gtest/gtest.h>

#include "egress/egress_data_writer.h"
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

std::string Stuffed(std::string_view m) {
  auto r = DotStuff(m);
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r.ok() ? *r : "";
}

TEST(DotStuff, StuffsLeadingDotsAndTerminates) {
  EXPECT_EQ(Stuffed("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
  EXPECT_EQ(Stuffed(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(Stuffed("no final newline"), "no final newline\r\n.\r\n");
}

TEST(DotStuff, EdgeCases) {
  EXPECT_EQ(Stuffed(""), ".\r\n");
  EXPECT_EQ(Stuffed("\r\n"), "\r\n.\r\n");
  EXPECT_EQ(Stuffed("\r\n\r\n.\r\n"), "\r\n\r\n..\r\n.\r\n");
  EXPECT_EQ(Stuffed("x\r\n.y"), "x\r\n..y\r\n.\r\n");
  EXPECT_EQ(Stuffed("a.\r\n.\r\n"), "a.\r\n..\r\n.\r\n");
  std::string big;
  for (int i = 0; i < 1000; ++i) big += (i % 3 == 0 ? ".line\r\n" : "line\r\n");
  const std::string stuffed = Stuffed(big);
  EXPECT_EQ(stuffed.find("\n.line"), std::string::npos);
  EXPECT_EQ(stuffed.size(), big.size() + 334 /* dots */ + 3);
}

// Issue 13 point 3: egress never emits a bare CR or LF and never rewrites
// the message to remove one (it may be signed): it refuses it.
TEST(DotStuff, RefusesBareLineEndingsInsteadOfRewritingThem) {
  struct Case {
    std::string message;
    size_t offset;
    const char* kind;
  };
  const Case cases[] = {
      {"bare\nlf\r\n", 4, "LF"},
      {"a\rb\r\n", 1, "CR"},
      {"ok\r\n\n.\r\n", 4, "LF"},            // smuggling: <LF>.<CRLF>
      {"ok\r\n.\r.\r\n", 5, "CR"},           // smuggling: <CR>.<CR>
      {"x\r\r\n", 1, "CR"},                  // CR CR LF: the first CR is bare
      {"trailing CR\r", 11, "CR"},
      {"\n", 0, "LF"},
      {"Content-Type: multipart/signed\r\n\r\nsigned\nbody\r\n", 40, "LF"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FindBareLineEnding(c.message), c.offset) << c.message;
    auto r = DotStuff(c.message);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(std::string("bare ") + c.kind + " at byte " +
                                     std::to_string(c.offset)),
              std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(FindBareLineEnding("a\r\nb\r\n"), std::string_view::npos);
  EXPECT_EQ(FindBareLineEnding("no line end"), std::string_view::npos);
  EXPECT_EQ(FindBareLineEnding(""), std::string_view::npos);
}

TEST(XText, EncodesPlusEqualsAndControls) {
  EXPECT_EQ(XText("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(XText("user@example.com"), "user@example.com");
}

}  // namespace
}  // namespace sg::egress
