#include "tests/keyservice/test_pki.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/test_pki.h"

namespace sg::keyservice::testing {

// Certificates come from the one test certificate maker (tests/support/test_pki.h).
TestCa MakeCa(const std::string& name, std::chrono::system_clock::time_point now) {
  TestCa ca;
  ca.key = std::move(*GenerateKey(KeyType::kEcdsaP256));
  sg::testing::CertSpec spec;
  spec.subject = {{"CN", name}};
  spec.not_before = now - std::chrono::hours(24);
  spec.not_after = now + std::chrono::hours(24 * 3650);
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}};
  ca.cert.reset(sg::testing::IssueCert(spec, ca.key.get()).release());
  ca.der = *CertificateToDer(ca.cert.get());
  return ca;
}

std::string MakeLeaf(const TestCa& ca, const LeafOptions& o, PkeyPtr* key_out) {
  // One RSA key for every test leaf: generating RSA keys is what makes tests
  // slow, and certificates differ anyway (serial, names, validity).
  static EVP_PKEY* shared = GenerateKey(KeyType::kRsa2048)->release();
  EVP_PKEY_up_ref(shared);
  PkeyPtr key(shared);
  sg::testing::CertSpec spec;
  spec.subject = {{"CN", o.email}};
  spec.not_before = o.not_before;
  spec.not_after = o.not_after;
  spec.extensions = {{NID_basic_constraints, "CA:FALSE"}};
  if (!o.key_usage.empty()) spec.extensions.emplace_back(NID_key_usage, o.key_usage);
  if (!o.eku.empty()) spec.extensions.emplace_back(NID_ext_key_usage, o.eku);
  spec.extensions.emplace_back(NID_subject_alt_name, "email:" + o.email);
  spec.extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
  auto cert = sg::testing::IssueCert(spec, key.get(), ca.cert.get(), ca.key.get());
  if (key_out) *key_out = std::move(key);
  return *CertificateToDer(cert.get());
}

std::string WriteFile(const std::filesystem::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  return path.string();
}

CommandOutput RunCommand(const std::string& command) {
  std::string cmd = command + " 2>&1";
  CommandOutput r;
  FILE* p = popen(cmd.c_str(), "r");  // NOLINT(cert-env33-c): tests run the real binaries
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string MakePkcs12(const std::string& cert_der, EVP_PKEY* key, const std::string& password,
                       bool legacy, const std::filesystem::path& dir) {
  auto cert = ParseCertificateDer(cert_der);
  WriteFile(dir / "p12cert.pem", CertificateToPem(cert->get()));
  BIO* bio = BIO_new_file((dir / "p12key.pem").c_str(), "w");
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO_free(bio);
  std::string out = (dir / "out.p12").string();
  std::string cmd = "openssl pkcs12 -export " + std::string(legacy ? "-legacy " : "") +
                    "-in " + (dir / "p12cert.pem").string() + " -inkey " +
                    (dir / "p12key.pem").string() + " -out " + out + " -passout pass:" + password;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl pkcs12 failed: " + cmd);
  std::ifstream in(out, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::filesystem::remove(dir / "p12key.pem");
  return ss.str();
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sg-ks-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

KeyServiceConfig TestConfig(const std::filesystem::path& dir) {
  KeyServiceConfig c;
  c.listen = "127.0.0.1:0";
  c.store_path = (dir / "keys").string();
  c.kek_file = (dir / "kek").string();
  c.kek_create = true;
  c.system_roots = false;  // fast, and deterministic
  c.trust.mozilla_email = false;
  c.ca.key_type = KeyType::kEcdsaP256;
  c.ca.organization = "smimegate test";
  c.data_dir = dir.string();
  c.admin_credentials = (dir / "credentials" / "admin").string();
  return c;
}

ClientCredentials RoleCredentials(KeyAdmin& admin, const std::string& role, const std::string& name) {
  auto key = GenerateCredentialKey();
  if (!key.ok()) throw std::runtime_error(key.error().ToString());
  auto issued = admin.IssueCredentials(CredentialsRequest{role, name, key->public_key_der, 0});
  if (!issued.ok()) throw std::runtime_error(issued.error().ToString());
  ClientCredentials c;
  c.cert_pem = issued->certificate_pem;
  c.key_pem = key->key_pem;
  c.ca_pem = issued->ca_pem;
  return c;
}

ClientCredentials AdminCredentials(const KeyServiceConfig& config) {
  auto c = CredentialsFromDir(config.admin_credentials, "test");
  if (!c.ok()) throw std::runtime_error(c.error().ToString());
  return *c;
}

}  // namespace sg::keyservice::testing
