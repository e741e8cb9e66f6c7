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

std::vector<std::string> Codes(const std::string& out) { return testing::ReplyCodes(out); }

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
    auto alice = ParseSenders({"example.org"}, "test alice");
    ASSERT_TRUE(alice.ok());
    bindings_.auth_users = {{"alice", *alice}};
  }

  // (Re)creates the session with the current config.
  void Connect(const std::string& ip = "203.0.113.5", bool trusted = false) {
    PolicyConfig policy;
    policy.hosted_domains = hosted_;
    policy.limiter = &limiter_;
    policy.sender_bindings = bindings_;
    policy.relay_default_senders = relay_default_;
    session_.reset();
    steps_ = BuildSteps(cfg_, policy);
    SessionDeps deps{&cfg_, &steps_, auth_.get(), &ids_, nullptr, nullptr, &user_limit_,
                     &client_limit_};
    host_ = FakeSessionHost();
    session_ = std::make_unique<Session>(deps, ip, 40000, trusted, host_);
    session_->Start();
    greeting_ = host_.Take();
  }

  std::string Say(const std::string& in) {
    session_->Feed(in);
    return host_.Take();
  }
  // Connect, then EHLO, STARTTLS (completed) and EHLO again.
  void ConnectTls(const std::string& ip = "203.0.113.5") {
    Connect(ip);
    Say("EHLO c\r\nSTARTTLS\r\n");
    UpTls();
    Say("EHLO c\r\n");
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
  std::set<std::string> hosted_ = {"example.org"};
  SenderBindings bindings_;
  std::optional<AllowedSenders> relay_default_;
  ConnectionLimiter limiter_{100, 10};
  FailureLimiter user_limit_{FailureLimit{3, std::chrono::minutes(15), std::chrono::minutes(15)}};
  FailureLimiter client_limit_{FailureLimit{5, std::chrono::minutes(15), std::chrono::minutes(15)}};
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

// Issue 13 point 7: repeated AUTH failures lock the user name out (from
// any client) and the client out (for any user name) for a while; locked
// attempts get 454 4.7.0 without an argon2 run, even with the right password.
TEST_F(SessionTest, AuthLockoutPerUserAndPerClient) {
  cfg_.tls_available = true;
  cfg_.auth_enabled = true;
  cfg_.max_bad_commands = 100;
  auto attempt = [&](const std::string& ip, const std::string& user, const std::string& pw) {
    ConnectTls(ip);  // a fresh host: its clock is at the fixed start time
    std::string creds = std::string(1, '\0') + user + std::string(1, '\0') + pw;
    return SayCodes("AUTH PLAIN " + mail::Base64EncodeOneLine(creds) + "\r\n");
  };
  // Three wrong passwords for alice from three clients lock alice.
  EXPECT_EQ(attempt("192.0.2.1", "alice", "x"), Strings{"535 5.7.8"});
  EXPECT_EQ(attempt("192.0.2.2", "alice", "x"), Strings{"535 5.7.8"});
  EXPECT_EQ(attempt("192.0.2.3", "alice", "x"), Strings{"535 5.7.8"});
  EXPECT_EQ(attempt("192.0.2.4", "alice", "s3cret"), Strings{"454 4.7.0"});
  EXPECT_EQ(host_.blocking_runs, 0);  // no argon2 run for a locked name
  EXPECT_EQ(attempt("192.0.2.4", "ALICE", "s3cret"), Strings{"454 4.7.0"});
  // Unknown user names lock the same way (a lockout says nothing about existence).
  for (int i = 0; i < 3; ++i) attempt("198.51.100." + std::to_string(i), "nobody", "x");
  EXPECT_EQ(attempt("198.51.100.9", "nobody", "x"), Strings{"454 4.7.0"});
  // After the lockout, alice's right password works again.
  ConnectTls("192.0.2.4");
  host_.now_ms += 16 * 60 * 1000;
  EXPECT_EQ(SayCodes("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)) + "\r\n"),
            Strings{"235 2.7.0"});
  // Five failures from one IPv6 /64, each for another name, lock the client.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(attempt("2001:db8:5:5::" + std::to_string(i + 1), "u" + std::to_string(i), "x"),
              Strings{"535 5.7.8"});
  }
  EXPECT_EQ(attempt("2001:db8:5:5::99", "fresh", "x"), Strings{"454 4.7.0"});
  EXPECT_EQ(attempt("2001:db8:5:6::1", "fresh", "x"), Strings{"535 5.7.8"});
}

TEST_F(SessionTest, AuthPoolFullIsATemporaryFailure) {
  cfg_.tls_available = true;
  cfg_.auth_enabled = true;
  ConnectTls();
  host_.pool_full = true;
  EXPECT_EQ(SayCodes("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)) + "\r\n"),
            Strings{"454 4.7.0"});
  EXPECT_EQ(host_.last_blocking, BlockingWork::kAuth);
  host_.pool_full = false;
  EXPECT_EQ(SayCodes("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)) + "\r\n"),
            Strings{"235 2.7.0"});
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

// Issue 13 point 6: an AUTH user of example.org sending as another hosted
// domain (MAIL FROM or From header) gets 553 5.7.1; so do certificate and
// network clients outside their bindings.
TEST_F(SessionTest, SenderBindingOnTheRelayListener) {
  cfg_.role = Role::kRelay;
  cfg_.topic = "outbound";
  cfg_.tls_available = true;
  cfg_.auth_enabled = true;
  hosted_ = {"example.org", "example.net"};
  auto cert = ParseSenders({"example.net"}, "test cert");
  auto net = ParseSenders({"@example.net", "ceo@example.org"}, "test net");
  ASSERT_TRUE(cert.ok() && net.ok());
  bindings_.certificates = {{"CN=mail.example.org", *cert}};
  bindings_.networks = {{*Cidr::Parse("10.9.0.0/16"), *net}};
  auto login = [&] {
    ConnectTls("198.51.100.9");
    Say("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)) + "\r\n");
  };
  const std::string rcpt = "RCPT TO:<partner@remote.example>\r\n";
  login();
  EXPECT_EQ(SayCodes("MAIL FROM:<boss@example.net>\r\n"), Strings{"553 5.7.1"});
  struct Case {
    const char* from;     // MAIL FROM
    const char* headers;  // the header section
    const char* end;      // the reply at the end of the data
  };
  const Case cases[] = {
      {"Bob@Example.ORG", "From: Bob <bob@example.org>\r\nSubject: ok\r\n", "250 2.0.0"},
      // The From header too: every mailbox of every From field.
      {"bob@example.org", "From: \"Boss\" <boss@example.net>\r\n", "553 5.7.1"},
      {"bob@example.org", "From: bob@example.org,\r\n boss@example.net\r\n", "553 5.7.1"},
      {"bob@example.org", "From: bob@example.org\r\nFrom: boss@example.net\r\n", "553 5.7.1"},
      {"bob@example.org", "From: undisclosed:;\r\n", "553 5.7.1"},
      // The null sender: its own host's MAILER-DAEMON yes, another hosted domain no.
      {"", "From: MAILER-DAEMON@mx1.internal.example\r\n", "250 2.0.0"},
      {"", "From: boss@example.net\r\n", "553 5.7.1"},
  };
  // Broken content keeps its own reply, whatever its From says.
  EXPECT_EQ(SayCodes("MAIL FROM:<bob@example.org>\r\n" + rcpt +
                     "DATA\r\nFrom: boss@example.net\r\n\r\nx\ny\r\n.\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "550 5.6.0"}));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.headers);
    EXPECT_EQ(SayCodes("MAIL FROM:<" + std::string(c.from) + ">\r\n" + rcpt + "DATA\r\n" +
                       c.headers + "\r\nx\r\n.\r\n"),
              (Strings{"250 2.1.0", "250 2.1.5", "354", c.end}));
  }
  EXPECT_EQ(host_.records.size(), 2u);
  // A verified certificate with a binding: example.net only.
  Connect("198.51.100.9", false);
  Say("EHLO c\r\nSTARTTLS\r\n");
  UpTls(true);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.org>\r\n"), Strings{"553 5.7.1"});
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.net>\r\n"), Strings{"250 2.1.0"});
  // A trusted network with a binding: its domain and one address.
  Connect("10.9.1.1", true);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.org>\r\n"), Strings{"553 5.7.1"});
  EXPECT_EQ(SayCodes("MAIL FROM:<ceo@example.org>\r\n"), Strings{"250 2.1.0"});
  // A trusted network without one: the listener's default (every hosted
  // domain unless the listener says otherwise).
  Connect("10.1.1.1", true);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.net>\r\n"), Strings{"250 2.1.0"});
  relay_default_ = *ParseSenders({"example.org"}, "test default");
  Connect("10.1.1.1", true);
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@example.net>\r\n"), Strings{"553 5.7.1"});
  // An AUTH user bound to nothing sends as nobody.
  bindings_.auth_users.clear();
  login();
  EXPECT_EQ(SayCodes("MAIL FROM:<alice@example.org>\r\n"), Strings{"553 5.7.1"});
}

TEST(SenderBindingTest, EntriesAndTheirChecks) {
  auto a = ParseSenders({"Example.ORG", "@example.net", "CEO@Example.COM"}, "x.senders");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->Allows("anyone@EXAMPLE.org"));
  EXPECT_TRUE(a->Allows("anyone@example.net"));
  EXPECT_TRUE(a->Allows("ceo@example.com"));
  EXPECT_FALSE(a->Allows("cfo@example.com"));
  EXPECT_FALSE(a->Allows("a@sub.example.org"));  // exact domains only
  EXPECT_EQ(a->CheckWithin({"example.org", "example.net"}).error().message,
            "config x.senders: ceo@example.com is not in a hosted domain (hosted_domains)");
  EXPECT_TRUE(a->CheckWithin({"example.org", "example.net", "example.com"}).ok());
  EXPECT_EQ(ParseSenders({"not a domain"}, "y").error().message,
            "config y: \"not a domain\" is neither a domain nor an address");
}

// Entries are normalised like every address: an IDN domain in U-labels in the
// config matches the xn-- form on the wire, and the other way round.
TEST(SenderBindingTest, IdnEntriesMatchBothForms) {
  auto a = ParseSenders({"b\xc3\xbc" "cher.example", "ceo@xn--mnchen-3ya.example"}, "x.senders");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->Allows("anyone@xn--bcher-kva.example"));
  EXPECT_TRUE(a->Allows("anyone@B\xc3\xbc" "cher.example"));
  EXPECT_TRUE(a->Allows("ceo@m\xc3\xbc" "nchen.example"));
  EXPECT_TRUE(a->Allows("CEO@xn--mnchen-3ya.example"));
  EXPECT_FALSE(a->Allows("cfo@m\xc3\xbc" "nchen.example"));
  EXPECT_TRUE(a->CheckWithin({"xn--bcher-kva.example", "xn--mnchen-3ya.example"}).ok());
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

// Issue 13 point 3: BDAT content gets DATA's checks and replies. Each
// smuggling sequence in a chunk refuses the whole message with 550 5.6.0;
// the octets after it are content (never commands), and the session goes on.
TEST_F(SessionTest, BdatSmugglingSequencesAndLongLinesRefused) {
  Connect();
  Say("EHLO c\r\n");
  const std::string env = "MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\n";
  for (const char* smuggle : {"\r.\r", "\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(smuggle)));
    const std::string chunk = "Subject: first\r\n\r\nhello" + std::string(smuggle) +
                              "MAIL FROM:<evil@r.example>\r\nRCPT TO:<victim@example.org>\r\n"
                              "DATA\r\n\r\nevil\r\n.\r\n";
    EXPECT_EQ(SayCodes(env + "BDAT " + std::to_string(chunk.size()) + " LAST\r\n" + chunk +
                       "NOOP\r\n"),
              (Strings{"250 2.1.0", "250 2.1.5", "550 5.6.0", "250 2.0.0"}));
  }
  // A CRLF split over two chunks is fine; a CR ending the last chunk is bare.
  EXPECT_EQ(SayCodes(env + "BDAT 16\r\nSubject: s\r\n\r\na\rBDAT 1 LAST\r\n\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0"}));
  EXPECT_EQ(SayCodes(env + "BDAT 16 LAST\r\nSubject: s\r\n\r\na\r"),
            (Strings{"250 2.1.0", "250 2.1.5", "550 5.6.0"}));
  // 999 octets on one line: the same limit and code as DATA.
  const std::string long_line = "Subject: s\r\n\r\n" + std::string(999, 'x') + "\r\n";
  EXPECT_EQ(SayCodes(env + "BDAT " + std::to_string(long_line.size()) + " LAST\r\n" + long_line),
            (Strings{"250 2.1.0", "250 2.1.5", "550 5.6.0"}));
  ASSERT_EQ(host_.records.size(), 1u);  // only the split-CRLF message
  const std::string msg = host_.Parsed(0).message();
  EXPECT_EQ(msg.substr(msg.size() - 17), "Subject: s\r\n\r\na\r\n");
}

// Issue 13 point 11: a mail loop is refused at the end of the data with
// 554 5.4.6 (so the sending MTA returns it), over DATA and BDAT alike.
TEST_F(SessionTest, ReceivedHopLimit) {
  cfg_.max_message_size = 100000;
  Connect();
  Say("EHLO c\r\n");
  auto hops = [](int n) {
    std::string h;
    for (int i = 0; i < n; ++i) h += "Received: from hop" + std::to_string(i) + "\r\n\tby x; d\r\n";
    return h + "Subject: loop\r\n\r\nbody\r\n";
  };
  const std::string env = "MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\n";
  EXPECT_EQ(SayCodes(env + "DATA\r\n" + hops(50) + ".\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_EQ(SayCodes(env + "DATA\r\n" + hops(51) + ".\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "554 5.4.6"}));
  const std::string chunk = hops(51);
  EXPECT_EQ(SayCodes(env + "BDAT " + std::to_string(chunk.size()) + " LAST\r\n" + chunk),
            (Strings{"250 2.1.0", "250 2.1.5", "554 5.4.6"}));
  EXPECT_EQ(host_.records.size(), 1u);
  cfg_.max_received_headers = 2;
  Connect();
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes(env + "DATA\r\n" + hops(3) + ".\r\n"),
            (Strings{"250 2.1.0", "250 2.1.5", "354", "554 5.4.6"}));
}

TEST_F(SessionTest, BdatContentWithoutFinalLineEndGetsOne) {
  Connect();
  Say("EHLO c\r\n");
  EXPECT_EQ(SayCodes("MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\n"
                     "BDAT 16 LAST\r\nSubject: s\r\n\r\nab"),
            (Strings{"250 2.1.0", "250 2.1.5", "250 2.0.0"}));
  ASSERT_EQ(host_.records.size(), 1u);
  const std::string msg = host_.Parsed(0).message();
  EXPECT_EQ(msg.substr(msg.size() - 18), "Subject: s\r\n\r\nab\r\n");
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

// Issue 13 point 7: an IPv6 client counts per /64, so it cannot take a
// connection slot from each of its 2^64 addresses.
TEST_F(SessionTest, ConnectionLimitPerIpv6Slash64) {
  ConnectionLimiter limiter(100, 2);
  PolicyConfig policy;
  policy.limiter = &limiter;
  auto steps = BuildSteps(cfg_, policy);
  SessionDeps deps{&cfg_, &steps, nullptr, &ids_, nullptr};
  FakeSessionHost h1, h2, h3, h4;
  Session s1(deps, "2001:db8:1:2::1", 1, false, h1);
  s1.Start();
  Session s2(deps, "2001:db8:1:2:ffff:ffff:ffff:fffe", 2, false, h2);
  s2.Start();
  Session s3(deps, "2001:db8:1:2:aaaa::9", 3, false, h3);
  s3.Start();
  Session s4(deps, "2001:db8:1:3::1", 4, false, h4);  // the next /64
  s4.Start();
  EXPECT_EQ(h1.out.substr(0, 4), "220 ");
  EXPECT_EQ(h2.out.substr(0, 4), "220 ");
  EXPECT_EQ(Codes(h3.out), Strings{"421 4.7.0"});
  EXPECT_EQ(h4.out.substr(0, 4), "220 ");
  EXPECT_EQ(s1.state().client_key, "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("192.0.2.7", 64), "192.0.2.7");
  EXPECT_EQ(ClientKey("::ffff:192.0.2.7", 64), "192.0.2.7");
  EXPECT_EQ(ClientKey("2001:db8::1", 48), "2001:db8::/48");
}

// Issue 13 point 7: the session deadline closes even a busy session, but
// never between the end of the data and its answer.
TEST_F(SessionTest, SessionDeadline) {
  Connect();
  Say("EHLO c\r\n");
  session_->OnSessionDeadline();
  EXPECT_EQ(Codes(host_.Take()), Strings{"421 4.4.2"});
  EXPECT_TRUE(host_.closed);
  Connect();
  host_.ack_mode = FakeSessionHost::AckMode::kHold;
  Say("EHLO c\r\nMAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\nx\r\n.\r\n");
  session_->OnSessionDeadline();
  EXPECT_EQ(host_.Take(), "");  // the message's answer comes first
  host_.ReleaseHeld(true);
  EXPECT_EQ(Codes(host_.Take()), (Strings{"250 2.0.0", "421 4.4.2"}));
  EXPECT_TRUE(host_.closed);
}

// Issue 13 point 7: the global byte budget. What does not fit gets 452
// 4.3.1 (at MAIL when SIZE says so, else at the end of the data or of the
// BDAT chunk), and the bytes are counted until the queue acks.
TEST_F(SessionTest, BytesInFlightBudget) {
  cfg_.max_message_size = 2 << 20;
  ByteBudget budget(1 << 20);
  PolicyConfig policy;
  policy.hosted_domains = {"example.org"};
  steps_ = BuildSteps(cfg_, policy);
  SessionDeps deps{&cfg_, &steps_, nullptr, &ids_, nullptr, &budget};
  FakeSessionHost h1, h2;
  h1.ack_mode = FakeSessionHost::AckMode::kHold;
  auto s1 = std::make_unique<Session>(deps, "192.0.2.1", 1, false, h1);
  Session s2(deps, "192.0.2.2", 2, false, h2);
  s1->Start();
  s2.Start();
  h1.Take();
  h2.Take();
  const std::string env = "MAIL FROM:<a@r.example>\r\nRCPT TO:<x@example.org>\r\n";
  const std::string big(700 * 1000, 'x');  // in 1000-octet lines below
  std::string content = "Subject: s\r\n\r\n";
  for (size_t i = 0; i < big.size(); i += 998) content += big.substr(i, 998) + "\r\n";
  // s1 takes 700 kB of the 1 MiB and waits for its ack.
  s1->Feed("EHLO c\r\n" + env + "DATA\r\n" + content + ".\r\n");
  EXPECT_EQ(Codes(h1.Take()), (Strings{"250", "250 2.1.0", "250 2.1.5", "354"}));
  EXPECT_GE(budget.in_use(), 700u * 1000);
  // s2: SIZE says it cannot fit; without SIZE the content is discarded.
  s2.Feed("EHLO c\r\nMAIL FROM:<a@r.example> SIZE=700000\r\n");
  EXPECT_EQ(Codes(h2.Take()), (Strings{"250", "452 4.3.1"}));
  s2.Feed(env + "DATA\r\n" + content + ".\r\nNOOP\r\n");
  EXPECT_EQ(Codes(h2.Take()), (Strings{"250 2.1.0", "250 2.1.5", "354", "452 4.3.1", "250 2.0.0"}));
  s2.Feed(env + "BDAT " + std::to_string(content.size()) + " LAST\r\n" + content);
  EXPECT_EQ(Codes(h2.Take()), (Strings{"250 2.1.0", "250 2.1.5", "452 4.3.1"}));
  EXPECT_TRUE(h2.records.empty());
  // The ack gives s1's bytes back; now s2's message fits.
  h1.ReleaseHeld(true);
  EXPECT_EQ(Codes(h1.Take()), Strings{"250 2.0.0"});
  EXPECT_EQ(budget.in_use(), 0u);
  s2.Feed(env + "DATA\r\n" + content + ".\r\n");
  EXPECT_EQ(Codes(h2.Take()), (Strings{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_EQ(budget.in_use(), 0u);
  // A session that dies with its ack pending gives the bytes back too.
  s1->Feed(env + "DATA\r\n" + content + ".\r\n");
  EXPECT_GT(budget.in_use(), 0u);
  s1.reset();
  h1.held.clear();  // the host drops the callback of the dead session
  EXPECT_EQ(budget.in_use(), 0u);
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
