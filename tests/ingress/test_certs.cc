#include "tests/ingress/test_certs.h"

#include <cstdio>
#include <cstdlib>

namespace sg::ingress::testing {
namespace {

bool Run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) std::fprintf(stderr, "command failed (%d): %s\n", rc, cmd.c_str());
  return rc == 0;
}

const char* kEc = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

bool MakeServerCert(const std::string& cert, const std::string& key, const std::string& cn) {
  return Run(std::string("openssl req -x509 ") + kEc + " -keyout " + key + " -out " + cert +
             " -days 2 -subj /CN=" + cn);
}

bool MakeTestCerts(const std::string& dir, TestCerts* out, const std::string& server_cn) {
  out->server_cert = dir + "/server.pem";
  out->server_key = dir + "/server.key";
  out->ca_cert = dir + "/ca.pem";
  out->client_cert = dir + "/client.pem";
  out->client_key = dir + "/client.key";
  const std::string ca_key = dir + "/ca.key", csr = dir + "/client.csr";
  return MakeServerCert(out->server_cert, out->server_key, server_cn) &&
         Run(std::string("openssl req -x509 ") + kEc + " -keyout " + ca_key + " -out " +
             out->ca_cert + " -days 2 -subj /CN=Test-CA") &&
         Run(std::string("openssl req -new ") + kEc + " -keyout " + out->client_key + " -out " +
             csr + " -subj /CN=mail.example.org") &&
         Run("openssl x509 -req -in " + csr + " -CA " + out->ca_cert + " -CAkey " + ca_key +
             " -CAcreateserial -out " + out->client_cert + " -days 2");
}

}  // namespace sg::ingress::testing
