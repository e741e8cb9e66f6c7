#include "tests/workers/smime/revocation_test_pki.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/test_pki.h"

namespace sg::smime::testing {

using namespace std::chrono_literals;

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("no free loopback port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

ServerProcess::ServerProcess(const std::vector<std::string>& argv_s, const std::string& log,
                             const std::string& ready) {
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<std::string> copy = argv_s;
    std::vector<char*> argv;
    argv.reserve(copy.size() + 1);
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  const std::regex re(ready);
  for (int i = 0; i < 200 && port_ == 0; ++i) {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::smatch m;
    if (std::regex_search(text, m, re)) port_ = std::stoi(m[1]);
    else std::this_thread::sleep_for(50ms);
  }
}

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

ServerProcess::~ServerProcess() { Stop(); }

X509Ptr RevocationLeaf(const std::string& email, X509* issuer, EVP_PKEY* issuer_key, EVP_PKEY* key,
                       const std::string& ocsp_url, const std::string& crl_url) {
  const auto now = std::chrono::system_clock::now();
  ::sg::testing::CertSpec s;
  s.subject = {{"CN", email}};
  s.not_before = now - 1h;
  s.not_after = now + 24h * 30;
  s.extensions = {{NID_basic_constraints, "CA:FALSE"},
                  {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                  {NID_ext_key_usage, "emailProtection"},
                  {NID_subject_alt_name, "email:" + email},
                  {NID_authority_key_identifier, "keyid:always"}};
  if (!ocsp_url.empty()) s.extensions.emplace_back(NID_info_access, "OCSP;URI:" + ocsp_url);
  if (!crl_url.empty()) s.extensions.emplace_back(NID_crl_distribution_points, "URI:" + crl_url);
  return AdoptX509(::sg::testing::IssueCert(s, key, issuer, issuer_key).release());
}

std::string IndexLine(X509* cert, bool revoked, const std::string& reason) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string serial = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  char* dn = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0);
  std::string subject = dn;
  OPENSSL_free(dn);
  std::string line = revoked ? "R\t301231000000Z\t261201000000Z," + reason : "V\t301231000000Z\t";
  return line + "\t" + serial + "\tunknown\t" + subject + "\n";
}

std::string MakeCrlDer(X509* issuer, EVP_PKEY* key, const std::vector<X509*>& revoked,
                       std::time_t now, std::chrono::seconds validity) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  ASN1_TIME* last = ASN1_TIME_set(nullptr, now - 3600);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, now + static_cast<std::time_t>(validity.count()));
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  for (X509* c : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(c));
    X509_REVOKED_set_revocationDate(r, last);
    ASN1_ENUMERATED* code = ASN1_ENUMERATED_new();
    ASN1_ENUMERATED_set(code, 1);  // keyCompromise
    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0);
    ASN1_ENUMERATED_free(code);
    X509_CRL_add0_revoked(crl, r);
  }
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, key, EVP_sha256());
  unsigned char* buf = nullptr;
  int n = i2d_X509_CRL(crl, &buf);
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  return der;
}

}  // namespace sg::smime::testing
