#include "tests/ingress/test_certs.h"

#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>

#include "tests/support/test_pki.h"

namespace sg::ingress::testing {
namespace {

using sg::testing::CertSpec;

// Valid from a minute ago for two days (the old `openssl req -days 2`).
CertSpec Spec(const std::string& cn, bool ca) {
  const auto now = std::chrono::system_clock::now();
  CertSpec s;
  s.subject = {{"CN", cn}};
  s.not_before = now - std::chrono::minutes(1);
  s.not_after = now + std::chrono::hours(48);
  s.extensions = {{NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE"},
                  {NID_subject_key_identifier, "hash"}};
  return s;
}

bool Write(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  if (!f) std::fprintf(stderr, "cannot write %s\n", path.c_str());
  return static_cast<bool>(f);
}

}  // namespace

// Certificates come from the one test certificate maker (tests/support/test_pki.h).
bool MakeServerCert(const std::string& cert, const std::string& key, const std::string& cn) {
  try {
    auto k = sg::testing::MakeEcKey();
    // Self-signed, its own trust anchor, like `openssl req -x509`.
    auto c = sg::testing::IssueCert(Spec(cn, true), k.get());
    return Write(cert, sg::testing::CertPem(c.get())) && Write(key, sg::testing::KeyPem(k.get()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "server certificate: %s\n", e.what());
    return false;
  }
}

bool MakeTestCerts(const std::string& dir, TestCerts* out, const std::string& server_cn) {
  out->server_cert = dir + "/server.pem";
  out->server_key = dir + "/server.key";
  out->ca_cert = dir + "/ca.pem";
  out->client_cert = dir + "/client.pem";
  out->client_key = dir + "/client.key";
  if (!MakeServerCert(out->server_cert, out->server_key, server_cn)) return false;
  try {
    auto ca_key = sg::testing::MakeEcKey();
    auto ca = sg::testing::IssueCert(Spec("Test-CA", true), ca_key.get());
    auto client_key = sg::testing::MakeEcKey();
    CertSpec client = Spec("mail.example.org", false);
    client.extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
    auto client_cert = sg::testing::IssueCert(client, client_key.get(), ca.get(), ca_key.get());
    return Write(out->ca_cert, sg::testing::CertPem(ca.get())) &&
           Write(out->client_cert, sg::testing::CertPem(client_cert.get())) &&
           Write(out->client_key, sg::testing::KeyPem(client_key.get()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test CA or client certificate: %s\n", e.what());
    return false;
  }
}

}  // namespace sg::ingress::testing
