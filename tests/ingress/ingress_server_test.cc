// The real ingress server over loopback: conversations (pipelined and not),
// STARTTLS and AUTH, TLS garbage, disconnects, queue outages, slow acks,
// limits, timeouts, graceful stop, reload and a taken port.
#include "ingress/ingress_server.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/mail/base64.h"
#include "ingress/ingress_port_check.h"
#include "tests/ingress/fake_producer.h"
#include "tests/ingress/smtp_test_client.h"
#include "tests/ingress/test_certs.h"
#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;
using testing::CodeOf;
using testing::FakeProducer;
using testing::SmtpTestClient;

class IngressServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::MakeTestCerts(dir_.path(), &certs_));
    auto hash = Argon2Authenticator::Hash("s3cret", "saltsaltsalt");
    ASSERT_TRUE(hash.ok());
    config_.hostname = "gw.example.org";
    config_.threads = 2;
    config_.max_message_size = 100000;
    config_.max_recipients = 5;
    config_.queue_ack_timeout = 2s;
    config_.shutdown_grace = 2s;
    config_.auth_users = {{"alice", *hash}};
    config_.sender_bindings.auth_users = {{"alice", *ParseSenders({"example.org"}, "t")}};
    ListenerConfig mx;
    mx.config_path = "ingress.listeners[0]";
    mx.name = "mx";
    mx.address = "127.0.0.1";
    mx.port = 0;
    mx.role = Role::kMx;
    mx.tls = ListenerTlsConfig{certs_.server_cert, certs_.server_key, ""};
    ListenerConfig relay = mx;
    relay.config_path = "ingress.listeners[1]";
    relay.name = "relay";
    relay.role = Role::kRelay;
    relay.auth = true;
    relay.tls = ListenerTlsConfig{certs_.server_cert, certs_.server_key, certs_.ca_cert};
    config_.listeners = {mx, relay};
  }

  void StartServer() {
    server_ = std::make_unique<IngressServer>(config_, std::vector<std::string>{"example.org"},
                                              IngressTopics{"t.inbound", "t.outbound"},
                                              producer_, registry_);
    auto st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    ASSERT_TRUE(server_->Ready());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  uint16_t Port(const std::string& name) { return server_->Port(name); }

  // Connects and reads the greeting.
  void Open(SmtpTestClient& c, const std::string& listener = "mx") {
    ASSERT_TRUE(c.Connect(Port(listener)));
    ASSERT_EQ(CodeOf(c.ReadReply()), "220");
  }

  // Connects to the relay listener, upgrades with STARTTLS and logs in as alice.
  void OpenAuthenticatedRelay(SmtpTestClient& c) {
    Open(c, "relay");
    c.Cmd("EHLO c");
    ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
    ASSERT_TRUE(c.Handshake());
    c.Cmd("EHLO c");
    ASSERT_EQ(
        CodeOf(c.Cmd("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0s3cret", 13)))),
        "235 2.7.0");
  }

  smimegate::v1::MessageRecord Parsed(const queue::OutRecord& r) {
    smimegate::v1::MessageRecord rec;
    EXPECT_TRUE(rec.ParseFromString(r.value));
    return rec;
  }

  sg::testing::TempDir dir_;
  testing::TestCerts certs_;
  IngressConfig config_;
  FakeProducer producer_;
  metrics::Registry registry_;
  std::unique_ptr<IngressServer> server_;
};

TEST_F(IngressServerTest, ConversationNotPipelined) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  std::string ehlo = c.Cmd("EHLO client.example");
  EXPECT_NE(ehlo.find("250-STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo.find("250-PIPELINING"), std::string::npos);
  EXPECT_NE(ehlo.find("250-SIZE 100000"), std::string::npos);
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);  // never before TLS
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<sender@remote.example> SIZE=300")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<bob@example.org>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<eve@not-hosted.example>")), "550 5.7.1");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  std::string reply = c.Cmd("Subject: hello\r\n\r\n..body\r\n.");
  EXPECT_EQ(CodeOf(reply), "250 2.0.0");
  ASSERT_EQ(producer_.RecordCount(), 1u);  // stored before the 250 was sent
  auto rec = producer_.Records()[0];
  EXPECT_EQ(rec.topic, "t.inbound");
  auto parsed = Parsed(rec);
  EXPECT_EQ(rec.key, parsed.envelope().message_id());
  EXPECT_NE(reply.find(parsed.envelope().message_id()), std::string::npos);
  EXPECT_EQ(parsed.envelope().client().ip(), "127.0.0.1");
  EXPECT_EQ(parsed.envelope().recipients_size(), 1);
  EXPECT_EQ(parsed.message().rfind("Received: from client.example ([127.0.0.1])", 0), 0u);
  EXPECT_NE(parsed.message().find("\r\n\r\n.body\r\n"), std::string::npos);
  EXPECT_EQ(CodeOf(c.Cmd("QUIT")), "221 2.0.0");
  EXPECT_TRUE(c.WaitClosed());
  std::string metrics = registry_.Serialize();
  EXPECT_NE(metrics.find("smimegate_ingress_messages_accepted_total{listener=\"mx\","
                         "direction=\"inbound\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("smimegate_ingress_messages_rejected_total{listener=\"mx\","
                         "reason=\"recipient_not_hosted\"} 1"),
            std::string::npos);
}

TEST_F(IngressServerTest, ConversationPipelined) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO client.example");
  c.Send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<x@example.org>\r\nRCPT TO:<y@Example.org>\r\n"
         "DATA\r\n");
  EXPECT_EQ(CodeOf(c.ReadReply()), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.ReadReply()), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.ReadReply()), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.ReadReply()), "354");
  c.Send("Subject: one\r\n\r\nx\r\n.\r\nMAIL FROM:<b@remote.example>\r\nRCPT TO:<z@example.org>\r\n"
         "BDAT 5 LAST\r\nhelloRSET\r\nFOO\r\nNOOP\r\nQUIT\r\n");
  for (const char* want : {"250 2.0.0", "250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0",
                           "500 5.5.2", "250 2.0.0", "221 2.0.0"}) {
    EXPECT_EQ(CodeOf(c.ReadReply()), want);
  }
  EXPECT_EQ(producer_.RecordCount(), 2u);
}

TEST_F(IngressServerTest, ErrorRepliesOverTheWire) {
  config_.max_bad_commands = 50;
  StartServer();
  SmtpTestClient c;
  Open(c);
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<a@remote.example>")), "503 5.5.1");
  EXPECT_EQ(CodeOf(c.Cmd("\x16\x03\x01\x02garbage")), "500 5.5.2");
  EXPECT_EQ(CodeOf(c.Cmd(std::string(5000, 'A'))), "500 5.5.2");
  EXPECT_EQ(CodeOf(c.Cmd("NOOP")), "250 2.0.0");  // still in sync
  c.Cmd("EHLO c");
  EXPECT_EQ(CodeOf(c.Cmd("AUTH PLAIN")), "503 5.5.1");  // not enabled on mx
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<a@remote.example> SIZE=100001")), "552 5.3.4");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<a@remote.example>")), "250 2.1.0");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<r" + std::to_string(i) + "@example.org>")), "250 2.1.5");
  }
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<r6@example.org>")), "452 4.5.3");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  // Oversize: the server reads to the end and answers 552; nothing is queued.
  std::string big(2000, 'x');
  std::string body;
  for (int i = 0; i < 120; ++i) body += big.substr(0, 900) + "\r\n";
  EXPECT_EQ(CodeOf(c.Cmd("Subject: big\r\n\r\n" + body + std::string(".") )), "552 5.3.4");
  EXPECT_EQ(producer_.RecordCount(), 0u);
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<x@example.org>")), "503 5.5.1");
}

TEST_F(IngressServerTest, SmugglingOverTheWire) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  c.Cmd("MAIL FROM:<a@remote.example>");
  c.Cmd("RCPT TO:<x@example.org>");
  ASSERT_EQ(CodeOf(c.Cmd("DATA")), "354");
  c.Send("Subject: s\r\n\r\nhi\n.\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<v@example.org>\r\n"
         "DATA\r\nSubject: smuggled\r\n\r\n.\r\n");
  EXPECT_EQ(CodeOf(c.ReadReply()), "550 5.6.0");
  EXPECT_EQ(CodeOf(c.Cmd("NOOP")), "250 2.0.0");
  EXPECT_EQ(producer_.RecordCount(), 0u);
}

TEST_F(IngressServerTest, StartTlsAndAuthOnRelay) {
  StartServer();
  SmtpTestClient c;
  Open(c, "relay");
  c.Cmd("EHLO client.example");
  // Unauthenticated, untrusted: no relaying.
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "550 5.7.1");
  EXPECT_EQ(CodeOf(c.Cmd("AUTH PLAIN")), "538 5.7.11");
  ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
  ASSERT_TRUE(c.Handshake());
  EXPECT_EQ(c.PeerCertSubject(), "/CN=gw.example.org");
  std::string ehlo = c.Cmd("EHLO client.example");
  EXPECT_NE(ehlo.find("250-AUTH PLAIN LOGIN"), std::string::npos);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(
      CodeOf(c.Cmd("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0bad", 10)))),
      "535 5.7.8");
  EXPECT_EQ(CodeOf(c.Cmd("AUTH LOGIN")), "334");
  EXPECT_EQ(CodeOf(c.Cmd(mail::Base64EncodeOneLine("alice"))), "334");
  EXPECT_EQ(CodeOf(c.Cmd(mail::Base64EncodeOneLine("s3cret"))), "235 2.7.0");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<bob@elsewhere.example>")), "550 5.7.1");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<partner@external.example>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("Subject: out\r\n\r\nhi\r\n.")), "250 2.0.0");
  ASSERT_EQ(producer_.RecordCount(), 1u);
  auto rec = producer_.Records()[0];
  EXPECT_EQ(rec.topic, "t.outbound");
  auto env = Parsed(rec).envelope();
  EXPECT_EQ(env.direction(), smimegate::v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(env.auth_identity(), "alice");
  EXPECT_TRUE(env.tls().active());
  EXPECT_TRUE(env.tls().version() == "TLSv1.3" || env.tls().version() == "TLSv1.2");
  EXPECT_FALSE(env.tls().cipher().empty());
  EXPECT_NE(Parsed(rec).message().find("with ESMTPSA"), std::string::npos);
  EXPECT_EQ(CodeOf(c.Cmd("QUIT")), "221 2.0.0");
}

// Issue 13 point 7: the argon2 check runs on the AUTH pool; one event loop
// serves every other client while a check takes its time.
TEST_F(IngressServerTest, SlowAuthNeverBlocksTheLoop) {
  class SlowAuthenticator : public Authenticator {
   public:
    Result<std::string> Verify(std::string_view, std::string_view, std::string_view) override {
      std::this_thread::sleep_for(1500ms);
      return MakeError(ErrorCode::kPermissionDenied, "wrong password");
    }
  };
  config_.threads = 1;  // one loop: if it blocked, every client would wait
  server_ = std::make_unique<IngressServer>(config_, std::vector<std::string>{"example.org"},
                                            IngressTopics{}, producer_, registry_,
                                            std::make_shared<SlowAuthenticator>());
  ASSERT_TRUE(server_->Start().ok());
  SmtpTestClient a, b;
  Open(a, "relay");
  a.Cmd("EHLO a");
  ASSERT_EQ(CodeOf(a.Cmd("STARTTLS")), "220 2.0.0");
  ASSERT_TRUE(a.Handshake());
  a.Cmd("EHLO a");
  a.Send("AUTH PLAIN " + mail::Base64EncodeOneLine(std::string("\0alice\0bad", 10)) + "\r\n");
  std::this_thread::sleep_for(100ms);  // the check is running now
  auto t0 = std::chrono::steady_clock::now();
  Open(b);
  EXPECT_EQ(CodeOf(b.Cmd("NOOP")), "250 2.0.0");
  // A blocked loop would answer only after the check, ~1.4 s from here.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  EXPECT_EQ(CodeOf(a.ReadReply()), "535 5.7.8");
}

// Issue 13 point 6 over the wire: alice, bound to example.org, may not send
// as the other hosted domain; a wrong binding in the config stops the start.
TEST_F(IngressServerTest, AuthUserOfOneHostedDomainCannotSendAsAnother) {
  server_ = std::make_unique<IngressServer>(
      config_, std::vector<std::string>{"example.org", "Example.NET"}, IngressTopics{},
      producer_, registry_);
  ASSERT_TRUE(server_->Start().ok());
  SmtpTestClient c;
  ASSERT_NO_FATAL_FAILURE(OpenAuthenticatedRelay(c));
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ceo@example.net>")), "553 5.7.1");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
  c.Cmd("RCPT TO:<partner@remote.example>");
  c.Cmd("DATA");
  EXPECT_EQ(CodeOf(c.Cmd("From: ceo@example.net\r\nSubject: s\r\n\r\nx\r\n.")), "553 5.7.1");
  EXPECT_EQ(producer_.RecordCount(), 0u);
  EXPECT_NE(registry_.Serialize().find("reason=\"sender_not_bound\""), std::string::npos);
  EXPECT_NE(registry_.Serialize().find("reason=\"from_not_bound\""), std::string::npos);
  server_->Stop();
  IngressConfig wrong = config_;
  wrong.sender_bindings.auth_users = {
      {"alice", *ParseSenders({"example.com"}, "ingress.auth.users[0].senders")}};
  IngressServer other(wrong, {"example.org"}, IngressTopics{}, producer_, registry_);
  auto st = other.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "config ingress.auth.users[0].senders: example.com is not a hosted domain "
            "(hosted_domains)");
}

TEST_F(IngressServerTest, VerifiedClientCertificateMayRelay) {
  StartServer();
  SmtpTestClient c;
  Open(c, "relay");
  c.Cmd("EHLO c");
  ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
  ASSERT_TRUE(c.Handshake(certs_.client_cert, certs_.client_key));
  c.Cmd("EHLO c");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
  c.Cmd("RCPT TO:<x@external.example>");
  c.Cmd("DATA");
  EXPECT_EQ(CodeOf(c.Cmd("Subject: c\r\n\r\n.")), "250 2.0.0");
  auto env = Parsed(producer_.Records().at(0)).envelope();
  EXPECT_TRUE(env.tls().peer_verified());
  EXPECT_EQ(env.tls().peer_subject(), "/CN=mail.example.org");
}

TEST_F(IngressServerTest, TrustedNetworkMayRelay) {
  config_.listeners[1].trusted_networks = {*Cidr::Parse("127.0.0.0/8")};
  StartServer();
  SmtpTestClient c;
  Open(c, "relay");
  c.Cmd("EHLO c");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
}

TEST_F(IngressServerTest, TlsGarbageClosesOnlyThatConnection) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
  // A TLS record header announcing a handshake, then junk.
  static const char kJunk[] = "\x16\x03\x01\x00\x20this is not a TLS ClientHello at all!!";
  c.Send(std::string(kJunk, sizeof kJunk - 1));
  EXPECT_TRUE(c.WaitClosed());
  SmtpTestClient d;
  Open(d);
  EXPECT_EQ(CodeOf(d.Cmd("NOOP")), "250 2.0.0");
  EXPECT_NE(registry_.Serialize().find(
                "smimegate_ingress_tls_handshakes_total{listener=\"mx\",result=\"failed\"} 1"),
            std::string::npos);
}

TEST_F(IngressServerTest, ClientResetsDoNotAffectOtherClients) {
  StartServer();
  std::string noops;
  for (int i = 0; i < 2000; ++i) noops += "NOOP\r\n";
  for (int round = 0; round < 20; ++round) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(Port("mx"));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_GT(send(fd, noops.data(), noops.size(), MSG_NOSIGNAL), 0);
    linger lg{1, 0};  // close with RST while the server is answering
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
  }
  SmtpTestClient c;
  Open(c);
  EXPECT_EQ(CodeOf(c.Cmd("NOOP")), "250 2.0.0");
}

TEST_F(IngressServerTest, DisconnectMidDataEnqueuesNothing) {
  StartServer();
  {
    SmtpTestClient c;
    Open(c);
    c.Cmd("EHLO c");
    c.Cmd("MAIL FROM:<a@remote.example>");
    c.Cmd("RCPT TO:<x@example.org>");
    ASSERT_EQ(CodeOf(c.Cmd("DATA")), "354");
    c.Send("Subject: cut\r\n\r\nhalf of it\r\n");
  }  // closed
  for (int i = 0; i < 100 && server_->ConnectionCount() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->ConnectionCount(), 0u);
  EXPECT_EQ(producer_.RecordCount(), 0u);
}

TEST_F(IngressServerTest, QueueUnavailableThen451ThenAcceptedWhenBack) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  auto send = [&] {
    c.Cmd("MAIL FROM:<a@remote.example>");
    c.Cmd("RCPT TO:<x@example.org>");
    c.Cmd("DATA");
    return c.Cmd("Subject: q\r\n\r\nbody\r\n.");
  };
  producer_.SetAvailable(false);
  EXPECT_EQ(CodeOf(send()), "451 4.3.0");
  EXPECT_EQ(producer_.RecordCount(), 0u);
  producer_.SetAvailable(true);
  EXPECT_EQ(CodeOf(send()), "250 2.0.0");
  EXPECT_EQ(producer_.RecordCount(), 1u);
}

TEST_F(IngressServerTest, SlowAckIs451AfterTheTimeout) {
  config_.queue_ack_timeout = 300ms;
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  c.Cmd("MAIL FROM:<a@remote.example>");
  c.Cmd("RCPT TO:<x@example.org>");
  c.Cmd("DATA");
  producer_.SetHold(true);
  auto t0 = std::chrono::steady_clock::now();
  std::string reply = c.Cmd("Subject: slow\r\n\r\nbody\r\n.");
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(CodeOf(reply), "451 4.3.0");
  EXPECT_GE(waited, 290ms);
  producer_.SetHold(false);
  producer_.ReleaseHeld();  // the late ack must not produce a second reply
  EXPECT_EQ(CodeOf(c.Cmd("NOOP")), "250 2.0.0");
}

TEST_F(IngressServerTest, NoTwoFiftyBeforeTheAck) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  c.Cmd("MAIL FROM:<a@remote.example>");
  c.Cmd("RCPT TO:<x@example.org>");
  c.Cmd("DATA");
  producer_.SetHold(true);
  c.Send("Subject: held\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(c.ReadReply(300), "");  // nothing while the queue has not acked
  producer_.ReleaseHeld();
  EXPECT_EQ(CodeOf(c.ReadReply()), "250 2.0.0");
}

TEST_F(IngressServerTest, CommandTimeout) {
  config_.command_timeout = 200ms;
  StartServer();
  SmtpTestClient c;
  Open(c);
  EXPECT_EQ(CodeOf(c.ReadReply(3000)), "421 4.4.2");
  EXPECT_TRUE(c.WaitClosed());
}

// Issue 13 point 7: a client that keeps the session busy is still closed
// at the session deadline.
TEST_F(IngressServerTest, SessionDeadline) {
  config_.session_timeout = 600ms;
  StartServer();
  SmtpTestClient c;
  Open(c);
  auto t0 = std::chrono::steady_clock::now();
  std::string reply;
  for (int i = 0; i < 100; ++i) {
    reply = c.Cmd("NOOP");
    if (CodeOf(reply) != "250 2.0.0") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(CodeOf(reply), "421 4.4.2");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_TRUE(c.WaitClosed());
}

// Issue 13 point 7: a peer that pipelines commands but never reads a reply
// fills our buffers; once it is told 421 it gets timeouts.close to read it,
// then the connection is dropped (before, it stayed open for ever).
TEST_F(IngressServerTest, PeerThatNeverReadsIsDropped) {
  config_.command_timeout = 300ms;
  config_.close_timeout = 300ms;
  StartServer();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(Port("mx"));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string help;
  for (int i = 0; i < 2000; ++i) help += "HELP\r\n";
  // Send until the server stops reading (our send would block), never read.
  for (int i = 0; i < 2000; ++i) {
    if (send(fd, help.data(), help.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) break;
  }
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    std::this_thread::sleep_for(50ms);
    dropped = server_->ConnectionCount() == 0;
  }
  EXPECT_TRUE(dropped);
  close(fd);
}

TEST_F(IngressServerTest, TlsHandshakeTimeout) {
  config_.tls_handshake_timeout = 200ms;
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(3000));  // no ClientHello: dropped after the timeout
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_NE(registry_.Serialize().find(
                "smimegate_ingress_tls_handshakes_total{listener=\"mx\",result=\"timeout\"} 1"),
            std::string::npos);
}

TEST_F(IngressServerTest, MetricsPassPromtool) {
  StartServer();
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  c.Cmd("MAIL FROM:<a@remote.example>");
  c.Cmd("RCPT TO:<x@nowhere.example>");
  c.Cmd("RCPT TO:<x@example.org>");
  c.Cmd("DATA");
  ASSERT_EQ(CodeOf(c.Cmd("Subject: m\r\n\r\nbody\r\n.")), "250 2.0.0");
  const std::string file = dir_.Sub("metrics.txt");
  { std::ofstream(file) << registry_.Serialize(); }
  EXPECT_EQ(std::system(("promtool check metrics < " + file + " >/dev/null 2>&1").c_str()), 0)
      << registry_.Serialize();
}

TEST_F(IngressServerTest, ConnectionLimitPerIp) {
  config_.max_connections_per_ip = 2;
  StartServer();
  SmtpTestClient a, b, c;
  Open(a);
  Open(b);
  ASSERT_TRUE(c.Connect(Port("mx")));
  EXPECT_EQ(CodeOf(c.ReadReply()), "421 4.7.0");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(IngressServerTest, GracefulStopLetsTheTransactionFinish) {
  StartServer();
  SmtpTestClient idle, busy;
  Open(idle);
  Open(busy);
  busy.Cmd("EHLO c");
  busy.Cmd("MAIL FROM:<a@remote.example>");
  busy.Cmd("RCPT TO:<x@example.org>");
  ASSERT_EQ(CodeOf(busy.Cmd("DATA")), "354");
  std::thread stopper([&] { server_->Stop(); });
  EXPECT_EQ(CodeOf(idle.ReadReply()), "421 4.3.2");
  EXPECT_FALSE(server_->Ready());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(CodeOf(busy.Cmd("Subject: last\r\n\r\nbody\r\n.")), "250 2.0.0");
  EXPECT_EQ(CodeOf(busy.ReadReply()), "421 4.3.2");
  stopper.join();
  EXPECT_EQ(producer_.RecordCount(), 1u);
  SmtpTestClient late;
  EXPECT_FALSE(late.Connect(server_->Port("mx")));
}

TEST_F(IngressServerTest, TakenPortIsAClearError) {
  StartServer();
  IngressConfig second = config_;
  second.listeners.resize(1);
  second.listeners[0].port = Port("mx");
  IngressServer other(second, {"example.org"}, IngressTopics{}, producer_, registry_);
  auto st = other.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(st.error().message, "ingress.listeners[0] (mx): 127.0.0.1:" +
                                    std::to_string(Port("mx")) + " is already in use");
}

TEST_F(IngressServerTest, RecipientVerificationIsCheckedAtStart) {
  RecipientDomainConfig d;
  d.config_path = "ingress.recipient_verification.domains[0]";
  d.domain = "other.example";
  d.sources = {"registry"};
  config_.recipient_verification.domains = {d};
  {
    IngressServer s(config_, {"example.org"}, IngressTopics{}, producer_, registry_);
    auto st = s.Start();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message, "config ingress.recipient_verification.domains[0].domain: "
                                  "other.example is not a hosted domain");
  }
  config_.recipient_verification.domains[0].domain = "example.org";
  IngressServer s(config_, {"example.org"}, IngressTopics{}, producer_, registry_);
  auto st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "config ingress.recipient_verification.domains[0].sources: "
                                "\"registry\" needs the keyservice, which this process cannot "
                                "reach");
}

// Issue 14 "no shared ports": once our sockets listen, a listening socket of
// anyone else on the same address and port (joined through SO_REUSEPORT,
// e.g. a second gateway that passed its probe at the same moment) is found.
TEST_F(IngressServerTest, ForeignListenerInOurReuseportGroupIsFound) {
  auto listening = [](uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd, 4), 0);
    return fd;
  };
  int ours = listening(0);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(ours, reinterpret_cast<sockaddr*>(&a), &len);
  int ours_too = listening(ntohs(a.sin_port));
  auto alone = ForeignListenerSharesPort({SocketInode(ours), SocketInode(ours_too)});
  ASSERT_TRUE(alone.ok()) << alone.error().message;
  EXPECT_FALSE(*alone);
  int intruder = listening(ntohs(a.sin_port));
  auto shared = ForeignListenerSharesPort({SocketInode(ours), SocketInode(ours_too)});
  ASSERT_TRUE(shared.ok());
  EXPECT_TRUE(*shared);
  int elsewhere = listening(0);  // another port is nobody's business
  EXPECT_FALSE(*ForeignListenerSharesPort({SocketInode(elsewhere)}));
  for (int fd : {ours, ours_too, intruder, elsewhere}) close(fd);
}

TEST_F(IngressServerTest, ReloadPicksUpANewCertificate) {
  StartServer();
  ASSERT_TRUE(testing::MakeServerCert(certs_.server_cert, certs_.server_key, "renewed.example.org"));
  ASSERT_TRUE(server_->Reload().ok());
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO c");
  ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
  ASSERT_TRUE(c.Handshake());
  EXPECT_EQ(c.PeerCertSubject(), "/CN=renewed.example.org");
  // A broken file keeps the old certificate and says which file.
  { std::ofstream(certs_.server_cert) << "not a certificate"; }
  auto st = server_->Reload();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(certs_.server_cert), std::string::npos);
}

}  // namespace
}  // namespace sg::ingress

namespace sg::ingress {
namespace {

// Runtime domains (docs/tenants.md): the MX listener's recipient domains
// change while sessions run; the next RCPT of an open session sees the new set.
TEST_F(IngressServerTest, MxListenerFollowsReplacedHostedDomains) {
  StartServer();
  EXPECT_EQ(server_->HostedDomainCount(), 1u);
  SmtpTestClient c;
  Open(c);
  c.Cmd("EHLO client.example");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<sender@remote.example>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<ann@new.example>")), "550 5.7.1");
  server_->ReplaceHostedDomains({{"example.org", "default"}, {"new.example", "t"}});
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<ann@new.example>")), "250 2.1.5");
  server_->ReplaceHostedDomains({{"new.example", "t"}});
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<bob@example.org>")), "550 5.7.1")
      << "a domain removed at run time is refused";
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<ann@new.example>")), "250 2.1.5");
  EXPECT_EQ(server_->HostedDomainCount(), 1u);
}

}  // namespace
}  // namespace sg::ingress

namespace sg::ingress {
namespace {

// Issue 19 point 4: a relay client bound to a tenant ("tenant:a") may send as
// every domain tenant a owns at the moment, not as tenant b's domains: 553 at
// MAIL FROM and at the From header, nothing enqueued (so nothing signed). A
// domain moved to tenant a at run time is allowed without a restart.
TEST_F(IngressServerTest, RelayClientBoundToATenantCannotSendAsAnotherTenantsDomain) {
  config_.sender_bindings.auth_users = {
      {"alice", *ParseSenders({"tenant:A"}, "ingress.auth.users[0].senders")}};
  StartServer();
  server_->ReplaceHostedDomains(
      {{"example.org", "default"}, {"a.example", "a"}, {"b.example", "b"}});
  SmtpTestClient c;
  ASSERT_NO_FATAL_FAILURE(OpenAuthenticatedRelay(c));
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ceo@b.example>")), "553 5.7.1") << "tenant b's domain";
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<x@example.org>")), "553 5.7.1") << "the default tenant's";
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ann@a.example>")), "250 2.1.0") << "a runtime domain of a";
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<partner@remote.example>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("From: ceo@b.example\r\nSubject: s\r\n\r\nx\r\n.")), "553 5.7.1");
  EXPECT_EQ(producer_.RecordCount(), 0u) << "refused mail is never enqueued, never signed";
  // b.example moves to tenant a: allowed from the next MAIL on.
  server_->ReplaceHostedDomains({{"a.example", "a"}, {"b.example", "a"}});
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ceo@b.example>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<partner@remote.example>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("From: ceo@b.example\r\nSubject: s\r\n\r\nx\r\n.")), "250 2.0.0");
  EXPECT_EQ(producer_.RecordCount(), 1u);
  EXPECT_FALSE(ParseSenders({"tenant:"}, "x").ok());
  EXPECT_FALSE(ParseSenders({"tenant:a/b"}, "x").ok());
}

}  // namespace
}  // namespace sg::ingress

namespace sg::ingress {
namespace {

// PROXY protocol v2 (issue 24): a header before the first SMTP byte names
// the client; every IP rule of the listener sees it.
std::string ProxyV2Header(const std::string& ip4, uint16_t port) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += "\x21\x11";
  h += std::string("\x00\x0c", 2);
  in_addr a{};
  EXPECT_EQ(inet_pton(AF_INET, ip4.c_str(), &a), 1);
  h.append(reinterpret_cast<const char*>(&a), 4);
  h += std::string("\x7f\x00\x00\x01", 4);
  h += static_cast<char>(port >> 8);
  h += static_cast<char>(port & 0xFF);
  h += std::string("\x02\x4b", 2);  // 587
  return h;
}

class IngressProxyV2Test : public IngressServerTest {
 protected:
  void SetUp() override {
    IngressServerTest::SetUp();
    auto& relay = config_.listeners[1];
    relay.proxy_v2 = true;
    relay.proxy_from = {*Cidr::Parse("127.0.0.0/8")};
    relay.trusted_networks = {*Cidr::Parse("198.51.100.0/24")};
  }
  double Metric(const std::string& result) {
    const std::string text = registry_.Serialize();
    const std::string key =
        R"(smimegate_ingress_proxy_protocol_total{listener="relay",result=")" + result + R"("} )";
    const auto at = text.find(key);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + key.size()));
  }
};

TEST_F(IngressProxyV2Test, TheProxiedClientAddressDecidesTrustedNetworksAndIsRecorded) {
  StartServer();
  SmtpTestClient c;
  ASSERT_TRUE(c.Connect(Port("relay")));
  // Nothing is said before the header.
  EXPECT_EQ(c.ReadReply(300), "");
  ASSERT_TRUE(c.Send(ProxyV2Header("198.51.100.7", 40000)));
  ASSERT_EQ(CodeOf(c.ReadReply()), "220");
  c.Cmd("EHLO c");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<bob@remote.example>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("Subject: via a balancer\r\n\r\nhi\r\n.")), "250 2.0.0");
  ASSERT_EQ(producer_.RecordCount(), 1u);
  auto parsed = Parsed(producer_.Records()[0]);
  EXPECT_EQ(parsed.envelope().client().ip(), "198.51.100.7");
  EXPECT_EQ(parsed.message().rfind("Received: from c ([198.51.100.7])", 0), 0u);
  EXPECT_EQ(Metric("accepted"), 1);

  // The same balancer for a client outside the trusted network: not trusted,
  // although the socket's address (127.0.0.1) is the balancer's.
  SmtpTestClient d;
  ASSERT_TRUE(d.Connect(Port("relay")));
  ASSERT_TRUE(d.Send(ProxyV2Header("203.0.113.9", 40001)));
  ASSERT_EQ(CodeOf(d.ReadReply()), "220");
  d.Cmd("EHLO d");
  EXPECT_NE(CodeOf(d.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
}

TEST_F(IngressProxyV2Test, HostileHeadersCloseTheConnectionWithAMetric) {
  config_.listeners[1].proxy_timeout = 300ms;
  StartServer();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"PROXY TCP4 198.51.100.7 127.0.0.1 40000 587\r\n", "v1_header"},
      {"EHLO early.talker\r\n", "bad_signature"},
      {std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff", 16), "too_long"},
      {std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04" "abcd", 20), "bad_length"},
      {std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16), "timeout"},  // truncated
  };
  for (const auto& [bytes, result] : cases) {
    SmtpTestClient c;
    ASSERT_TRUE(c.Connect(Port("relay")));
    ASSERT_TRUE(c.Send(bytes));
    EXPECT_TRUE(c.WaitClosed()) << result;
    EXPECT_EQ(Metric(result), 1) << result;
  }
  // Still serving.
  SmtpTestClient ok;
  ASSERT_TRUE(ok.Connect(Port("relay")));
  ASSERT_TRUE(ok.Send(ProxyV2Header("198.51.100.7", 1)));
  EXPECT_EQ(CodeOf(ok.ReadReply()), "220");
}

TEST_F(IngressProxyV2Test, OnlyTheConfiguredBalancersMaySendAHeader) {
  config_.listeners[1].proxy_from = {*Cidr::Parse("10.0.0.0/8")};
  StartServer();
  SmtpTestClient c;
  ASSERT_TRUE(c.Connect(Port("relay")));
  c.Send(ProxyV2Header("198.51.100.7", 40000));
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(Metric("untrusted_source"), 1);
  // The other listener has no PROXY protocol: unchanged.
  SmtpTestClient m;
  Open(m, "mx");
}

// Issue 19 (session 31): relay clients bound to a tenant in the keyservice
// registry (`smimegatectl tenant bind`), followed at run time: bound to a,
// sending as b's domain -> 553 at MAIL FROM and at the From header, nothing
// enqueued (nothing signed); rebound to b, the same session may send as b
// from the next MAIL. The registry's binding of a user wins over the config
// file's (alice may send as example.org by the file).
TEST_F(IngressServerTest, RelayClientBoundInTheRegistryFollowsRebinding) {
  StartServer();
  server_->ReplaceHostedDomains(
      {{"example.org", "default"}, {"a.example", "a"}, {"b.example", "b"}});
  server_->ReplaceRegistryBindings(MakeRegistryBindings({{"user", "alice", "a"}}));
  SmtpTestClient c;
  ASSERT_NO_FATAL_FAILURE(OpenAuthenticatedRelay(c));
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ceo@b.example>")), "553 5.7.1") << "tenant b's domain";
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ann@a.example>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<partner@remote.example>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("From: ceo@b.example\r\nSubject: s\r\n\r\nx\r\n.")), "553 5.7.1");
  EXPECT_EQ(producer_.RecordCount(), 0u) << "refused mail is never enqueued, never signed";

  server_->ReplaceRegistryBindings(MakeRegistryBindings({{"user", "alice", "b"}}));  // rebound
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ann@a.example>")), "553 5.7.1");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ceo@b.example>")), "250 2.1.0");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<partner@remote.example>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("DATA")), "354");
  EXPECT_EQ(CodeOf(c.Cmd("From: ceo@b.example\r\nSubject: s\r\n\r\nx\r\n.")), "250 2.0.0");
  EXPECT_EQ(producer_.RecordCount(), 1u);

  server_->ReplaceRegistryBindings({});  // unbound: the config file's binding again
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<ceo@b.example>")), "553 5.7.1");
  EXPECT_EQ(CodeOf(c.Cmd("MAIL FROM:<alice@example.org>")), "250 2.1.0");
}

TEST(RegistryBindings, MostSpecificNetworkFirstAndRegistryBeforeConfig) {
  auto hosted = std::make_shared<HostedDomains>(std::set<std::string>{"example.org"});
  hosted->Replace({{"a.example", "a"}, {"b.example", "b"}});
  hosted->ReplaceBindings(MakeRegistryBindings({{"network", "10.0.0.0/8", "a"},
                                                {"network", "10.1.2.0/24", "b"},
                                                {"network", "bad", "b"},
                                                {"certificate", "CN=m365", "b"}}));
  EXPECT_EQ(hosted->TenantOfNetwork("10.1.2.3").value_or(""), "b");
  EXPECT_EQ(hosted->TenantOfNetwork("10.9.0.1").value_or(""), "a");
  EXPECT_EQ(hosted->TenantOfNetwork("::ffff:10.1.2.3").value_or(""), "b");
  EXPECT_FALSE(hosted->TenantOfNetwork("192.0.2.1").has_value());

  SenderBindings config;
  config.networks = {{*Cidr::Parse("192.0.2.0/24"), *ParseSenders({"example.org"}, "cfg")},
                     {*Cidr::Parse("10.1.2.3"), *ParseSenders({"example.org"}, "cfg")}};
  config.AttachRuntime(hosted);
  AllowedSenders none;
  SessionState s;
  s.client_ip = "192.0.2.1";  // not bound in the registry: the config file's binding
  auto allowed = config.For(s, none);
  ASSERT_TRUE(allowed.has_value());
  EXPECT_TRUE(allowed->Allows("x@example.org"));
  EXPECT_FALSE(allowed->Allows("x@b.example"));
  s.client_ip = "10.1.2.3";  // bound in both: the registry's (changed at run time) wins
  allowed = config.For(s, none);
  ASSERT_TRUE(allowed.has_value());
  EXPECT_TRUE(allowed->Allows("x@b.example"));
  EXPECT_FALSE(allowed->Allows("x@a.example"));
  EXPECT_FALSE(allowed->Allows("x@example.org"));
  s.tls.peer_verified = true;
  s.tls.peer_subject = "CN=m365";
  s.client_ip = "10.9.9.9";  // network of a, certificate of b: the certificate decides
  EXPECT_TRUE(config.For(s, none)->Allows("x@b.example"));
}

}  // namespace
}  // namespace sg::ingress
