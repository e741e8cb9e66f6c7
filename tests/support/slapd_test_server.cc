#include "tests/support/slapd_test_server.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/loopback.h"

namespace sg::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSlapd = "/usr/sbin/slapd";
constexpr const char* kSlapadd = "/usr/sbin/slapadd";

// openssl and slapadd with fixed arguments and paths of our temp dir.
bool Run(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;  // NOLINT(cert-env33-c)
}

bool Connectable(int port) {
  const int fd = ConnectLoopback(static_cast<uint16_t>(port));
  if (fd >= 0) close(fd);
  return fd >= 0;
}

// "dc=example,dc=org" -> "example" (the suffix entry's own dc value).
std::string FirstDc(const std::string& suffix) {
  const size_t eq = suffix.find('=');
  const size_t comma = suffix.find(',');
  return suffix.substr(eq + 1, comma == std::string::npos ? std::string::npos : comma - eq - 1);
}

// cn=gateway,... -> "gateway".
std::string FirstValue(const std::string& dn) { return FirstDc(dn); }

}  // namespace

bool SlapdTestServer::Installed() {
  return access(kSlapd, X_OK) == 0 && access(kSlapadd, X_OK) == 0;
}

bool SlapdTestServer::Setup() {
  const std::string cert = dir_ + "/server.crt", key = dir_ + "/server.key";
  if (!Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
           "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
           key + " -out " + cert) ||
      !Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
           "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
           dir_ + "/other.key -out " + dir_ + "/other.crt")) {
    return false;
  }
  const std::string& suffix = options_.suffix;
  std::filesystem::create_directories(dir_ + "/db");
  std::ofstream(dir_ + "/extra.schema") << options_.schema << "\n";
  // One configuration line per source line. maxsize: room for the bench's
  // 100,000 users (a limit of the memory map, not a file size).
  // clang-format off
  std::ofstream(dir_ + "/slapd.conf")
      << "include /etc/ldap/schema/core.schema\n"
         "include /etc/ldap/schema/cosine.schema\n"
         "include /etc/ldap/schema/inetorgperson.schema\n"
         "include " << dir_ << "/extra.schema\n"
         "pidfile " << dir_ << "/slapd.pid\n"
         "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
         "TLSCertificateFile " << cert << "\nTLSCertificateKeyFile " << key << "\n"
         << (options_.require_tls ? "security tls=1\n" : "")
         << options_.global_config << "\n"
         "database mdb\nsuffix \"" << suffix << "\"\n"
         "rootdn \"" << admin_dn() << "\"\n"
         << (options_.admin_password.empty() ? "" : "rootpw " + options_.admin_password + "\n") <<
         "directory " << dir_ << "/db\nmaxsize 1073741824\n"
         "access to attrs=userPassword by anonymous auth by * none\n"
         "access to * by dn.exact=\"" << options_.bind_dn << "\" read by * none\n";
  // clang-format on
  std::ofstream(dir_ + "/data.ldif")
      << "dn: " << suffix << "\nobjectClass: dcObject\nobjectClass: organization\n"
      << "dc: " << FirstDc(suffix) << "\no: " << FirstDc(suffix) << "\n\n"
      << "dn: " << options_.bind_dn << "\nobjectClass: organizationalRole\n"
      << "objectClass: simpleSecurityObject\ncn: " << FirstValue(options_.bind_dn)
      << "\nuserPassword: " << options_.password << "\n\n"
      << options_.entries_ldif;
  std::ofstream(dir_ + "/password") << options_.password << "\n";
  std::ofstream(dir_ + "/wrong-password") << "not-the-password\n";
  std::ofstream(admin_password_file()) << options_.admin_password << "\n";
  // -q: a quick bulk load (thousands of entries for the directory tests).
  if (!Run(std::string(kSlapadd) + " -q -f " + dir_ + "/slapd.conf -l " + dir_ + "/data.ldif")) {
    return false;
  }
  ldap_port_ = FreeLoopbackPort();
  ldaps_port_ = FreeLoopbackPort();
  return Start();
}

bool SlapdTestServer::Start() {
  process_ = egress::testing::ChildProcess(
      {kSlapd, "-h", ldap_url() + "/ " + ldaps_url() + "/", "-f", dir_ + "/slapd.conf", "-d", "0"});
  return egress::testing::WaitUntil(
      [this] { return Connectable(ldap_port_) && Connectable(ldaps_port_); }, 10s);
}

}  // namespace sg::testing
