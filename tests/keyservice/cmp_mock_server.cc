#include "tests/keyservice/cmp_mock_server.h"

#include <fcntl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace sg::keyservice::testing {
namespace {

using namespace std::chrono_literals;
using ::sg::testing::CertSpec;
using ::sg::testing::IssueCert;

std::string Write(const std::filesystem::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  return path.string();
}

}  // namespace

CmpTestPki::CmpTestPki(const std::filesystem::path& d, std::chrono::system_clock::time_point now)
    : dir(d), now_(now) {
  root_key = ::sg::testing::MakeEcKey();
  issuing_key = ::sg::testing::MakeEcKey();
  client_key = ::sg::testing::MakeEcKey();
  CertSpec ca;
  ca.subject = {{"O", "CMP test"}, {"CN", "CMP Test Root"}};
  ca.not_before = now - 24h;
  ca.not_after = now + 24h * 3650;
  ca.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                   {NID_subject_key_identifier, "hash"}};
  root = IssueCert(ca, root_key.get());
  ca.subject = {{"O", "CMP test"}, {"CN", "CMP Test Issuing CA"}};
  ca.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                   {NID_subject_key_identifier, "hash"},
                   {NID_authority_key_identifier, "keyid:always"}};
  issuing = IssueCert(ca, issuing_key.get(), root.get(), root_key.get());
  CertSpec cl;
  cl.subject = {{"O", "CMP test"}, {"CN", "smimegate gateway"}};
  cl.not_before = now - 24h;
  cl.not_after = now + 24h * 365;
  cl.extensions = {{NID_basic_constraints, "CA:FALSE"},
                   {NID_key_usage, "critical,digitalSignature"},
                   {NID_authority_key_identifier, "keyid:always"}};
  client = IssueCert(cl, client_key.get(), issuing.get(), issuing_key.get());
  root_pem = Write(dir / "root.pem", ::sg::testing::CertPem(root.get()));
  issuing_pem = Write(dir / "issuing.pem", ::sg::testing::CertPem(issuing.get()));
  issuing_key_pem = Write(dir / "issuing.key", ::sg::testing::KeyPem(issuing_key.get()));
  client_pem = Write(dir / "client.pem", ::sg::testing::CertPem(client.get()));
  client_key_pem = Write(dir / "client.key", ::sg::testing::KeyPem(client_key.get()));
  secret_file = Write(dir / "cmp.secret", std::string(kCmpSecret) + "\n");
}

std::string CmpTestPki::Leaf(const std::string& name, const std::string& email, EVP_PKEY* key,
                             const std::string& eku) {
  CertSpec s;
  s.subject = {{"CN", email}};
  s.not_before = now_ - 1h;
  s.not_after = now_ + 24h * 365;
  s.extensions = {{NID_basic_constraints, "CA:FALSE"},
                  {NID_key_usage, EVP_PKEY_is_a(key, "RSA")
                                      ? "critical,digitalSignature,keyEncipherment"
                                      : "critical,digitalSignature,keyAgreement"},
                  {NID_subject_alt_name, "email:" + email},
                  {NID_authority_key_identifier, "keyid:always"}};
  if (!eku.empty()) s.extensions.emplace_back(NID_ext_key_usage, eku);
  auto cert = IssueCert(s, key, issuing.get(), issuing_key.get());
  return Write(dir / (name + ".pem"), ::sg::testing::CertPem(cert.get()));
}

CmpConfig CmpTestPki::Config(const std::string& url, const std::string& protection) const {
  CmpConfig c;
  c.url = url;
  c.protection = protection;
  c.reference = kCmpReference;
  c.secret_file = secret_file;
  c.client_cert_file = client_pem;
  c.client_key_file = client_key_pem;
  c.server_cert_file = issuing_pem;
  c.issuing_cert_file = issuing_pem;
  c.root_cert_file = root_pem;
  c.message_timeout = 5s;
  c.total_timeout = 20s;
  return c;
}

std::vector<std::string> CmpTestPki::MockArgs(const std::string& rsp_cert) const {
  return {"-srv_ref",       kCmpReference,   "-srv_secret",    std::string("pass:") + kCmpSecret,
          "-srv_cert",      issuing_pem,     "-srv_key",       issuing_key_pem,
          "-srv_trusted",   root_pem,        "-srv_untrusted", issuing_pem,
          "-rsp_cert",      rsp_cert,        "-rsp_extracerts", issuing_pem};
}

CmpMockServer::CmpMockServer(const std::vector<std::string>& args, const std::filesystem::path& dir,
                             const std::string& log_name)
    : log_(dir / log_name) {
  std::vector<std::string> argv_s = {"openssl", "cmp", "-port", "0"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("openssl", argv.data());
    _exit(127);
  }
  const std::regex accept(R"(ACCEPT \S*:(\d+) )");
  for (int i = 0; i < 200 && port_ == 0; ++i) {
    std::smatch m;
    std::string log = Log();
    if (std::regex_search(log, m, accept)) port_ = std::stoi(m[1]);
    else std::this_thread::sleep_for(50ms);
  }
}

std::string CmpMockServer::Log() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void CmpMockServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

CmpMockServer::~CmpMockServer() { Stop(); }

}  // namespace sg::keyservice::testing
