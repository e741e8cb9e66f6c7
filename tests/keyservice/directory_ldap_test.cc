// The LDAP / Active Directory directory source (directory_ldap_source.h)
// against a real OpenLDAP slapd the test starts in a temp dir on free
// loopback ports (generated slapd.conf with an AD-like schema for
// userAccountControl and proxyAddresses, a test CA, LDIF loaded by
// slapadd; no system service touched): 2,500 users through a server size
// limit of 1,000 (paging really needed), a disabled account, group-based
// participation (memberOf-style attribute and the group's member list),
// StartTLS and LDAPS verified against the test CA, a wrong CA and a wrong
// password. Skipped with a message only when slapd is not installed.
#include "keyservice/directory_ldap_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "keyservice/directory_service.h"
#include "keyservice/key_service_impl.h"
#include "tests/egress/peer_process.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"
#include "tests/support/loopback.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using egress::testing::ChildProcess;

constexpr const char* kSlapd = "/usr/sbin/slapd";
constexpr const char* kSlapadd = "/usr/sbin/slapadd";
constexpr const char* kBase = "dc=example,dc=com";
constexpr const char* kReader = "cn=reader,dc=example,dc=com";
constexpr const char* kGroup = "cn=participants,ou=groups,dc=example,dc=com";
constexpr const char* kPassword = "reader-Pw-2718";
constexpr int kUsers = 2500;

bool Shell(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;  // NOLINT(cert-env33-c)
}

bool Connectable(int port) {
  const int fd = ::sg::testing::ConnectLoopback(static_cast<uint16_t>(port));
  if (fd >= 0) close(fd);
  return fd >= 0;
}

std::string Uid(int i) {  // u0042
  std::string n = std::to_string(i);
  return "u" + std::string(n.size() < 4 ? 4 - n.size() : 0, '0') + n;
}

// Users u0000..u2499 (u0007 disabled, u0000..u0099 in the group, u0001 with
// an alias) under ou=people; a reader account; the group.
void WriteLdif(const std::string& path) {
  std::ofstream o(path);
  o << "dn: " << kBase << "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: ex\n\n"
    << "dn: ou=people," << kBase << "\nobjectClass: organizationalUnit\nou: people\n\n"
    << "dn: ou=groups," << kBase << "\nobjectClass: organizationalUnit\nou: groups\n\n"
    << "dn: " << kReader << "\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
    << "cn: reader\nuserPassword: " << kPassword << "\n\n";
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
}

class Slapd {
 public:
  explicit Slapd(std::string dir) : dir_(std::move(dir)) {}

  bool Setup() {
    const std::string d = dir_;
    if (!Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
               "-subj /CN=test-ca -keyout " + d + "/ca.key -out " + d + "/ca.crt") ||
        !Shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 "
               "-keyout " + d + "/server.key -out " + d + "/server.csr") ||
        !Shell("printf 'subjectAltName=IP:127.0.0.1\\n' > " + d + "/san.ext && openssl x509 -req -in " +
               d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -days 2 "
               "-extfile " + d + "/san.ext -out " + d + "/server.crt") ||
        !Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
               "-subj /CN=other-ca -keyout " + d + "/other.key -out " + d + "/other.crt")) {
      return false;
    }
    std::filesystem::create_directories(d + "/db");
    std::ofstream(d + "/ad.schema")
        << "attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch "
           "SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n"
           "attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses' EQUALITY caseIgnoreMatch "
           "SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n"
           "objectclass ( 1.3.6.1.4.1.99999.20.1 NAME 'sgAdUser' AUXILIARY "
           "MAY ( userAccountControl $ proxyAddresses ) )\n";
    std::ofstream(d + "/slapd.conf")
        << "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n"
           "include /etc/ldap/schema/inetorgperson.schema\ninclude " << d << "/ad.schema\n"
           "pidfile " << d << "/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n"
           "TLSCertificateFile " << d << "/server.crt\nTLSCertificateKeyFile " << d << "/server.key\n"
           "sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited\n"
           "database mdb\nsuffix \"" << kBase << "\"\nrootdn \"cn=admin," << kBase << "\"\n"
           "directory " << d << "/db\nmaxsize 104857600\n"
           "access to attrs=userPassword by anonymous auth by * none\n"
           "access to * by dn.exact=\"" << kReader << "\" read by * none\n";
    WriteLdif(d + "/data.ldif");
    std::ofstream(d + "/password") << kPassword << "\n";
    std::ofstream(d + "/wrong") << "wrong-password\n";
    if (!Shell(std::string(kSlapadd) + " -q -f " + d + "/slapd.conf -l " + d + "/data.ldif")) {
      return false;
    }
    ldap_port = ::sg::testing::FreeLoopbackPort();
    ldaps_port = ::sg::testing::FreeLoopbackPort();
    process = ChildProcess({kSlapd, "-h",
                            "ldap://127.0.0.1:" + std::to_string(ldap_port) + "/ ldaps://127.0.0.1:" +
                                std::to_string(ldaps_port) + "/",
                            "-f", d + "/slapd.conf", "-d", "0"});
    return egress::testing::WaitUntil(
        [this] { return Connectable(ldap_port) && Connectable(ldaps_port); }, 10s);
  }

  LdapSourceConfig Config() const {
    LdapSourceConfig c;
    c.url = "ldap://127.0.0.1:" + std::to_string(ldap_port);
    c.ca_file = dir_ + "/ca.crt";
    c.bind_dn = kReader;
    c.bind_password_file = dir_ + "/password";
    c.base_dn = kBase;
    c.timeout = 10s;
    return c;
  }

  std::string dir_;
  ChildProcess process;
  int ldap_port = 0, ldaps_port = 0;
};

class DirectoryLdapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kSlapd, X_OK) != 0 || access(kSlapadd, X_OK) != 0) return;
    dir_ = new testing::TempDir;
    slapd_ = new Slapd(dir_->path().string());
    if (!slapd_->Setup()) {
      delete slapd_;
      slapd_ = nullptr;
      setup_failed_ = true;
    }
  }
  static void TearDownTestSuite() {
    delete slapd_;
    slapd_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (setup_failed_) FAIL() << "slapd is installed but could not be set up";
    if (slapd_ == nullptr) {
      GTEST_SKIP() << "slapd is not installed (Debian packages slapd, ldap-utils; "
                      "scripts/setup-deps.sh): the LDAP directory source is not tested";
    }
  }

  static testing::TempDir* dir_;
  static Slapd* slapd_;
  static bool setup_failed_;
};
testing::TempDir* DirectoryLdapTest::dir_ = nullptr;
Slapd* DirectoryLdapTest::slapd_ = nullptr;
bool DirectoryLdapTest::setup_failed_ = false;

TEST_F(DirectoryLdapTest, PagesThroughTheServerSizeLimit) {
  // Without paging the server stops at its limit of 1,000 entries ...
  auto plain = testing::RunCommand("ldapsearch -LLL -x -H ldap://127.0.0.1:" +
                                   std::to_string(slapd_->ldap_port) + " -D " + kReader + " -w " +
                                   kPassword + " -b " + kBase + " '(mail=*)' 1.1 | grep -c '^dn:'");
  EXPECT_EQ(plain.out, "1000\n");
  // ... the source pages (StartTLS, verified against the test CA).
  LdapDirectorySource source(slapd_->Config());
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
    auto c = slapd_->Config();
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
  auto c = slapd_->Config();
  c.url = "ldaps://127.0.0.1:" + std::to_string(slapd_->ldaps_port);
  c.filter = "(uid=u000*)";
  auto view = LdapDirectorySource(c).Fetch();
  ASSERT_TRUE(view.ok()) << view.error().ToString();
  EXPECT_EQ(view->users.size(), 10u);

  c.ca_file = slapd_->dir_ + "/other.crt";
  auto bad = LdapDirectorySource(c).Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kUnavailable);

  c = slapd_->Config();  // StartTLS with the wrong CA
  c.ca_file = slapd_->dir_ + "/other.crt";
  bad = LdapDirectorySource(c).Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("StartTLS"), std::string::npos) << bad.error().message;

  c = slapd_->Config();
  c.bind_password_file = slapd_->dir_ + "/wrong";
  bad = LdapDirectorySource(c).Fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bind as cn=reader"), std::string::npos) << bad.error().message;
  EXPECT_EQ(bad.error().message.find("wrong-password"), std::string::npos);
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
  s.ldap = slapd_->Config();
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
