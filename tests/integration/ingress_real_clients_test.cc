// The ingress server against real SMTP clients: swaks (plain, pipelined,
// STARTTLS, AUTH), Python smtplib (plain and STARTTLS+AUTH) and Postfix
// smtp-source for a short concurrent burst. Server in-process on loopback
// port 0, fake producer, test certificate made with openssl.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "ingress/ingress_server.h"
#include "tests/ingress/fake_producer.h"
#include "tests/ingress/test_certs.h"
#include "tests/support/temp_dir.h"

#ifndef SG_SOURCE_DIR
#error "SG_SOURCE_DIR must be defined"
#endif

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;

struct ShellRun {
  int status;
  std::string output;
};

// Runs a shell command (bounded by `timeout`), capturing stdout and stderr.
ShellRun Shell(const std::string& cmd) {
  ShellRun r{-1, ""};
  FILE* p = popen(("timeout 60 " + cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

class RealClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::MakeTestCerts(dir_.path(), &certs_));
    auto hash = Argon2Authenticator::Hash("s3cret", "saltsaltsalt");
    ASSERT_TRUE(hash.ok());
    IngressConfig config;
    config.hostname = "gw.example.org";
    config.threads = 2;
    config.auth_users = {{"alice", *hash}};
    config.sender_bindings.auth_users = {{"alice", *ParseSenders({"example.org"}, "test")}};
    ListenerConfig mx;
    mx.config_path = "ingress.listeners[0]";
    mx.name = "mx";
    mx.address = "127.0.0.1";
    mx.port = 0;
    mx.tls = ListenerTlsConfig{certs_.server_cert, certs_.server_key, ""};
    ListenerConfig relay = mx;
    relay.config_path = "ingress.listeners[1]";
    relay.name = "relay";
    relay.role = Role::kRelay;
    relay.auth = true;
    config.listeners = {mx, relay};
    server_ = std::make_unique<IngressServer>(config, std::vector<std::string>{"example.org"},
                                              IngressTopics{}, producer_, registry_);
    auto st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    mx_ = std::to_string(server_->Port("mx"));
    relay_ = std::to_string(server_->Port("relay"));
  }
  void TearDown() override { server_->Stop(); }

  smimegate::v1::MessageRecord Last() {
    smimegate::v1::MessageRecord rec;
    auto records = producer_.Records();
    EXPECT_FALSE(records.empty());
    if (!records.empty()) {
      EXPECT_TRUE(rec.ParseFromString(records.back().value));
    }
    return rec;
  }

  sg::testing::TempDir dir_;
  testing::TestCerts certs_;
  testing::FakeProducer producer_;
  metrics::Registry registry_;
  std::unique_ptr<IngressServer> server_;
  std::string mx_, relay_;
};

TEST_F(RealClientsTest, SwaksPlain) {
  ShellRun r = Shell("swaks --server 127.0.0.1:" + mx_ +
                " --from sender@remote.example --to bob@example.org --helo client.example"
                " --header 'Subject: swaks plain'");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("<-  250 2.0.0 Ok: queued as"), std::string::npos) << r.output;
  ASSERT_EQ(producer_.RecordCount(), 1u);
  EXPECT_EQ(Last().envelope().recipients(0).address(), "bob@example.org");
  EXPECT_NE(Last().message().find("Subject: swaks plain"), std::string::npos);
}

TEST_F(RealClientsTest, SwaksPipelined) {
  ShellRun r = Shell("swaks --pipeline --server 127.0.0.1:" + mx_ +
                " --from sender@remote.example --to bob@example.org,carol@example.org");
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(producer_.RecordCount(), 1u);
  EXPECT_EQ(Last().envelope().recipients_size(), 2);
}

TEST_F(RealClientsTest, SwaksRelayRefusedWithoutAuth) {
  ShellRun r = Shell("swaks --server 127.0.0.1:" + relay_ +
                " --from alice@example.org --to partner@external.example");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("550 5.7.1"), std::string::npos) << r.output;
  EXPECT_EQ(producer_.RecordCount(), 0u);
}

TEST_F(RealClientsTest, SwaksStartTlsAuth) {
  for (const char* mech : {"PLAIN", "LOGIN"}) {
    SCOPED_TRACE(mech);
    ShellRun r = Shell("swaks --tls --server 127.0.0.1:" + relay_ + " --auth " + mech +
                  " --auth-user alice --auth-password s3cret"
                  " --from alice@example.org --to partner@external.example");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("235 2.7.0"), std::string::npos) << r.output;
  }
  ASSERT_EQ(producer_.RecordCount(), 2u);
  auto env = Last().envelope();
  EXPECT_EQ(env.auth_identity(), "alice");
  EXPECT_TRUE(env.tls().active());
  EXPECT_EQ(env.direction(), smimegate::v1::DIRECTION_OUTBOUND);
}

TEST_F(RealClientsTest, SwaksWrongPasswordIsRefused) {
  ShellRun r = Shell("swaks --tls --server 127.0.0.1:" + relay_ +
                " --auth PLAIN --auth-user alice --auth-password wrong"
                " --from alice@example.org --to partner@external.example");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("535 5.7.8"), std::string::npos) << r.output;
  EXPECT_EQ(producer_.RecordCount(), 0u);
}

TEST_F(RealClientsTest, PythonSmtplib) {
  const std::string script = std::string(SG_SOURCE_DIR) +
                             "/tests/integration/ingress_smtplib_client.py";
  ShellRun plain = Shell("/usr/bin/python3 " + script + " " + mx_ + " plain");
  EXPECT_EQ(plain.status, 0) << plain.output;
  ShellRun tls = Shell("/usr/bin/python3 " + script + " " + relay_ + " tlsauth");
  EXPECT_EQ(tls.status, 0) << tls.output;
  ASSERT_EQ(producer_.RecordCount(), 2u);
  auto records = producer_.Records();
  smimegate::v1::MessageRecord a, b;
  ASSERT_TRUE(a.ParseFromString(records[0].value));
  ASSERT_TRUE(b.ParseFromString(records[1].value));
  EXPECT_EQ(a.envelope().header_message_id(), "<smtplib-plain@client.example>");
  EXPECT_NE(a.message().find("\r\n.leading dot line\r\n"), std::string::npos);
  EXPECT_EQ(b.envelope().auth_identity(), "alice");
  EXPECT_TRUE(b.envelope().tls().active());
}

TEST_F(RealClientsTest, PostfixSmtpSourceBurst) {
  // 200 messages over 10 concurrent sessions, 5 recipients each.
  ShellRun r = Shell("/usr/sbin/smtp-source -s 10 -m 200 -r 5 -l 2000 -f sender@remote.example"
                " -t bob@example.org -M client.example 127.0.0.1:" + mx_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(producer_.WaitForRecords(200, 10s));
  EXPECT_EQ(producer_.RecordCount(), 200u);
}

}  // namespace
}  // namespace sg::ingress
