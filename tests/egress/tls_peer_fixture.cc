#include "tests/egress/tls_peer_fixture.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string_view>

namespace sg::egress::testing {

using std::chrono::seconds;
namespace v1 = smimegate::v1;

void TlsPeerTest::Shell(const std::string& cmd) {
  // NOLINTNEXTLINE(cert-env33-c): the test's own openssl command lines
  ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
}

void TlsPeerTest::MakeCa() {
  const std::string d = dir();
  Shell(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
      "/CN=Test-CA -keyout " +
      d + "/ca.key -out " + d + "/ca.pem");
}

void TlsPeerTest::Leaf(const std::string& name, const std::string& san) {
  const std::string d = dir() + "/";
  Shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
        " -keyout " + d + name + ".key -out " + d + name + ".csr");
  std::ofstream(d + name + ".ext") << "subjectAltName=" << san << "\n";
  Shell("openssl x509 -req -days 2 -in " + d + name + ".csr -CA " + d + "ca.pem -CAkey " + d +
        "ca.key -CAcreateserial -extfile " + d + name + ".ext -out " + d + name + ".pem");
}

SmtpPeer TlsPeerTest::StartTlsPeer(const std::string& name, const std::string& cert_file,
                                   const std::string& host, int port) {
  const std::string d = dir();
  return StartSmtpPeer(d, name, {"--tls", d + "/" + cert_file, d + "/" + name + ".key"}, host,
                       port);
}

void TlsPeerTest::StartDns(const std::vector<std::string>& records) {
  const std::string d = dir();
  std::vector<std::string> argv{"/usr/bin/python3", PeersDir() + "/dns_server.py",
                                "--port-file",      d + "/dns.port",
                                "--zone-file",      d + "/zone"};
  for (const auto& r : records) {
    argv.emplace_back("--record");
    argv.push_back(r);
  }
  dns_ = ChildProcess(argv);
  dns_port_ = WaitForPortFile(d + "/dns.port", seconds(10));
}

void TlsPeerTest::StartEgress(int port, const std::string& dns_extra, const std::string& sections) {
  h_.Start(
      "egress:\n  helo_name: gw.test\n  poll_interval: 5ms\n"
      "  smtp: {idle_timeout: 300ms, connect_timeout: 3s, command_timeout: 5s}\n"
      "  retry: {initial: 10s, multiplier: 2, max_interval: 1m, max_age: 1h}\n"
      "  dns: {servers: [\"127.0.0.1:" +
      std::to_string(dns_port_) + "\"], timeout: 2s" + dns_extra + "}\n" + sections +
      "  outbound: {transport: mx, allowed_networks: [127.0.0.0/8], port: " + std::to_string(port) +
      "}\n"
      "  inbound: {transport: maildir, path: mail/inbound}\n");
}

std::string TlsPeerTest::RetryError() {
  std::vector<queue::Record> retry;
  EXPECT_TRUE(WaitUntil([&] { return !(retry = h_.ReadAll("retry")).empty(); }, seconds(15)));
  if (retry.empty()) return "";
  v1::MessageRecord rec;
  EXPECT_TRUE(rec.ParseFromString(retry[0].value));
  return rec.delivery().last_error();
}

double TlsPeerTest::Tls(const std::string& type, const std::string& result) {
  return h_.Metric("smimegate_egress_tls_sessions_total{policy_type=\"" + type + "\",result=\"" +
                   result + "\"}");
}

std::string SpkiSha256Hex(const std::string& pem) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem.c_str(), "r"), &std::fclose);
  if (f == nullptr) return "";
  X509* cert = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(der, static_cast<size_t>(len), md.data());
  OPENSSL_free(der);
  X509_free(cert);
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace sg::egress::testing
