// Recipient verification from LDAP (ingress_recipient_ldap.h) against a real
// OpenLDAP slapd that the test starts on free loopback ports with its own
// configuration (StartTLS and ldaps with a test certificate, TLS required
// by the server, a bind user that alone may read), and stops at the end.
// Skipped, with a message, only when slapd is not installed
// (scripts/setup-deps.sh installs it).
#include "ingress/ingress_recipient_ldap.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ingress/ingress_server.h"
#include "tests/egress/peer_process.h"
#include "tests/ingress/fake_producer.h"
#include "tests/ingress/smtp_test_client.h"
#include "tests/ingress/test_listeners.h"
#include "tests/support/loopback.h"
#include "tests/support/slapd_test_suite.h"
#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;
using testing::CodeOf;
using testing::SmtpTestClient;

constexpr const char* kBindDn = "cn=gateway,dc=example,dc=org";
constexpr const char* kPassword = "gw-Secret-pw-4711";

// One slapd for the whole suite (tests/support/slapd_test_suite.h):
// dc=example,dc=org with alice and bob (bob by a second mail value), and
// cn=gateway, the only identity that may read.
sg::testing::SlapdOptions Options() {
  sg::testing::SlapdOptions o;
  o.bind_dn = kBindDn;
  o.password = kPassword;
  o.entries_ldif =
      "dn: uid=alice,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\n"
      "sn: A\nmail: alice@example.org\n\n"
      "dn: uid=bob,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\n"
      "sn: B\nmail: robert@example.org\nmail: bob@example.org\n";
  return o;
}

class LdapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { slapd_.Start(Options()); }
  static void TearDownTestSuite() { slapd_.Stop(); }
  void SetUp() override {
    SG_REQUIRE_TEST_SLAPD(slapd_, "the LDAP recipient source is not tested");
  }
  static LdapConfig Config() {
    LdapConfig c;
    c.url = slapd_->ldap_url();
    c.tls_ca_file = slapd_->ca_file();
    c.bind_dn = kBindDn;
    c.bind_password_file = slapd_->password_file();
    c.base_dn = "dc=example,dc=org";
    c.timeout = 5s;
    return c;
  }
  static std::shared_ptr<LdapSource> Open(const LdapConfig& c) {
    auto s = LdapSource::Open(c, "test.ldap");
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? *s : nullptr;
  }

  static sg::testing::SuiteSlapd slapd_;
};
sg::testing::SuiteSlapd LdapTest::slapd_;

TEST(LdapFilter, AddressIsEscapedPerRfc4515) {
  EXPECT_EQ(LdapFilterFor("(mail=%s)", "alice@example.org").value(), "(mail=alice@example.org)");
  EXPECT_EQ(LdapFilterFor("(mail=%s)", "*)(mail=*").value(), "(mail=\\2A\\29\\28mail=\\2A)");
  EXPECT_EQ(LdapFilterFor("(|(mail=%s)(alias=%s))", "a\\b@x").value(),
            "(|(mail=a\\5Cb@x)(alias=a\\5Cb@x))");
  EXPECT_EQ(LdapFilterFor("(mail=%s)", std::string("a\0b@x", 5)).value(), "(mail=a\\00b@x)");
}

TEST(LdapFilter, ConfigurationIsChecked) {
  LdapConfig c;
  c.url = "ldap://127.0.0.1";
  c.base_dn = "dc=example,dc=org";
  EXPECT_TRUE(ValidateLdapConfig(c, "x").ok());
  LdapConfig bad = c;
  bad.url = "http://127.0.0.1";
  EXPECT_NE(ValidateLdapConfig(bad, "x").error().message.find("x.url"), std::string::npos);
  bad = c;
  bad.filter = "(mail=alice)";
  EXPECT_NE(ValidateLdapConfig(bad, "x").error().message.find("%s"), std::string::npos);
  bad = c;
  bad.filter = "(mail=%s))(";
  EXPECT_FALSE(ValidateLdapConfig(bad, "x").ok());
  bad = c;
  bad.base_dn = "";
  EXPECT_FALSE(ValidateLdapConfig(bad, "x").ok());
  bad = c;
  bad.bind_dn = kBindDn;  // and no password file
  EXPECT_FALSE(ValidateLdapConfig(bad, "x").ok());
}

TEST_F(LdapTest, KnownAndUnknownOverStartTlsAndLdaps) {
  auto starttls = Open(Config());
  ASSERT_NE(starttls, nullptr);
  EXPECT_EQ(starttls->Lookup("alice@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ(starttls->Lookup("Alice@Example.ORG"), RecipientStatus::kKnown);  // mail is case-blind
  EXPECT_EQ(starttls->Lookup("bob@example.org"), RecipientStatus::kKnown);    // second value
  EXPECT_EQ(starttls->Lookup("nobody@example.org"), RecipientStatus::kUnknown);
  LdapConfig c = Config();
  c.url = "ldaps://127.0.0.1:" + std::to_string(slapd_->ldaps_port());
  auto ldaps = Open(c);
  ASSERT_NE(ldaps, nullptr);
  EXPECT_EQ(ldaps->Lookup("alice@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ(ldaps->Lookup("nobody@example.org"), RecipientStatus::kUnknown);
  // A filter template of the admin's, the address in two places.
  c.filter = "(&(objectClass=inetOrgPerson)(|(mail=%s)(uid=%s)))";
  auto custom = Open(c);
  ASSERT_NE(custom, nullptr);
  EXPECT_EQ(custom->Lookup("robert@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ(custom->Lookup("carol@example.org"), RecipientStatus::kUnknown);
}

// Filter injection: "*" is a valid local-part character, so without escaping
// "*@example.org" would match every user and "*)(mail=*" would widen the
// filter. Both are searched for literally and unknown.
TEST_F(LdapTest, InjectionAttemptsAreSearchedLiterally) {
  LdapConfig c = Config();
  c.filter = "(&(objectClass=inetOrgPerson)(mail=%s))";
  auto s = Open(c);
  ASSERT_NE(s, nullptr);
  for (const std::string a : {"*@example.org", "*)(mail=*", "alice@example.org)(mail=*",
                              "*)(|(mail=*", "al*", "\\2a@example.org", "*"}) {
    EXPECT_EQ(s->Lookup(a), RecipientStatus::kUnknown) << a;
  }
  EXPECT_EQ(s->Lookup("alice@example.org"), RecipientStatus::kKnown);
}

// Anything that is not an answer is "unavailable" (451 4.4.3 at RCPT),
// never "unknown": a wrong password, a certificate we do not trust, a
// server that demands TLS when StartTLS is off, a base DN that is not there.
// The password never reaches the log.
TEST_F(LdapTest, FailuresAreUnavailableAndThePasswordIsNeverLogged) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  LdapConfig c = Config();
  c.bind_password_file = slapd_->dir() + "/wrong-password";
  EXPECT_EQ(Open(c)->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  c = Config();
  c.tls_ca_file = slapd_->dir() + "/other.crt";
  EXPECT_EQ(Open(c)->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  c = Config();
  c.starttls = false;
  EXPECT_EQ(Open(c)->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  c = Config();
  c.base_dn = "dc=elsewhere,dc=org";
  EXPECT_EQ(Open(c)->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  // Anonymous may read nothing here, and slapd hides the base itself
  // (noSuchObject): unavailable, never a 550 for every recipient.
  c = Config();
  c.bind_dn.clear();
  c.bind_password_file.clear();
  EXPECT_EQ(Open(c)->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_NE(log.str().find("Invalid credentials"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("not-the-password"), std::string::npos);
  EXPECT_EQ(log.str().find(kPassword), std::string::npos);
  // A password file that cannot be read is a start-up error naming the key.
  c = Config();
  c.bind_password_file = slapd_->dir() + "/missing";
  auto missing = LdapSource::Open(c, "ingress.recipient_verification.domains[0].ldap");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("domains[0].ldap.bind_password_file"), std::string::npos);
}

TEST_F(LdapTest, DownOrSilentDirectoryIsUnavailableWithinTheTimeout) {
  LdapConfig c = Config();
  c.url = "ldap://127.0.0.1:" + std::to_string(::sg::testing::FreeLoopbackPort());
  EXPECT_EQ(Open(c)->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  // Accepts the connection, never answers.
  ::sg::testing::LoopbackListenSocket mute_peer(8);
  ASSERT_TRUE(mute_peer.ok());
  for (const std::string scheme : {"ldap", "ldaps"}) {
    c.url = scheme + "://127.0.0.1:" + std::to_string(mute_peer.port());
    c.timeout = 300ms;
    auto silent = Open(c);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(silent->Lookup("alice@example.org"), RecipientStatus::kUnavailable) << scheme;
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 250ms) << scheme;
    EXPECT_LT(took, 3s) << scheme;
  }
  mute_peer.Close();
}

// A kept connection that the directory dropped (restart) is replaced, and
// a rotated password is picked up on Reload (SIGHUP).
TEST_F(LdapTest, ReconnectsAfterARestartAndRereadsThePasswordOnReload) {
  const std::string pw = slapd_->dir() + "/rotating";
  std::ofstream(pw) << "not-the-password\n";
  LdapConfig c = Config();
  c.bind_password_file = pw;
  auto s = Open(c);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  std::ofstream(pw, std::ios::trunc) << kPassword << "\n";
  ASSERT_TRUE(s->Reload().ok());
  EXPECT_EQ(s->Lookup("alice@example.org"), RecipientStatus::kKnown);
  slapd_->Stop();
  EXPECT_EQ(s->Lookup("alice@example.org"), RecipientStatus::kUnavailable);
  ASSERT_TRUE(slapd_->Start());
  EXPECT_EQ(s->Lookup("alice@example.org"), RecipientStatus::kKnown);
}

// The MX listener over the wire: known 250, unknown 550 5.1.1, the
// directory gone 451 4.4.3 (a cached answer still holds); a session whose
// lookup waits on a silent directory never holds up another session (the
// lookups run on the recipient pool, not the event loop).
TEST_F(LdapTest, MxListenerVerifiesByLdapOverTheWire) {
  ::sg::testing::LoopbackListenSocket mute_peer(8);
  ASSERT_TRUE(mute_peer.ok());

  IngressConfig config;
  config.hostname = "gw.example.org";
  config.threads = 1;
  config.listeners = {testing::LoopbackListener()};
  RecipientDomainConfig d;
  d.config_path = "ingress.recipient_verification.domains[0]";
  d.domain = "example.org";
  d.sources = {"ldap"};
  d.ldap = Config();
  RecipientDomainConfig silent = d;
  silent.config_path = "ingress.recipient_verification.domains[1]";
  silent.domain = "slow.example";
  silent.ldap->url = "ldap://127.0.0.1:" + std::to_string(mute_peer.port());
  silent.ldap->timeout = 3s;
  config.recipient_verification.domains = {d, silent};
  testing::FakeProducer producer;
  metrics::Registry registry;
  IngressServer server(config, {"example.org", "slow.example"}, IngressTopics{}, producer,
                       registry);
  ASSERT_TRUE(server.Start().ok());
  SmtpTestClient c;
  ASSERT_TRUE(c.Connect(server.Port("mx")));
  c.ReadReply();
  c.Cmd("EHLO remote.example");
  c.Cmd("MAIL FROM:<forged@victim.example>");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<alice@example.org>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<nobody@example.org>")), "550 5.1.1");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<*@example.org>")), "550 5.1.1");

  // Another client waits on the silent directory; this one goes on.
  SmtpTestClient waiting;
  ASSERT_TRUE(waiting.Connect(server.Port("mx")));
  waiting.ReadReply();
  waiting.Cmd("EHLO other.example");
  waiting.Cmd("MAIL FROM:<x@other.example>");
  const auto t0 = std::chrono::steady_clock::now();
  waiting.Send("RCPT TO:<someone@slow.example>\r\n");
  EXPECT_EQ(CodeOf(c.Cmd("RSET")), "250 2.0.0");
  EXPECT_EQ(CodeOf(c.Cmd("NOOP")), "250 2.0.0");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(CodeOf(waiting.ReadReply()), "451 4.4.3");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2900ms);
  EXPECT_EQ(CodeOf(waiting.Cmd("QUIT")), "221 2.0.0");

  // The directory goes away: 451 4.4.3 for a new address, never a 250 to
  // bounce later; alice's answer is still cached.
  slapd_->Stop();
  c.Cmd("MAIL FROM:<forged@victim.example>");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<carol@example.org>")), "451 4.4.3");
  EXPECT_EQ(CodeOf(c.Cmd("RCPT TO:<alice@example.org>")), "250 2.1.5");
  EXPECT_EQ(CodeOf(c.Cmd("QUIT")), "221 2.0.0");
  server.Stop();
  mute_peer.Close();
  ASSERT_TRUE(slapd_->Start());
}

}  // namespace
}  // namespace sg::ingress
