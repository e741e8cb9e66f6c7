// Certificate discovery from partner LDAP directories
// (workers/discovery/discovery_ldap.h): the configuration and its errors,
// the domains a directory answers for, RFC 4515 escaping of hostile
// addresses, PKCS#7 values; and against a real slapd on loopback
// (tests/support/slapd_test_server.h; skipped only when slapd is not
// installed): found over StartTLS and ldaps, candidates only through the
// harvest check, not found / no certificate / untrusted, an injection
// attempt that finds nothing, a directory that does not answer, and a
// kept connection the server closed.
#include "workers/discovery/discovery_ldap.h"

#include <gtest/gtest.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/ldap/ldap_filter.h"
#include "common/mail/base64.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_key_service.h"
#include "tests/support/loopback.h"
#include "tests/support/slapd_test_suite.h"
#include "tests/support/test_pki.h"
#include "workers/discovery/certificate_discovery.h"
#include "workers/discovery/discovery_config.h"

namespace sg::workers {
namespace {

using namespace std::chrono_literals;
using State = DiscoveryStatus::State;
constexpr const char* kSuffix = "dc=partner,dc=example";
constexpr const char* kBindDn = "cn=gateway,dc=partner,dc=example";

Result<DiscoveryConfig> ParseYaml(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  return ParseDiscoveryConfig(doc->Root());
}

std::string ErrorOf(const std::string& yaml) {
  auto c = ParseYaml(yaml);
  return c.ok() ? "(accepted)" : c.error().message;
}

constexpr const char* kDirectory =
    "{domains: [partner.example, '*.partner.example'], url: 'ldap://127.0.0.1:1', "
    "base_dn: 'dc=partner,dc=example'";

TEST(LdapDiscoveryConfig, ADirectoryWithItsDefaults) {
  auto c = ParseYaml(std::string("{enabled: true, smimea: false, ldap: [") + kDirectory + "}]}");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_EQ(c->ldap.size(), 1u);
  const LdapDirectoryConfig& d = c->ldap[0];
  EXPECT_EQ(d.domains, (std::vector<std::string>{"partner.example", "*.partner.example"}));
  EXPECT_TRUE(d.connect.starttls);  // StartTLS required by default
  EXPECT_EQ(d.filter, "(mail=%s)");
  EXPECT_EQ(d.attribute, "userCertificate;binary");
  EXPECT_FALSE(d.pkcs7);
  EXPECT_EQ(d.size_limit, 10);
  EXPECT_EQ(d.max_value_size, 64u * 1024);
  EXPECT_EQ(c->order, (std::vector<std::string>{"smimea", "ldap"}));
  EXPECT_EQ(BuildDiscoverySources(*c).size(), 1u);

  c = ParseYaml(std::string("{enabled: true, smimea: false, order: [ldap, smimea], ldap: [") +
                kDirectory + ", attribute: userSMIMECertificate, insecure_plaintext: true}]}");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->ldap[0].pkcs7);
  EXPECT_FALSE(c->ldap[0].connect.starttls);
  EXPECT_EQ(c->order, (std::vector<std::string>{"ldap", "smimea"}));
}

TEST(LdapDiscoveryConfig, SourcesInTheConfiguredOrder) {
  const std::string two = std::string("ldap: [") + kDirectory + "}, " + kDirectory + "}]}";
  auto c = ParseYaml("{enabled: true, dns: {servers: ['127.0.0.1']}, " + two);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  auto sources = BuildDiscoverySources(*c);
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[0]->Name(), "smimea");  // the default: SMIMEA first
  EXPECT_EQ(sources[2]->Name(), "ldap");
  c = ParseYaml("{enabled: true, dns: {servers: ['127.0.0.1']}, order: [ldap, smimea], " + two);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  sources = BuildDiscoverySources(*c);
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[0]->Name(), "ldap");
  EXPECT_EQ(sources[1]->Name(), "ldap");
  EXPECT_EQ(sources[2]->Name(), "smimea");
  // A directory is asked only for its domains.
  EXPECT_TRUE(sources[0]->Covers("bob@partner.example"));
  EXPECT_TRUE(sources[0]->Covers("bob@eu.partner.example"));
  EXPECT_FALSE(sources[0]->Covers("bob@other.example"));
  EXPECT_TRUE(sources[2]->Covers("bob@other.example"));
}

TEST(LdapDiscoveryConfig, ErrorsNameTheKeyAndTheFix) {
  const std::string pre = "{enabled: true, smimea: false, ldap: [";
  EXPECT_NE(ErrorOf("{enabled: true, smimea: false}").find("no source"), std::string::npos);
  EXPECT_NE(ErrorOf(pre + "{url: 'ldap://h', base_dn: 'dc=x'}]}").find("ldap[0].domains"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + "{domains: ['bad domain'], url: 'ldap://h', base_dn: 'dc=x'}]}")
                .find("not a domain"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + "{domains: [p.example], url: 'http://h', base_dn: 'dc=x'}]}")
                .find("ldap[0].url"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + "{domains: [p.example], url: 'ldaps://h', base_dn: 'dc=x', "
                          "insecure_plaintext: true}]}")
                .find("insecure_plaintext"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + "{domains: [p.example], url: 'ldap://h'}]}").find("base_dn"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", bind_dn: 'cn=r'}]}").find("bind_password_file"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(pre + kDirectory + ", bind_password_file: /nonexistent/pw}]}").find("cannot read"),
      std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", filter: '(mail=alice)'}]}").find("%s"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", filter: '(mail=%s))('}]}").find("parenthesised"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", attribute: 'a b'}]}").find("attribute"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", size_limit: 0}]}").find("size_limit"), std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", max_value_size: 10MiB}]}").find("max_value_size"),
            std::string::npos);
  EXPECT_NE(ErrorOf(pre + kDirectory + ", timeout: 10ms}]}").find("timeout"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string("{enabled: true, smimea: false, order: [ldap, x], ldap: [") +
                    kDirectory + "}]}")
                .find("unknown source"),
            std::string::npos);
}

TEST(LdapDiscoveryConfig, DomainsExactAndWildcard) {
  const std::vector<std::string> p = {"partner.example", "*.sub.example"};
  EXPECT_TRUE(DomainCovered(p, "partner.example"));
  EXPECT_FALSE(DomainCovered(p, "x.partner.example"));
  EXPECT_TRUE(DomainCovered(p, "a.sub.example"));
  EXPECT_TRUE(DomainCovered(p, "b.a.sub.example"));
  EXPECT_FALSE(DomainCovered(p, "sub.example"));
  EXPECT_FALSE(DomainCovered(p, "xsub.example"));
  EXPECT_FALSE(DomainCovered(p, "other.example"));
}

// An address with every character RFC 4515 escapes (and NUL) stays a value:
// the filter keeps its one pair of parentheses and has no wildcard.
TEST(LdapDiscoveryFilter, HostileAddressCannotChangeTheFilter) {
  const std::string hostile = std::string("a*)(|(mail=*\\", 13) + std::string(1, '\0') + "@x";
  auto filter = ldap::FilterFor("(mail=%s)", hostile);
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(*filter, "(mail=a\\2A\\29\\28|\\28mail=\\2A\\5C\\00@x)");
  EXPECT_EQ(filter->find('*'), std::string::npos);
  EXPECT_EQ(filter->find('(', 1), std::string::npos);
  EXPECT_EQ(filter->find(')'), filter->size() - 1);
  EXPECT_EQ(filter->find('\0'), std::string::npos);
}

TEST(LdapDiscoveryValue, Pkcs7CertsOnlyAndGarbage) {
  auto key = ::sg::testing::MakeEcKey();
  ::sg::testing::CertSpec spec;
  spec.subject = {{"CN", "bob"}};
  spec.not_before = std::chrono::system_clock::now();
  spec.not_after = spec.not_before + std::chrono::hours(24);
  auto cert = ::sg::testing::IssueCert(spec, key.get());
  const std::string der = ::sg::testing::CertDer(cert.get());
  PKCS7* p7 = PKCS7_new();
  ASSERT_EQ(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
  ASSERT_EQ(PKCS7_content_new(p7, NID_pkcs7_data), 1);
  ASSERT_EQ(PKCS7_add_certificate(p7, cert.get()), 1);
  unsigned char* buf = nullptr;
  const int len = i2d_PKCS7(p7, &buf);
  PKCS7_free(p7);
  ASSERT_GT(len, 0);
  const std::string value(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  EXPECT_EQ(CertificatesInValue(value, true), std::vector<std::string>{der});
  EXPECT_TRUE(CertificatesInValue("not a pkcs7 structure", true).empty());
  EXPECT_EQ(CertificatesInValue(der, false), std::vector<std::string>{der});
}

// One slapd for the suite: bob with a certificate, carol without, bobby
// (so a wildcard in an unescaped filter would find someone).
class LdapDiscoveryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!::sg::testing::SlapdTestServer::Installed()) return;
    auto key = ::sg::testing::MakeEcKey();
    ::sg::testing::CertSpec spec;
    spec.subject = {{"CN", "bob"}};
    spec.not_before = std::chrono::system_clock::now();
    spec.not_after = spec.not_before + std::chrono::hours(24);
    der_ = new std::string(::sg::testing::CertDer(::sg::testing::IssueCert(spec, key.get()).get()));
    ::sg::testing::SlapdOptions o;
    o.suffix = kSuffix;
    o.bind_dn = kBindDn;
    o.entries_ldif = std::string("dn: uid=bob,") + kSuffix +
                     "\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\n" +
                     "sn: B\nmail: bob@partner.example\nuserCertificate;binary:: " +
                     mail::Base64EncodeOneLine(*der_) + "\n\n" + "dn: uid=bobby," + kSuffix +
                     "\nobjectClass: inetOrgPerson\nuid: bobby\ncn: Bobby\nsn: B\n"
                     "mail: bobby@partner.example\nuserCertificate;binary:: " +
                     mail::Base64EncodeOneLine(*der_) + "\n\n" + "dn: uid=carol," + kSuffix +
                     "\nobjectClass: inetOrgPerson\nuid: carol\ncn: Carol\nsn: C\n"
                     "mail: carol@partner.example\n";
    slapd_.Start(o);
  }
  static void TearDownTestSuite() {
    slapd_.Stop();
    delete der_;
    der_ = nullptr;
  }
  void SetUp() override {
    SG_REQUIRE_TEST_SLAPD(slapd_, "LDAP discovery is not tested against a server");
  }

  static LdapDirectoryConfig Directory() {
    LdapDirectoryConfig c;
    c.domains = {"partner.example"};
    c.connect.url = slapd_->ldap_url();
    c.connect.ca_file = slapd_->ca_file();
    c.connect.bind_dn = kBindDn;
    c.connect.timeout = 5s;
    c.bind_password_file = slapd_->password_file();
    c.base_dn = kSuffix;
    return c;
  }

  void Start(const LdapDirectoryConfig& c) {
    std::vector<std::unique_ptr<CertificateSource>> sources;
    sources.push_back(std::make_unique<LdapDirectorySource>(c));
    discovery_ = std::make_unique<CertificateDiscovery>(options_, std::move(sources), keys_,
                                                        metrics_, clock_);
  }

  DiscoveryStatus Settle(const std::string& address) {
    DiscoveryStatus s;
    for (int i = 0; i < 2000; ++i) {
      s = discovery_->Lookup(address);
      if (s.state != State::kPending) return s;
      std::this_thread::sleep_for(10ms);  // a real LDAP round trip
    }
    return s;
  }

  double Lookups(const std::string& result) {
    return registry_.AddCounter("smimegate_discovery_lookups_total", "", {"source", "result"})
        .WithLabels({"ldap", result})
        .Value();
  }

  static ::sg::testing::SuiteSlapd slapd_;
  static std::string* der_;
  ::sg::testing::FakeKeyService keys_;
  ::sg::testing::FakeClock clock_;
  metrics::Registry registry_;
  DiscoveryMetrics metrics_{registry_};
  DiscoveryOptions options_;
  std::unique_ptr<CertificateDiscovery> discovery_;
};
::sg::testing::SuiteSlapd LdapDiscoveryTest::slapd_;
std::string* LdapDiscoveryTest::der_ = nullptr;

TEST_F(LdapDiscoveryTest, FoundOverStartTlsAndHarvested) {
  Start(Directory());
  EXPECT_EQ(discovery_->Lookup("bob@partner.example").state, State::kPending);
  const DiscoveryStatus s = Settle("bob@partner.example");
  ASSERT_EQ(s.state, State::kFound);
  EXPECT_EQ(s.certificate_der, *der_);
  // Through the same check as a harvested certificate, for this address.
  ASSERT_EQ(keys_.harvested().size(), 1u);
  EXPECT_EQ(keys_.harvested()[0].address, "bob@partner.example");
  EXPECT_EQ(keys_.harvested()[0].certificate_der, *der_);
  EXPECT_EQ(Lookups("found"), 1);
}

TEST_F(LdapDiscoveryTest, FoundOverLdaps) {
  LdapDirectoryConfig c = Directory();
  c.connect.url = slapd_->ldaps_url();
  LdapDirectorySource source(c);
  const SourceAnswer a = source.Find("bob@partner.example");
  EXPECT_EQ(a.result, "found") << a.detail;
  EXPECT_EQ(a.certificates_der, std::vector<std::string>{*der_});
}

TEST_F(LdapDiscoveryTest, NotFoundAndNoCertificate) {
  LdapDirectorySource source(Directory());
  EXPECT_EQ(source.Find("dave@partner.example").result, "not_found");
  EXPECT_EQ(source.Find("carol@partner.example").result, "no_certificate");
  LdapDirectoryConfig small = Directory();
  small.max_value_size = 100;  // smaller than bob's certificate
  const SourceAnswer a = LdapDirectorySource(small).Find("bob@partner.example");
  EXPECT_EQ(a.result, "no_certificate");
  EXPECT_NE(a.detail.find("max_value_size"), std::string::npos) << a.detail;
}

TEST_F(LdapDiscoveryTest, UntrustedCertificateIsIgnored) {
  keys_.harvest_outcome = keyservice::HarvestOutcome::kPending;  // no chain to a trusted root
  Start(Directory());
  EXPECT_EQ(Settle("bob@partner.example").state, State::kNone);
  EXPECT_EQ(keys_.harvested().size(), 1u);
  EXPECT_EQ(Lookups("rejected"), 1);
}

// "b*@partner.example" would match bob and bobby in a filter built by
// plain substitution; escaped, it is searched for literally.
TEST_F(LdapDiscoveryTest, InjectionAttemptFindsNothing) {
  Start(Directory());
  EXPECT_EQ(Settle("b*@partner.example").state, State::kNone);
  EXPECT_EQ(Settle("*)(mail=bob@partner.example").state, State::kNone);
  EXPECT_TRUE(keys_.harvested().empty());
  EXPECT_EQ(Lookups("not_found"), 2);
}

TEST_F(LdapDiscoveryTest, OtherDomainsAreNotAsked) {
  Start(Directory());
  const DiscoveryStatus s = discovery_->Lookup("bob@elsewhere.example");
  EXPECT_EQ(s.state, State::kNone);  // at once, not set aside
  EXPECT_EQ(Lookups("not_found") + Lookups("found") + Lookups("error"), 0);
}

TEST_F(LdapDiscoveryTest, SilentDirectoryIsAnErrorWithinItsTimeout) {
  ::sg::testing::LoopbackListenSocket silent;  // accepts, never answers
  ASSERT_TRUE(silent.ok());
  LdapDirectoryConfig c = Directory();
  c.connect.url = "ldap://127.0.0.1:" + std::to_string(silent.port());
  c.connect.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const SourceAnswer a = LdapDirectorySource(c).Find("bob@partner.example");
  EXPECT_EQ(a.result, "error") << a.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  c.connect.ca_file = slapd_->dir() + "/other.crt";  // a server nobody trusts
  c.connect.url = slapd_->ldap_url();
  EXPECT_EQ(LdapDirectorySource(c).Find("bob@partner.example").result, "error");
}

TEST_F(LdapDiscoveryTest, KeptConnectionClosedByTheServerIsReplaced) {
  LdapDirectorySource source(Directory());
  ASSERT_EQ(source.Find("bob@partner.example").result, "found");
  slapd_->Stop();
  ASSERT_TRUE(slapd_->Start());
  EXPECT_EQ(source.Find("bob@partner.example").result, "found");
}

}  // namespace
}  // namespace sg::workers
