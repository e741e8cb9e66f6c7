#include "tests/workers/smime/smime_test_pki.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sg::smime::testing {
namespace {

constexpr long kDay = 86400;

std::string ToPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

struct CertSpec {
  std::string cn;
  std::string email;
  bool ca = false;
  long not_before = -kDay;
  long not_after = 365 * kDay;
  std::string key_usage;
  std::string eku;
};

TestIdentity Make(const std::string& dir, const std::string& name, PkeyPtr key,
                  const CertSpec& spec, const TestIdentity* issuer) {
  static long serial = 1000;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("smimegate test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  if (!spec.email.empty()) {
    X509_NAME_add_entry_by_txt(subject, "emailAddress", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.email.c_str()), -1, -1,
                               0);
  }
  X509_set_pubkey(cert, key.get());
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  AddExt(cert, issuer_cert, NID_basic_constraints,
         spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(cert, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) AddExt(cert, issuer_cert, NID_authority_key_identifier, "keyid:always");
  AddExt(cert, issuer_cert, NID_key_usage, spec.key_usage);
  if (!spec.eku.empty()) AddExt(cert, issuer_cert, NID_ext_key_usage, spec.eku);
  if (!spec.email.empty()) AddExt(cert, issuer_cert, NID_subject_alt_name, "email:" + spec.email);
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : key.get();
  if (X509_sign(cert, signing_key, EVP_sha256()) <= 0) throw std::runtime_error("X509_sign");

  TestIdentity id;
  id.name = name;
  id.email = spec.email;
  id.key = std::move(key);
  id.cert = AdoptX509(cert);
  id.cert_pem = CertToPem(cert);
  id.key_pem = ToPem(id.key.get());
  id.cert_path = dir + "/" + name + ".pem";
  id.key_path = dir + "/" + name + ".key";
  WriteFile(id.cert_path, id.cert_pem);
  WriteFile(id.key_path, id.key_pem);
  return id;
}

PkeyPtr Rsa() { return AdoptPkey(EVP_RSA_gen(2048)); }
PkeyPtr Ec() { return AdoptPkey(EVP_EC_gen("P-256")); }

CertSpec User(const std::string& cn, const std::string& email, bool ec) {
  CertSpec s;
  s.cn = cn;
  s.email = email;
  s.key_usage = ec ? "critical,digitalSignature,nonRepudiation,keyAgreement"
                   : "critical,digitalSignature,nonRepudiation,keyEncipherment";
  s.eku = "emailProtection";
  return s;
}

CertSpec Ca(const std::string& cn) {
  CertSpec s;
  s.cn = cn;
  s.ca = true;
  s.not_after = 3650 * kDay;
  s.key_usage = "critical,keyCertSign,cRLSign";
  return s;
}

TestIdentity Load(const std::string& dir, const std::string& name, const std::string& email) {
  TestIdentity id;
  id.name = name;
  id.email = email;
  id.cert_path = dir + "/" + name + ".pem";
  id.key_path = dir + "/" + name + ".key";
  id.cert_pem = ReadFile(id.cert_path);
  id.key_pem = ReadFile(id.key_path);
  id.cert = ParseCertificate(id.cert_pem).value();
  id.key = ParsePrivateKey(id.key_pem).value();
  return id;
}

void Generate(const std::string& d) {
  TestPki p;
  p.root = Make(d, "root", Rsa(), Ca("Test Root CA"), nullptr);
  p.intermediate = Make(d, "intermediate", Rsa(), Ca("Test Intermediate CA"), &p.root);
  Make(d, "alice", Rsa(), User("Alice", "alice@example.com", false), &p.intermediate);
  Make(d, "bob", Ec(), User("Bob", "bob@example.com", true), &p.intermediate);
  Make(d, "carol", Rsa(), User("Carol", "carol@example.org", false), &p.intermediate);
  CertSpec expired = User("Old", "old@example.com", false);
  expired.not_before = -800 * kDay;
  expired.not_after = -365 * kDay;
  Make(d, "expired", Rsa(), expired, &p.intermediate);
  CertSpec server = User("Server", "server@example.com", false);
  server.eku = "serverAuth";
  Make(d, "server", Rsa(), server, &p.intermediate);
  p.rogue_root = Make(d, "rogue_root", Rsa(), Ca("Rogue Root"), nullptr);
  Make(d, "mallory", Rsa(), User("Mallory", "alice@example.com", false), &p.rogue_root);
  WriteFile(d + "/complete", "ok");
}

// RSA key generation takes seconds on a loaded machine and every test case
// runs in its own process (gtest_discover_tests), so the PKI generated by the
// first process is shared through a per-build directory for a few hours.
std::string PkiDir() {
#ifdef SG_SMIME_PKI_CACHE
  std::string dir = SG_SMIME_PKI_CACHE;
#else
  std::string dir = "/tmp/sg-smime-pki-" + std::to_string(getuid());
#endif
  namespace fs = std::filesystem;
  std::error_code ec;
  auto fresh = [&] {
    if (!fs::exists(dir + "/complete", ec)) return false;
    auto age = fs::file_time_type::clock::now() - fs::last_write_time(dir + "/complete", ec);
    return !ec && age < std::chrono::hours(6);
  };
  if (fresh()) return dir;
  // One generator at a time: test processes run in parallel, and one that
  // already uses the PKI's files must never see them replaced by another's.
  int lock = open((dir + ".lock").c_str(), O_CREAT | O_RDWR, 0600);
  if (lock >= 0) flock(lock, LOCK_EX);
  if (!fresh()) {
    std::string tmp = MakeTempDir("sgpki");
    Generate(tmp);
    fs::remove_all(dir, ec);
    fs::rename(tmp, dir, ec);
    if (ec) RemoveTree(tmp);
  }
  if (lock >= 0) {
    flock(lock, LOCK_UN);
    close(lock);
  }
  return dir;
}

TestPki* Build() {
  auto* pki = new TestPki();
  std::string d = PkiDir();
  pki->dir = d;
  pki->root = Load(d, "root", "");
  pki->intermediate = Load(d, "intermediate", "");
  pki->alice = Load(d, "alice", "alice@example.com");
  pki->bob = Load(d, "bob", "bob@example.com");
  pki->carol = Load(d, "carol", "carol@example.org");
  pki->expired = Load(d, "expired", "old@example.com");
  pki->server = Load(d, "server", "server@example.com");
  pki->rogue_root = Load(d, "rogue_root", "");
  pki->mallory = Load(d, "mallory", "alice@example.com");
  pki->chain_path = pki->intermediate.cert_path;
  return pki;
}

}  // namespace

SignerIdentity TestIdentity::Signer() const {
  SignerIdentity s{key, cert, {}};
  const TestPki& pki = GetTestPki();
  if (this != &pki.mallory) s.chain.push_back(pki.intermediate.cert);
  return s;
}

TrustStore TestPki::Trust() const {
  TrustStoreOptions o;
  o.anchors.push_back(root.cert);
  return TrustStore::Create(o).value();
}

const TestPki& GetTestPki() {
  static TestPki* pki = Build();
  return *pki;
}

int RunTool(const std::string& command, std::string* output) {
  std::string full = "timeout 60 /bin/sh -c '";
  for (char c : command) {
    if (c == '\'')
      full += "'\\''";
    else
      full += c;
  }
  full += "' 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  char* d = mkdtemp(tmpl.data());
  if (d == nullptr) throw std::runtime_error("mkdtemp");
  return tmpl;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string DateNow() {
  std::time_t now = std::time(nullptr);
  struct tm tm_value {};
  gmtime_r(&now, &tm_value);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm_value);
  return buf;
}

std::string SampleMessage(const std::string& from, const std::string& body) {
  return "From: Alice Example <" + from +
         ">\r\n"
         "To: Bob <bob@example.com>\r\n"
         "Subject: test message\r\n"
         "Date: " + DateNow() + "\r\n"
         "Message-ID: <test-1@example.com>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: 8bit\r\n"
         "\r\n" +
         body;
}

}  // namespace sg::smime::testing

namespace sg::smime::testing {

DetachedParts ExtractDetached(const std::string& message) {
  MimeLimits limits;
  MimeEntity top = ParseEntity(message, limits).value();
  ContentType ct = EntityContentType(top);
  Multipart mp = SplitMultipart(top.body, ct.Param("boundary"), limits).value();
  MimeEntity sig = ParseEntity(mp.parts.at(1), limits).value();
  return DetachedParts{std::string(mp.parts.at(0)), Base64Decode(sig.body).value()};
}

std::string ExtractP7m(const std::string& message) {
  MimeEntity top = ParseEntity(message, MimeLimits{}).value();
  return Base64Decode(top.body).value();
}

std::string WrapDetached(const std::string& from, const std::string& content,
                         const std::string& der) {
  std::string b = "interop-boundary-42";
  return "From: " + from +
         "\r\nTo: someone@example.net\r\nSubject: interop\r\nDate: " + DateNow() +
         "\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;"
         " boundary=\"" +
         b + "\"\r\n\r\n--" + b + "\r\n" + content + "\r\n--" + b +
         "\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         Base64Encode(der) + "--" + b + "--\r\n";
}

std::string WrapP7m(const std::string& from, const std::string& der,
                    const std::string& smime_type) {
  return "From: " + from +
         "\r\nTo: someone@example.net\r\nSubject: interop\r\nDate: " + DateNow() +
         "\r\nMIME-Version: 1.0\r\n"
         "Content-Type: application/pkcs7-mime; smime-type=" +
         smime_type +
         "; name=smime.p7m\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         Base64Encode(der);
}

std::string SampleEntity(const std::string& text) {
  return "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text + "\r\n";
}

std::string MakeLegacyP12(const TestIdentity& id, const std::string& dir, const std::string& pass) {
  std::string out = dir + "/" + id.name + ".p12";
  std::string cmd = "openssl pkcs12 -export -in " + id.cert_path + " -inkey " + id.key_path +
                    " -certfile " + GetTestPki().intermediate.cert_path + " -name " + id.name +
                    " -out " + out + " -passout pass:" + pass +
                    " -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1";
  std::string log;
  if (RunTool(cmd, &log) != 0) throw std::runtime_error("pkcs12: " + log);
  return out;
}

}  // namespace sg::smime::testing
