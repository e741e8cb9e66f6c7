// Table-driven tests of the SMTP command parser (RFC 5321 syntax, ESMTP
// parameters, xtext).
#include "ingress/smtp_parser.h"

#include <gtest/gtest.h>

namespace sg::ingress {
namespace {

Command Ok(const ParseResult& r) {
  if (auto* rep = std::get_if<Reply>(&r)) {
    ADD_FAILURE() << "expected a command, got " << rep->Format();
    return Command();
  }
  return std::get<Command>(r);
}

std::string ErrorOf(const ParseResult& r) {
  if (auto* rep = std::get_if<Reply>(&r)) return std::to_string(rep->code) + " " + rep->status;
  return "ok";
}

TEST(SmtpParser, VerbsAreCaseInsensitive) {
  EXPECT_EQ(Ok(ParseCommand("ehlo client.example")).verb, Verb::kEhlo);
  EXPECT_EQ(Ok(ParseCommand("EhLo client.example")).argument, "client.example");
  EXPECT_EQ(Ok(ParseCommand("helo [192.0.2.1]")).argument, "[192.0.2.1]");
  EXPECT_EQ(Ok(ParseCommand("quit")).verb, Verb::kQuit);
  EXPECT_EQ(Ok(ParseCommand("NOOP anything goes")).verb, Verb::kNoop);
  EXPECT_EQ(Ok(ParseCommand("HELP")).verb, Verb::kHelp);
  EXPECT_EQ(Ok(ParseCommand("VRFY bob")).verb, Verb::kVrfy);
  EXPECT_EQ(Ok(ParseCommand("STARTTLS")).verb, Verb::kStartTls);
  EXPECT_EQ(Ok(ParseCommand("rset")).verb, Verb::kRset);
  EXPECT_EQ(Ok(ParseCommand("DATA")).verb, Verb::kData);
}

TEST(SmtpParser, MailFromPaths) {
  struct Case {
    const char* line;
    const char* address;  // nullptr: a syntax error is expected
    bool null = false;
    bool non_ascii = false;
  };
  const Case cases[] = {
      {"MAIL FROM:<alice@example.org>", "alice@example.org"},
      {"mail from:<alice@example.org>", "alice@example.org"},
      {"MAIL FROM: <alice@example.org>", "alice@example.org"},  // common leniency
      {"MAIL FROM:<>", "", true},
      {"MAIL FROM:<\"odd >local\"@example.org>", "\"odd >local\"@example.org"},
      {"MAIL FROM:<\"a\\\"b\"@example.org>", "\"a\\\"b\"@example.org"},
      {"MAIL FROM:<@relay1.example,@relay2.example:bob@example.org>", "bob@example.org"},
      {"MAIL FROM:<user@[192.0.2.7]>", "user@[192.0.2.7]"},
      {"MAIL FROM:<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]"},
      {"MAIL FROM:<first.last+tag@sub.example.org>", "first.last+tag@sub.example.org"},
      {"MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
       "cher.example>",
       "j\xc3\xb6rg@b\xc3\xbc"
       "cher.example",
       false, true},
      {"MAIL FROM:alice@example.org", nullptr},      // no brackets
      {"MAIL FROM:<alice@example.org", nullptr},     // unterminated
      {"MAIL FROM:<alice>", nullptr},                // no domain
      {"MAIL FROM:<.alice@example.org>", nullptr},   // leading dot
      {"MAIL FROM:<al..ice@example.org>", nullptr},  // double dot
      {"MAIL FROM:<alice@-example.org>", nullptr},   // label starts with hyphen
      {"MAIL FROM:<alice@example-.org>", nullptr},   // label ends with hyphen
      {"MAIL FROM:<alice@exa_mple.org>", nullptr},   // underscore in domain
      {"MAIL FROM:<alice@[300.1.1.1]>", nullptr},    // bad literal
      {"MAIL FROM:<al ice@example.org>", nullptr},   // space
      {"MAIL FROM:<alice@example.org>x", nullptr},   // junk after path
      {"MAIL FROM:<\xff@example.org>", nullptr},     // invalid UTF-8
      // Refused because the one address parser (common/mail) refuses it: no
      // later stage can then fail on an address the ingress accepted.
      {"MAIL FROM:<a@\xe2\x98\x83.net>", nullptr},  // IDNA2008: disallowed code point
      {"MAIL FROM:<a@xn--zz.example>", nullptr},    // A-label that is not punycode
      {"MAIL FROM:<\"unterminated@example.org>", nullptr},
      {"MAIL TO:<alice@example.org>", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    ParseResult r = ParseCommand(c.line);
    if (c.address == nullptr) {
      EXPECT_NE(ErrorOf(r), "ok");
      continue;
    }
    const Command cmd = Ok(r);
    EXPECT_EQ(cmd.verb, Verb::kMail);
    EXPECT_EQ(cmd.path.address, c.address);
    EXPECT_EQ(cmd.path.null, c.null);
    EXPECT_EQ(cmd.path.non_ascii, c.non_ascii);
  }
}

TEST(SmtpParser, AddressErrorsCarrySpecificCodes) {
  EXPECT_EQ(ErrorOf(ParseCommand("MAIL FROM:<bad address>")), "501 5.1.7");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<bad address>")), "501 5.1.3");
  EXPECT_EQ(ErrorOf(ParseCommand("MAIL <a@b.c>")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<>")), "501 5.1.3");  // null only for MAIL
  EXPECT_EQ(ErrorOf(ParseCommand("FOO bar")), "500 5.5.2");
  EXPECT_EQ(ErrorOf(ParseCommand("MAIL FROM:<a@b.c>\x01")), "500 5.5.2");
  EXPECT_EQ(ErrorOf(ParseCommand("")), "500 5.5.2");
  EXPECT_EQ(ErrorOf(ParseCommand("HELO")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("EHLO ")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("DATA now")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("QUIT now")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("STARTTLS x")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("VRFY")), "501 5.5.4");
}

TEST(SmtpParser, RcptToPostmasterWithoutDomain) {
  const Command c = Ok(ParseCommand("RCPT TO:<Postmaster>"));
  EXPECT_EQ(c.path.address, "Postmaster");
  EXPECT_NE(ErrorOf(ParseCommand("MAIL FROM:<Postmaster>")), "ok");
}

TEST(SmtpParser, MailParameters) {
  const Command c = Ok(ParseCommand(
      "MAIL FROM:<a@example.org> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS "
      "ENVID=QQ314159+2B+3Dx AUTH=<>"));
  ASSERT_TRUE(c.mail.size.has_value());
  EXPECT_EQ(*c.mail.size, 12345u);
  EXPECT_EQ(c.mail.body, Body::k8BitMime);
  EXPECT_TRUE(c.mail.smtputf8);
  EXPECT_EQ(c.mail.ret, Ret::kHdrs);
  EXPECT_EQ(c.mail.envid, "QQ314159+=x");
  EXPECT_EQ(c.mail.auth, "<>");
  EXPECT_EQ(Ok(ParseCommand("MAIL FROM:<a@example.org> body=7bit ret=full")).mail.body,
            Body::k7Bit);
  // Huge SIZE saturates (and is then refused by the size limit, not here).
  EXPECT_EQ(*Ok(ParseCommand("MAIL FROM:<a@b.org> SIZE=99999999999999999999")).mail.size,
            UINT64_MAX);
}

TEST(SmtpParser, BadMailParameters) {
  struct Case {
    const char* line;
    const char* error;
  };
  const Case cases[] = {
      {"MAIL FROM:<a@b.org> SIZE=", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> SIZE=12a", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> SIZE", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> BODY=BINARYMIME", "555 5.5.4"},
      {"MAIL FROM:<a@b.org> SMTPUTF8=yes", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> RET=ALL", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> ENVID=bad+zz", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> ENVID=+4", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> SIZE=1 SIZE=2", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> XFOO=1", "555 5.5.4"},
      {"MAIL FROM:<a@b.org> NOTIFY=NEVER", "555 5.5.4"},  // an RCPT parameter
      {"MAIL FROM:<a@b.org> =x", "501 5.5.4"},
      {"MAIL FROM:<a@b.org> -X=1", "501 5.5.4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    EXPECT_EQ(ErrorOf(ParseCommand(c.line)), c.error);
  }
}

TEST(SmtpParser, RcptParameters) {
  const Command c = Ok(ParseCommand(
      "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;bob+2Bx@example.org"));
  EXPECT_TRUE(c.rcpt.notify.given);
  EXPECT_TRUE(c.rcpt.notify.success);
  EXPECT_TRUE(c.rcpt.notify.delay);
  EXPECT_FALSE(c.rcpt.notify.failure);
  EXPECT_FALSE(c.rcpt.notify.never);
  EXPECT_EQ(c.rcpt.orcpt, "rfc822;bob+x@example.org");
  EXPECT_TRUE(Ok(ParseCommand("RCPT TO:<b@example.org> NOTIFY=never")).rcpt.notify.never);
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> NOTIFY=NEVER,SUCCESS")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> NOTIFY=SUCCESS,SUCCESS")),
            "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> NOTIFY=SOMETIMES")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> NOTIFY=")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> ORCPT=bob@example.org")),
            "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> ORCPT=rfc822;")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("RCPT TO:<b@example.org> SIZE=10")), "555 5.5.4");
}

TEST(SmtpParser, Bdat) {
  const Command a = Ok(ParseCommand("BDAT 1000"));
  EXPECT_EQ(a.bdat_size, 1000u);
  EXPECT_FALSE(a.bdat_last);
  const Command b = Ok(ParseCommand("bdat 0 last"));
  EXPECT_EQ(b.bdat_size, 0u);
  EXPECT_TRUE(b.bdat_last);
  EXPECT_EQ(ErrorOf(ParseCommand("BDAT")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("BDAT x")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("BDAT 10 FIRST")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("BDAT 10 LAST more")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("BDAT -1")), "501 5.5.4");
}

TEST(SmtpParser, Auth) {
  const Command a = Ok(ParseCommand("AUTH plain AGJvYgBzZWNyZXQ="));
  EXPECT_EQ(a.argument, "PLAIN");
  EXPECT_TRUE(a.has_initial_response);
  EXPECT_EQ(a.initial_response, "AGJvYgBzZWNyZXQ=");
  EXPECT_FALSE(Ok(ParseCommand("AUTH LOGIN")).has_initial_response);
  EXPECT_EQ(ErrorOf(ParseCommand("AUTH")), "501 5.5.4");
  EXPECT_EQ(ErrorOf(ParseCommand("AUTH PLAIN a b")), "501 5.5.4");
}

TEST(SmtpParser, Xtext) {
  EXPECT_EQ(DecodeXtext("abc"), "abc");
  EXPECT_EQ(DecodeXtext("a+2Bb+3D"), "a+b=");
  EXPECT_EQ(DecodeXtext("a+2bb"), "a+b");  // lower-case hex tolerated
  EXPECT_FALSE(DecodeXtext("a+2").has_value());
  EXPECT_FALSE(DecodeXtext("a+GG").has_value());
  EXPECT_FALSE(DecodeXtext("a=b").has_value());
  EXPECT_FALSE(DecodeXtext("a b").has_value());
}

// UTF-8 validation is the mail library's (tests/common/mail/address_test.cc).

TEST(SmtpParser, LimitsOnPathLengths) {
  std::string local(65, 'a');
  EXPECT_EQ(ErrorOf(ParseCommand("MAIL FROM:<" + local + "@example.org>")), "501 5.1.7");
  std::string label(64, 'b');
  EXPECT_EQ(ErrorOf(ParseCommand("MAIL FROM:<a@" + label + ".org>")), "501 5.1.7");
  std::string ok_label(63, 'b');
  EXPECT_EQ(ErrorOf(ParseCommand("MAIL FROM:<a@" + ok_label + ".org>")), "ok");
}

}  // namespace
}  // namespace sg::ingress
