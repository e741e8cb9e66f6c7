// The LDAP / Active Directory directory source (directory_ldap_source.h)
// against a real OpenLDAP slapd the test starts in a temp dir on free
// loopback ports (the shared test slapd, tests/support/slapd_test_server.h,
// with an AD-like schema for userAccountControl and proxyAddresses and a
// server size limit; no system service touched): 2,500 users through a size
// limit of 1,000 (paging really needed), a disabled account, group-based
// participation (memberOf-style attribute and the group's member list),
// StartTLS and LDAPS verified against the test CA, a wrong CA and a wrong
// password. Skipped with a message only when slapd is not installed.
#include "keyservice/directory_ldap_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "keyservice/directory_service.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"
#include "tests/support/slapd_test_suite.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;

constexpr const char* kBase = "dc=example,dc=com";
constexpr const char* kReader = "cn=reader,dc=example,dc=com";
constexpr const char* kGroup = "cn=participants,ou=groups,dc=example,dc=com";
constexpr const char* kPassword = "reader-Pw-2718";
constexpr int kUsers = 2500;

std::string Uid(int i) {  // u0042
  std::string n = std::to_string(i);
  return "u" + std::string(n.size() < 4 ? 4 - n.size() : 0, '0') + n;
}

// Users u0000..u2499 (u0007 disabled, u0000..u0099 in the group, u0001 with
// an alias) under ou=people; the group. (The base and the reader account
// are the test slapd's own entries.)
std::string Entries() {
  std::ostringstream o;
  o << "dn: ou=people," << kBase << "\nobjectClass: organizationalUnit\nou: people\n\n"
    << "dn: ou=groups," << kBase << "\nobjectClass: organizationalUnit\nou: groups\n\n";
  for (int i = 0; i < kUsers; ++i) {
    const std::string uid = Uid(i);
    o << "dn: uid=" << uid << ",ou=people," << kBase << "\nobjectClass: inetOrgPerson\n"
      << "objectClass: sgAdUser\nuid: " << uid << "\ncn: " << uid << "\nsn: " << uid << "\n"
      << "mail: " << uid << "@example.com\nproxyAddresses: SMTP:" << uid << "@example.com\n"
      << "userAccountControl: " << (i == 7 ? 514 : 512) << "\n";
    if (i == 1) o << "proxyAddresses: smtp:first@example.com\nproxyAddresses: X500:/o=x/cn=u1\n";
    if (i < 100) o << "seeAlso: " << kGroup << "\n";
    o << "\n";
  }
  o << "dn: " << kGroup << "\nobjectClass: groupOfNames\ncn: participants\n";
  for (int i = 0; i < 100; ++i) o << "member: uid=" << Uid(i) << ",ou=people," << kBase << "\n";
  return o.str();
}

::sg::testing::SlapdOptions Options() {
  ::sg::testing::SlapdOptions o;
  o.suffix = kBase;
  o.bind_dn = kReader;
  o.password = kPassword;
  o.entries_ldif = Entries();
  o.require_tls = false;  // the plain ldapsearch below
  o.schema =
      "attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch "
      "SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n"
      "attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses' EQUALITY caseIgnoreMatch "
      "SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n"
      "objectclass ( 1.3.6.1.4.1.99999.20.1 NAME 'sgAdUser' AUXILIARY "
      "MAY ( userAccountControl $ proxyAddresses ) )\n";
  o.global_config = "sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited";
  return o;
}

class DirectoryLdapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { slapd_.Start(Options()); }
  static void TearDownTestSuite() { slapd_.Stop(); }
  void SetUp() override {
    SG_REQUIRE_TEST_SLAPD(slapd_, "the LDAP directory source is not tested");
  }

  static LdapSourceConfig Config() {
    LdapSourceConfig c;
    c.url = slapd_->ldap_url();
    c.ca_file = slapd_->ca_file();
    c.bind_dn = kReader;
    c.bind_password_file = slapd_->password_file();
    c.base_dn = kBase;
    c.timeout = 10s;
    return c;
  }

  static ::sg::testing::SuiteSlapd slapd_;
};
::sg::testing::SuiteSlapd DirectoryLdapTest::slapd_;

TEST_F(DirectoryLdapTest, PagesThroughTheServerSizeLimit) {
  // Without paging the server stops at its limit of 1,000 entries ...
  auto plain = testing::RunCommand("ldapsearch -LLL -x -H ldap://127.0.0.1:" +
                                   std::to_string(slapd_->ldap_port()) + " -D " + kReader + " -w " +
                                   kPassword + " -b " + kBase + " '(mail=*)' 1.1 | grep -c '^dn:'");
  EXPECT_EQ(plain.out, "1000\n");
  // ... the source pages (StartTLS, verified against the test CA).
  LdapDirectorySource source(Config());
  auto view = source.Fetch();
  ASSERT_TRUE(view.ok()) << view.error().ToString();
  EXPECT_EQ(view->users.size(), static_cast<size_t>(kUsers));
  EXPECT_EQ(source.last_stats().pages, 5);
  std::map<std::string, DirectoryUser> by;
  for (const auto& u : view->users) by[u.address] = u;
  EXPECT_FALSE(by.at("u0007@example.com").enabled);  // userAccountControl 514
  EXPECT_TRUE(by.at("u0008@example.com").enabled);
  EXPECT_EQ(by.at("u0001@example.com").aliases, std::vector<std::string>{"first@example.com"});
  EXPECT_TRUE(by.at("u2499@example.com").participating);  // no group: everyone
}

TEST_F(DirectoryLdapTest, GroupMembershipDecidesParticipation) {
  for (bool member_list : {false, true}) {
    auto c = Config();
    c.group_dn = kGroup;
    c.group_member_list = member_list;
    c.member_of_attribute = "seeAlso";  // AD: memberOf (needs no overlay here)
    LdapDirectorySource source(c);
    auto view = source.Fetch();
    ASSERT_TRUE(view.ok()) << view.error().ToString();
    int participating = 0;
    for (const auto& u : view->users) participating += u.participating ? 1 : 0;
    EXPECT_EQ(participating, 100) << "member list: " << member_list;
  }
}

TEST_F(DirectoryLdapTest, LdapsAndTheCaAndThePasswordAreChecked) {
  auto c = Config();
  c.url = slapd_->ldaps_url();
  c.filter = "(uid=u000*)";
  auto view = LdapDirectorySource(c).Fetch();
  ASSERT_TRUE(view.ok()) << view.error().ToString();
  EXPECT_EQ(view->users.size(), 10u);

  c.ca_file = slapd_->dir() + "/other.crt";
  auto bad = LdapDirectorySource(c).Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kUnavailable);

  c = Config();  // StartTLS with the wrong CA
  c.ca_file = slapd_->dir() + "/other.crt";
  bad = LdapDirectorySource(c).Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("StartTLS"), std::string::npos) << bad.error().message;

  c = Config();
  c.bind_password_file = slapd_->wrong_password_file();
  bad = LdapDirectorySource(c).Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bind as cn=reader"), std::string::npos) << bad.error().message;
  EXPECT_EQ(bad.error().message.find("not-the-password"), std::string::npos);
}

TEST_F(DirectoryLdapTest, SyncsIntoTheKeyserviceWithAliases) {
  testing::TempDir dir;
  metrics::Registry registry;
  sg::testing::FakeClock clock{std::chrono::system_clock::now()};
  auto ks = KeyServiceImpl::Open(testing::TestConfig(dir.path()), {"example.com"}, registry, clock);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  DirectoryConfig config;
  config.state_dir = (dir.path() / "directory").string();
  DirectorySourceConfig s;
  s.name = "ad";
  s.type = "ldap";
  s.domains = {"example.com"};
  s.grace_period = 24h * 30;
  s.ldap = Config();
  s.ldap.filter = "(|(uid=u000*)(uid=u001*))";
  config.sources = {s};
  std::map<std::string, std::unique_ptr<DirectorySource>> sources;
  sources.emplace("ad", std::make_unique<LdapDirectorySource>(s.ldap));
  DirectoryService service(config, std::move(sources), **ks, **ks, registry, clock, ks->get());
  auto r = service.SyncSource("ad", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->errors.empty());
  EXPECT_EQ((*ks)->ListUsers("example.com")->size(), 19u);  // 20 listed, u0007 disabled
  auto id = (*ks)->GetSigningIdentity("first@example.com");
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ((*id)->address, "u0001@example.com");
}

}  // namespace
}  // namespace sg::keyservice
