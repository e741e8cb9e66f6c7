// STARTTLS everywhere by default (issue 13 point 12): a listener without
// certificates offers STARTTLS with a self-signed certificate made at the
// first start under the data directory (key 0600), the same one on the next
// start; TLS 1.2 is the minimum and TLS 1.2 ciphers are ECDHE + AEAD only.
// (testssl.sh checks the whole picture in tests/integration/mx_edge_test.sh.)
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "ingress/ingress_server.h"
#include "ingress/ingress_tls_selfsigned.h"
#include "tests/ingress/fake_producer.h"
#include "tests/ingress/smtp_test_client.h"
#include "tests/ingress/test_listeners.h"
#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using testing::CodeOf;
using testing::SmtpTestClient;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

class TlsPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.hostname = "mx.example.org";
    config_.threads = 1;
    config_.data_dir = dir_.path();
    ListenerConfig mx = testing::LoopbackListener();
    mx.starttls = true;  // the default of a configured listener
    config_.listeners = {mx};
  }
  std::unique_ptr<IngressServer> Start() {
    auto s = std::make_unique<IngressServer>(config_, std::vector<std::string>{"example.org"},
                                             IngressTopics{}, producer_, registry_);
    auto st = s->Start();
    EXPECT_TRUE(st.ok()) << st.error().message;
    return s;
  }
  // A handshake with the given limits; true when it succeeds.
  bool Handshake(uint16_t port, int max_version, const char* ciphers) {
    SmtpTestClient c;
    if (!c.Connect(port)) return false;
    c.ReadReply();
    c.Cmd("EHLO c");
    if (CodeOf(c.Cmd("STARTTLS")) != "220 2.0.0") return false;
    return c.HandshakeWith(max_version, ciphers);
  }

  sg::testing::TempDir dir_;
  IngressConfig config_;
  testing::FakeProducer producer_;
  metrics::Registry registry_;
};

TEST_F(TlsPolicyTest, SelfSignedStartTlsFromTheFirstStart) {
  std::string first_cert;
  {
    auto server = Start();
    SmtpTestClient c;
    ASSERT_TRUE(c.Connect(server->Port("mx")));
    c.ReadReply();
    EXPECT_NE(c.Cmd("EHLO c").find("250-STARTTLS"), std::string::npos);
    ASSERT_EQ(CodeOf(c.Cmd("STARTTLS")), "220 2.0.0");
    ASSERT_TRUE(c.Handshake());
    EXPECT_EQ(c.PeerCertSubject(), "/CN=mx.example.org");
    EXPECT_EQ(CodeOf(c.Cmd("EHLO c")), "250");
    EXPECT_EQ(CodeOf(c.Cmd("QUIT")), "221 2.0.0");
    server->Stop();
    struct stat st {};
    ASSERT_EQ(stat(dir_.Sub("ingress/selfsigned.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(stat(dir_.Sub("ingress").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    first_cert = ReadAll(dir_.Sub("ingress/selfsigned.pem"));
    EXPECT_NE(first_cert.find("BEGIN CERTIFICATE"), std::string::npos);
  }
  // The next start keeps it; another host name gets a new one.
  Start()->Stop();
  EXPECT_EQ(ReadAll(dir_.Sub("ingress/selfsigned.pem")), first_cert);
  config_.hostname = "mx2.example.org";
  Start()->Stop();
  EXPECT_NE(ReadAll(dir_.Sub("ingress/selfsigned.pem")), first_cert);
  // Within 30 days of its end it is made again.
  auto renewed = EnsureSelfSignedCertificate(dir_.Sub("ingress"), "mx2.example.org",
                                             time(nullptr) + 800LL * 24 * 3600);
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(ReadAll(dir_.Sub("ingress/selfsigned.pem")), first_cert);
}

TEST_F(TlsPolicyTest, StartTlsOffOrNoDataDir) {
  config_.listeners[0].starttls = false;
  {
    auto server = Start();
    SmtpTestClient c;
    ASSERT_TRUE(c.Connect(server->Port("mx")));
    c.ReadReply();
    EXPECT_EQ(c.Cmd("EHLO c").find("STARTTLS"), std::string::npos);
  }
  config_.listeners[0].starttls = true;
  config_.data_dir.clear();
  IngressServer s(config_, {"example.org"}, IngressTopics{}, producer_, registry_);
  auto st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("ingress.listeners[0]: STARTTLS needs a certificate"),
            std::string::npos);
}

TEST_F(TlsPolicyTest, TlsTwelveMinimumAndOnlyForwardSecretAeadCiphers) {
  auto server = Start();
  const uint16_t port = server->Port("mx");
  EXPECT_TRUE(Handshake(port, TLS1_3_VERSION, nullptr));
  EXPECT_TRUE(Handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_TRUE(Handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305"));
  EXPECT_FALSE(Handshake(port, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0"));
  EXPECT_FALSE(Handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"));     // CBC
  EXPECT_FALSE(Handshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256"));  // CBC
}

}  // namespace
}  // namespace sg::ingress
