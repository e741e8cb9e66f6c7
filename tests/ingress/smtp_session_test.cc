// Conversation tests of the transport-independent session: every reply,
// pipelined and not, the relay policy, DATA/BDAT, AUTH, STARTTLS hand-off
// and the durable-ack rule.
#include "ingress/smtp_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "common/mail/base64.h"
#include "tests/ingress/fake_session_host.h"

namespace sg::ingress {
namespace {

using testing::CountingIds;
using testing::FakeSessionHost;

// "250 2.1.0" for each final reply line in `out`.
std::vector<std::string> Codes(const std::string& out) {
  std::vector<std::string> codes;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t eol = out.find("\r\n", pos);
    std::string line = out.substr(pos, eol - pos);
    pos = eol == std::string::npos ? out.size() : eol + 2;
    if (line.size() >= 4 && line[3] == '-') continue;
    std::string code = line.substr(0, 3);
    if (line.size() > 4 && line[4] >= '2' && line[4] <= '5' && line.size() > 9 &&
        line[5] == '.') {
      code += " " + line.substr(4, line.find(' ', 4) - 4);
    }
    codes.push_back(code);
  }
  return codes;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.listener = "mx";
    cfg_.hostname = "gw.example.org";
    cfg_.topic = "inbound";
    cfg_.max_message_size = 10000;
    cfg_.max_recipients = 3;
    cfg_.max_bad_commands = 5;
    cfg_.max_command_length = 512;
    auto hash = Argon2Authenticator::Hash("s3cret", "saltsaltsalt");
    ASSERT_TRUE(hash.ok());
    auth_ = std::make_unique<Argon2Authenticator>(
        std::map<std::string, std::string>{{"alice", *hash}});
  }

  // (Re)creates the session with the current config.
  void Connect(const std::string& ip = "203.0.113.5", bool trusted = false) {
    PolicyConfig policy;
    policy.hosted_domains = {"example.org"};
    policy.limiter = &limiter_;
    session_.reset();
    steps_ = BuildSteps(cfg_, policy);
    SessionDeps deps{&cfg_, &steps_, auth_.get(), &ids_, nullptr};
    host_ = FakeSessionHost();
    session_ = std::make_unique<Session>(deps, ip, 40000, trusted, host_);
    session_->Start();
    greeting_ = host_.Take();
  }

  std::string Say(const std::string& in) {
    session_->Feed(in);
    return host_.Take();
  }
  std::vector<std::string> SayCodes(const std::string& in) { return Codes(Say(in)); }

  void UpTls(bool verified = false) {
    TlsState tls;
    tls.active = true;
    tls.version = "TLSv1.3";
    tls.cipher = "TLS_AES_256_GCM_SHA384";
    tls.peer_verified = verified;
    tls.peer_subject = verified ? "CN=mail.example.org" : "";
    session_->OnTlsUp(tls);
  }

  SessionConfig cfg_;
  ConnectionLimiter limiter_{100, 10};
  std::vector<std::shared_ptr<SessionStep>> steps_;
  std::unique_ptr<Argon2Authenticator> auth_;
  CountingIds ids_;
  FakeSessionHost host_;
  std::unique_ptr<Session> session_;
  std::string greeting_;
};

using Strings = std::vector<std::string>;

TEST_F(SessionTest, GreetingAndEhloAdvertiseExtensions) {
  Connect();
  EXPECT_EQ(greeting_, "220 gw.example.org ESMTP smimegate\r\n");
  std::string ehlo = Say("EHLO client.example\r\n");
  EXPECT_NE(ehlo.find("250-gw.example.org\r\n"), std::string::npos);
  for (const char* ext : {"PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8",
                          "ENHANCEDSTATUSCODES", "CHUNKING", "DSN"}) {
    EXPECT_NE(ehlo.find(std::string("250-") + ext + "\r\n"), std::string::npos) << ext;
  }
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);  // no TLS configured
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);
  EXPECT_EQ(Say("HELO client.example\r\n"), "250 gw.example.org\r\n");
}

TEST_F(SessionTest, InboundMessageNotPipelined) {
  Connect();
  EXPECT_EQ(SayCodes("EHLO c.example\r\n"), Strings{"250"});
  EXPECT_EQ(SayCodes("MAIL FROM:<sender@remote.example> BODY=8BITMIME RET=HDRS ENVID=E+2B1\r\n"),
            Strings{"250 2.1.0"});
  EXPECT_EQ(SayCodes("RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;bob@example.org\r\n"),
            Strings{"250 2.1.5"});
  EXPECT_EQ(SayCodes("RCPT TO:<Carol@EXAMPLE.org>\r\n"), Strings{"250 2.1.5"});
  EXPECT_EQ(SayCodes("DATA\r\n"), Strings{"354"});
  EXPECT_EQ(SayCodes("Message-ID: <abc@remote.example>\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n"),
            Strings{"250 2.0.0"});
  ASSERT_EQ(host_.records.size(), 1u);
  EXPECT_EQ(host_.records[0].topic, "inbound");
  EXPECT_EQ(host_.records[0].key, "MSG1");
  auto rec = host_.Parsed(0);
  const auto& env = rec.envelope();
  EXPECT_EQ(env.message_id(), "MSG1");
  EXPECT_EQ(env.direction(), smimegate::v1::DIRECTION_INBOUND);
  EXPECT_EQ(env.listener(), "mx");
  EXPECT_EQ(env.client().ip(), "203.0.113.5");
  EXPECT_EQ(env.client().port(), 40000u);
  EXPECT_EQ(env.client().helo(), "c.example");
  EXPECT_EQ(env.mail_from(), "sender@remote.example");
  ASSERT_EQ(env.recipients_size(), 2);
  EXPECT_EQ(env.recipients(0).address(), "bob@example.org");
  EXPECT_TRUE(env.recipients(0).notify_given());
  EXPECT_TRUE(env.recipients(0).notify().success());
  EXPECT_TRUE(env.recipients(0).notify().failure());
  EXPECT_EQ(env.recipients(0).orcpt(), "rfc822;bob@example.org");
  EXPECT_FALSE(env.recipients(1).notify_given());
  EXPECT_EQ(env.dsn_ret(), smimegate::v1::DSN_RET_HDRS);
  EXPECT_EQ(env.dsn_envid(), "E+1");
  EXPECT_TRUE(env.eight_bit_mime());
  EXPECT_FALSE(env.tls().active());
  EXPECT_EQ(env.received_at_ms(), host_.now_ms);
  EXPECT_EQ(env.header_message_id(), "<abc@remote.example>");
  const std::string& msg = rec.message();
  EXPECT_EQ(msg.rfind("Received: from c.example ([203.0.113.5])\r\n\tby gw.example.org "
                      "(smimegate) with ESMTP id MSG1\r\n",
                      0),
            0u)
      << msg;
  EXPECT_NE(msg.find("\r\nMessage-ID: <abc@remote.example>\r\nSubject: hi\r\n\r\n.dot\r\n"),
            std::string::npos);
}

TEST_F(SessionTest, PipelinedTransactionsAnsweredInOrder) {
  Connect();
  Say("EHLO c.example\r\n");
  auto codes = SayCodes(
      "MAIL FROM:<a@remote.example>\r\nRCPT TO:<x@example.org>\r\nRCPT TO:<y@other.example>\r\n"
      "RCPT TO:<z@example.org>\r\nDATA\r\nSubject: 1\r\n\r\none\r\n.\r\n"
      "MAIL FROM:<b@remote.example>\r\nRCPT TO:<w@example.org>\r\nDATA\r\n"
      "Subject: 2\r\n\r\ntwo\r\n.\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(codes, (Strings{"250 2.1.0", "250 2.1.5", "550 5.7.1", "250 2.1.5", "354",
                            "250 2.0.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0",
                            "250 2.0.0", "221 2.0.0"}));
  ASSERT_EQ(host_.records.size(), 2u);
  EXPECT_EQ(host_.Parsed(0).envelope().recipients_size(), 2);
  EXPECT_TRUE(host_.closed);
}

TEST_F(SessionTest, TwoFiftyOnlyAfterDurableAck) {
  Connect();
  host_.ack_mode = FakeSessionHost::AckMode::kHold;
  Say("EHLO c\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n");
  // The pipelined NOOP must wait behind the pending message.
  EXPECT_EQ(Say("Subject: s\r\n\r\nbody\r\n.\r\nNOOP\r\n"), "");
  EXPECT_EQ(session_->IdleTimeout(), std::nullopt);
  ASSERT_EQ(host_.held.size(), 1u);
  host_.ReleaseHeld(true);
  EXPECT_EQ(Codes(host_.Take()), (Strings{"250 2.0.0", "250 2.0.0"}));
}

TEST_F(SessionTest, QueueRefusalIs451AndAcceptedAgainWhenBack) {
  Connect();
  host_.ack_mode = FakeSessionHost::AckMode::kFail;
  Say("EHLO c\r\n");
  const std::string tx = "MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n"
                         "Subject: s\r\n\r\nbody\r\n.\r\n";
  EXPECT_EQ(SayCodes(tx), (Strings{"250 2.1.0", "250 2.1.5", "354", "451 4.3.0"}));
  host_.ack_mode = FakeSessionHost::AckMode::kTimeout;
  std::string out = Say(tx);
  EXPECT_NE(out.find("451 4.3.0 Queue did not confirm"), std::string::npos);
  EXPECT_TRUE(host_.records.empty());
  host_.ack_mode = FakeSessionHost::AckMode::kOk;
  EXPECT_EQ(SayCodes(tx), (Strings{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_EQ(host_.records.size(), 1u);
}

struct ErrorCase {
  const char* name;
  std::vector<std::string> setup;  // lines sent first, replies ignored
  std::string line;
  std::string expected;            // "code status" of the reply to `line`
};

TEST_F(SessionTest, EveryErrorReply) {
  const std::string mail = "MAIL FROM:<a@remote.example>";
  const std::string rcpt = "RCPT TO:<x@example.org>";
  const std::vector<ErrorCase> cases = {
      {"unknown command", {}, "FOO", "500 5.5.2"},
      {"invalid characters", {}, std::string("NOOP \x01", 6), "500 5.5.2"},
      {"helo without domain", {}, "HELO", "501 5.5.4"},
      {"mail before helo", {}, mail, "503 5.5.1"},
      {"nested mail", {"EHLO c", mail}, mail, "503 5.5.1"},
      {"bad sender syntax", {"EHLO c"}, "MAIL FROM:<a b>", "501 5.1.7"},
      {"mail params after HELO", {"HELO c"}, mail + " SIZE=10", "555 5.5.4"},
      {"unknown mail param", {"EHLO c"}, mail + " FOO=1", "555 5.5.4"},
      {"size too large", {"EHLO c"}, mail + " SIZE=10001", "552 5.3.4"},
      {"utf8 sender without SMTPUTF8", {"EHLO c"}, "MAIL FROM:<\xc3\xa4@r.example>",
       "553 5.6.7"},
      {"rcpt before mail", {"EHLO c"}, rcpt, "503 5.5.1"},
      {"bad recipient syntax", {"EHLO c", mail}, "RCPT TO:<x>", "501 5.1.3"},
      {"recipient not hosted", {"EHLO c", mail}, "RCPT TO:<x@elsewhere.example>",
       "550 5.7.1"},
      {"recipient subdomain not hosted", {"EHLO c", mail}, "RCPT TO:<x@sub.example.org>",
       "550 5.7.1"},
      {"utf8 rcpt without SMTPUTF8", {"EHLO c", mail}, "RCPT TO:<\xc3\xa4@example.org>",
       "553 5.6.7"},
      {"too many recipients",
       {"EHLO c", mail, "RCPT TO:<a@example.org>", "RCPT TO:<b@example.org>",
        "RCPT TO:<c@example.org>"},
       "RCPT TO:<d@example.org>",
       "452 4.5.3"},
      {"data without mail", {"EHLO c"}, "DATA", "503 5.5.1"},
      {"data without rcpt", {"EHLO c", mail}, "DATA", "554 5.5.1"},
      {"data with argument", {"EHLO c", mail, rcpt}, "DATA x", "501 5.5.4"},
      {"expn", {}, "EXPN list", "502 5.5.1"},
      {"vrfy", {}, "VRFY bob", "252 2.5.0"},
      {"help", {}, "HELP", "214 2.0.0"},
      {"noop", {}, "NOOP", "250 2.0.0"},
      {"rset", {"EHLO c", mail}, "RSET", "250 2.0.0"},
      {"starttls unavailable", {"EHLO c"}, "STARTTLS", "502 5.5.1"},
      {"auth not enabled", {"EHLO c"}, "AUTH PLAIN", "503 5.5.1"},
      {"bad bdat", {"EHLO c"}, "BDAT x", "501 5.5.4"},
      {"quit", {}, "QUIT", "221 2.0.0"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    Connect();
    for (const std::string& s : c.setup) Say(s + "\r\n");
    EXPECT_EQ(SayCodes(c.line + "\r\n"), Strings{c.expected});
  }
}

TEST_F(SessionTest, AuthAndTlsErrorReplies) {
  cfg_.max_bad_commands = 20;
  cfg_.tls_available = true;
  cfg_.auth_enabled = true;
  Connect();
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("AUTH PLAIN\r\n"), Strings{"538 5.7.11"});
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\nSTARTTLS\r\n"),
            (Strings{"250 2.1.0", "503 5.5.1"}));
  Say("RSET\r\n");
  EXPECT_EQ(SayCodes("STARTTLS\r\n"), Strings{"220 2.0.0"});
  UpTls();
  EXPECT_EQ(SayCodes("STARTTLS\r\n"), Strings{"503 5.5.1"});
  EXPECT_EQ(SayCodes("AUTH PLAIN\r\n"), Strings{"503 5.5.1"});  // EHLO again first
  std::string ehlo = Say("EHLO c\r\n");
  EXPECT_NE(ehlo.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(SayCodes("AUTH CRAM-MD5\r\n"), Strings{"504 5.5.4"});
  EXPECT_EQ(SayCodes("AUTH PLAIN !!!!\r\n"), Strings{"501 5.5.2"});
  EXPECT_EQ(SayCodes("AUTH PLAIN\r\n*\r\n"), (Strings{"334", "501 5.0.0"}));
  EXPECT_EQ(SayCodes("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0wrong", 12)) +
                     "\r\n"),
            Strings{"535 5.7.8"});
  EXPECT_EQ(SayCodes("AUTH PLAIN " +
                     mail::Base64EncodeOneLine(std::string("bob\0alice\0s3cret", 16)) + "\r\n"),
            Strings{"535 5.7.8"});  // acting as someone else
  EXPECT_EQ(SayCodes("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)) +
                     "\r\n"),
            Strings{"235 2.7.0"});
  EXPECT_EQ(SayCodes("AUTH PLAIN\r\n"), Strings{"503 5.5.1"});
  EXPECT_EQ(session_->state().auth_identity, "alice");
}

TEST_F(SessionTest, AuthLoginTwoSteps) {
  cfg_.tls_available = true;
  cfg_.auth_enabled = true;
  Connect();
  Say("EHLO c\r\nSTARTTLS\r\n");
  UpTls();
  Say("EHLO c\r\n");
  EXPECT_EQ(Say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Say(mail::Base64EncodeOneLine("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(SayCodes(mail::Base64EncodeOneLine("s3cret") + "\r\n"), Strings{"235 2.7.0"});
}

TEST_F(SessionTest, StartTlsDiscardsPipelinedPlaintext) {
  cfg_.tls_available = true;
  Connect();
  Say("EHLO c\r\n");
  // An attacker appends a command after STARTTLS in the same packet.
  EXPECT_EQ(SayCodes("STARTTLS\r\nMAIL FROM:<evil@r.example>\r\n"), Strings{"220 2.0.0"});
  EXPECT_EQ(host_.tls_started, 1);
  UpTls();
  // Nothing of the injected MAIL survived: MAIL now needs EHLO again.
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\n"), Strings{"503 5.5.1"});
}

TEST_F(SessionTest, RequireTls) {
  cfg_.tls_available = true;
  cfg_.require_tls = true;
  Connect();
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\n"), Strings{"530 5.7.0"});
  Say("STARTTLS\r\n");
  UpTls();
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\n"), Strings{"250 2.1.0"});
}

TEST_F(SessionTest, RelayListenerPolicy) {
  cfg_.role = Role::kRelay;
  cfg_.listener = "relay";
  cfg_.topic = "outbound";
  cfg_.tls_available = true;
  cfg_.auth_enabled = true;
  // Untrusted, unauthenticated: refused, whatever the sender.
  Connect("198.51.100.9", false);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.org>\r\n"), Strings{"550 5.7.1"});
  // Trusted network: only hosted senders (and the null sender).
  Connect("10.1.2.3", true);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@elsewhere.example>\r\n"), Strings{"550 5.7.1"});
  EXPECT_EQ(SayCodes("MAIL FROM:<a@Example.ORG>\r\nRCPT TO:<anyone@anywhere.example>\r\n"
                     "DATA\r\nSubject: out\r\n\r\nx\r\n.\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_EQ(SayCodes("MAIL FROM:<>\r\n"), Strings{"250 2.1.0"});
  ASSERT_EQ(host_.records.size(), 1u);
  EXPECT_EQ(host_.records[0].topic, "outbound");
  EXPECT_EQ(host_.Parsed(0).envelope().direction(), smimegate::v1::DIRECTION_OUTBOUND);
  // Authenticated from anywhere.
  Connect("198.51.100.9", false);
  Say("EHLO c\r\nSTARTTLS\r\n");
  UpTls();
  Say("EHLO c\r\nAUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)) +
      "\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<alice@example.org>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n"
                     "Subject: a\r\n\r\nx\r\n.\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  auto env = host_.Parsed(0).envelope();
  EXPECT_EQ(env.auth_identity(), "alice");
  EXPECT_TRUE(env.tls().active());
  EXPECT_EQ(env.tls().version(), "TLSv1.3");
  EXPECT_NE(host_.Parsed(0).message().find("with ESMTPSA id MSG"), std::string::npos);
  EXPECT_NE(host_.Parsed(0).message().find("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)"),
            std::string::npos);
  // Verified client certificate.
  Connect("198.51.100.9", false);
  Say("EHLO c\r\nSTARTTLS\r\n");
  UpTls(true);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.org>\r\n"), Strings{"250 2.1.0"});
}

TEST_F(SessionTest, SmugglingSequencesRejectWholeMessage) {
  Connect();
  Say("EHLO c\r\n");
  for (const char* smuggle : {"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r", "\r.\r\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(smuggle)));
    std::string in = "MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n"
                     "Subject: first\r\n\r\nhello" +
                     std::string(smuggle) +
                     "MAIL FROM:<evil@r.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
                     "Subject: smuggled\r\n\r\nevil\r\n.\r\nNOOP\r\n";
    EXPECT_EQ(SayCodes(in), (Strings{"250 2.1.0", "250 2.1.5", "354", "550 5.6.0", "250 2.0.0"}));
  }
  EXPECT_TRUE(host_.records.empty());
}

TEST_F(SessionTest, OversizeAndLongLines) {
  Connect();
  Say("EHLO c\r\n");
  const std::string head = "MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n";
  EXPECT_EQ(SayCodes(head + std::string(5000, 'x') + "\r\n" + std::string(5000, 'y') +
                     "\r\n.\r\nNOOP\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "552 5.3.4", "250 2.0.0"}));
  EXPECT_EQ(SayCodes(head + std::string(999, 'x') + "\r\n.\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "550 5.6.0"}));
  EXPECT_TRUE(host_.records.empty());
}

TEST_F(SessionTest, OverlongCommandAndTooManyErrors) {
  Connect();
  EXPECT_EQ(SayCodes(std::string(600, 'A') + "\r\nNOOP\r\n"), (Strings{"500 5.5.2", "250 2.0.0"}));
  // Over-long without a line end yet: answered at once, rest discarded.
  EXPECT_EQ(SayCodes(std::string(600, 'B')), Strings{"500 5.5.2"});
  EXPECT_EQ(SayCodes(std::string(100, 'B') + "\r\nNOOP\r\n"), Strings{"250 2.0.0"});
  EXPECT_EQ(SayCodes("X\r\nX\r\nX\r\nNOOP\r\n"),
            (Strings{"500 5.5.2", "500 5.5.2", "500 5.5.2", "421 4.7.0"}));
  EXPECT_TRUE(host_.closed);
}

TEST_F(SessionTest, BdatChunks) {
  Connect();
  Say("EHLO c\r\n");
  const std::string part1 = "Subject: chunked\r\n\r\n";
  const std::string part2 = "line one\r\n.not stuffed\r\n";
  auto codes = SayCodes("MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nBDAT " +
                        std::to_string(part1.size()) + "\r\n" + part1 + "BDAT " +
                        std::to_string(part2.size()) + " LAST\r\n" + part2 + "NOOP\r\n");
  EXPECT_EQ(codes, (Strings{"250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0", "250 2.0.0"}));
  ASSERT_EQ(host_.records.size(), 1u);
  const std::string msg = host_.Parsed(0).message();
  EXPECT_EQ(msg.substr(msg.size() - (part1 + part2).size()), part1 + part2);
}

TEST_F(SessionTest, BdatErrorsStillConsumeTheChunk) {
  Connect();
  Say("EHLO c\r\n");
  // Without a transaction the 10 octets ("MAIL FROM:") must not run as a command.
  EXPECT_EQ(SayCodes("BDAT 10\r\nMAIL FROM:NOOP\r\n"), (Strings{"503 5.5.1", "250 2.0.0"}));
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nBDAT 20000 LAST\r\n" +
                     std::string(20000, 'z') + "NOOP\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "552 5.3.4", "250 2.0.0"}));
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nBDAT 0\r\nDATA\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "250 2.0.0", "503 5.5.1"}));
  EXPECT_EQ(SayCodes("BDAT 0 LAST\r\n"), Strings{"250 2.0.0"});
  EXPECT_EQ(host_.records.size(), 1u);
}

TEST_F(SessionTest, DisconnectMidDataEnqueuesNothing) {
  Connect();
  Say("EHLO c\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n");
  Say("Subject: cut\r\n\r\nhalf a mess");
  session_->OnDisconnect();
  session_.reset();
  EXPECT_TRUE(host_.records.empty());
  EXPECT_EQ(limiter_.total(), 0u);
}

TEST_F(SessionTest, AckAfterDisconnectIsIgnored) {
  Connect();
  host_.ack_mode = FakeSessionHost::AckMode::kHold;
  Say("EHLO c\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\nx\r\n.\r\n");
  session_.reset();
  host_.ReleaseHeld(true);  // must not touch the destroyed session
  EXPECT_EQ(host_.Take(), "");
}

TEST_F(SessionTest, TimeoutsAndShutdown) {
  Connect();
  EXPECT_EQ(session_->IdleTimeout(), cfg_.command_timeout);
  Say("EHLO c\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n");
  EXPECT_EQ(session_->IdleTimeout(), cfg_.data_timeout);
  // Shutdown during a transaction waits for its end.
  session_->Shutdown();
  EXPECT_EQ(host_.Take(), "");
  EXPECT_EQ(SayCodes("x\r\n.\r\n"), (Strings{"250 2.0.0", "421 4.3.2"}));
  EXPECT_TRUE(host_.closed);
  Connect();
  session_->OnIdleTimeout();
  EXPECT_EQ(Codes(host_.Take()), Strings{"421 4.4.2"});
  Connect();
  session_->Shutdown();
  EXPECT_EQ(Codes(host_.Take()), Strings{"421 4.3.2"});
}

TEST_F(SessionTest, ConnectionLimitPerIp) {
  ConnectionLimiter limiter(100, 1);
  PolicyConfig policy;
  policy.limiter = &limiter;
  auto steps = BuildSteps(cfg_, policy);
  SessionDeps deps{&cfg_, &steps, nullptr, &ids_, nullptr};
  FakeSessionHost h1, h2, h3;
  auto s1 = std::make_unique<Session>(deps, "192.0.2.1", 1, false, h1);
  s1->Start();
  Session s2(deps, "192.0.2.1", 2, false, h2);
  s2.Start();
  EXPECT_EQ(Codes(h2.out), Strings{"421 4.7.0"});
  EXPECT_TRUE(h2.closed);
  s1.reset();  // frees the slot
  Session s3(deps, "192.0.2.1", 3, false, h3);
  s3.Start();
  EXPECT_EQ(h3.out.substr(0, 4), "220 ");
}

TEST_F(SessionTest, PostmasterWithoutDomainIsAccepted) {
  cfg_.hostname = "example.org";
  Connect();
  EXPECT_EQ(SayCodes("EHLO c\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<Postmaster>\r\n"),
            (Strings{"250", "250 2.1.0", "250 2.1.5"}));
}

TEST_F(SessionTest, SmtpUtf8Transaction) {
  Connect();
  EXPECT_EQ(SayCodes("EHLO c\r\nMAIL FROM:<j\xc3\xb6rg@r.example> SMTPUTF8\r\n"
                     "RCPT TO:<b\xc3\xa4r@example.org>\r\nDATA\r\nSubject: \xc3\xa4\r\n\r\nx\r\n.\r\n"),
            (Strings{"250", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  auto rec = host_.Parsed(0);
  EXPECT_TRUE(rec.envelope().smtputf8());
  EXPECT_NE(rec.message().find("with UTF8SMTP id"), std::string::npos);
}

}  // namespace
}  // namespace sg::ingress
