// Test certificates made at test time (tests/support/test_pki.h) in a temp dir:
// a self-signed server certificate and a CA with one client certificate.
#pragma once

#include <string>

namespace sg::ingress::testing {

struct TestCerts {
  std::string server_cert, server_key;
  std::string ca_cert;
  std::string client_cert, client_key;
};

// Writes the files into `dir`; false (and a message on stderr) on failure.
bool MakeTestCerts(const std::string& dir, TestCerts* out,
                   const std::string& server_cn = "gw.example.org");

// A fresh self-signed server certificate/key pair at the given paths.
bool MakeServerCert(const std::string& cert, const std::string& key, const std::string& cn);

}  // namespace sg::ingress::testing
