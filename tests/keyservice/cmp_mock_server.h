// For the CMP backend's tests: a small S/MIME PKI (root -> issuing CA ->
// mailbox leaves, as PEM files) and OpenSSL's own CMP mock server
// (`openssl cmp -port 0 ...`, "Mock server options" in openssl-cmp(1))
// started on a free loopback port and stopped at destruction.
//
// What OpenSSL 3.0's mock does (apps/lib/cmp_mock_srv.c): it answers every
// ir/cr/kur with the one pre-made certificate given as -rsp_cert, whatever
// key and names the request carries; it polls (-poll_count), refuses
// (-pkistatus/-failure/-statusstring) and revokes only -rsp_cert. So a test
// that wants an issuance to succeed requests a certificate for the key of
// that pre-made certificate (Leaf below), and the client's checks on the
// answer are shown with a pre-made certificate for another key or address.
//
// Threading: single-threaded test set-up.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "keyservice/cmp_config.h"
#include "tests/support/test_pki.h"

namespace sg::keyservice::testing {

inline constexpr const char* kCmpReference = "gateway-1";
inline constexpr const char* kCmpSecret = "test shared secret";

class CmpTestPki {
 public:
  CmpTestPki(const std::filesystem::path& dir, std::chrono::system_clock::time_point now);

  // A certificate for `email` and `key` from the issuing CA (EKU `eku`, ""
  // for none), written to dir/<name>.pem; returns the path.
  std::string Leaf(const std::string& name, const std::string& email, EVP_PKEY* key,
                   const std::string& eku = "emailProtection");

  // keyservice.ca.cmp for a server at `url` ("mac" or "signature").
  CmpConfig Config(const std::string& url, const std::string& protection) const;
  // The mock's arguments for answering with `rsp_cert` (a Leaf path):
  // MAC and signature protection both accepted, responses signed by the
  // issuing CA unless MAC-protected requests came in.
  std::vector<std::string> MockArgs(const std::string& rsp_cert) const;

  std::filesystem::path dir;
  ::sg::testing::TestPkey root_key, issuing_key, client_key;
  ::sg::testing::TestX509 root, issuing, client;
  std::string root_pem, issuing_pem, issuing_key_pem, client_pem, client_key_pem, secret_file;

 private:
  std::chrono::system_clock::time_point now_;
};

class CmpMockServer {
 public:
  // Runs `openssl cmp -port 0 <args>` (output to dir/<log_name>); ok()
  // when it listens, within 10 s.
  CmpMockServer(const std::vector<std::string>& args, const std::filesystem::path& dir,
                const std::string& log_name = "mock.log");
  ~CmpMockServer();
  CmpMockServer(const CmpMockServer&) = delete;
  CmpMockServer& operator=(const CmpMockServer&) = delete;

  bool ok() const { return port_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/pkix/"; }
  // The mock's output so far (for failure messages).
  std::string Log() const;
  void Stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_;
};

}  // namespace sg::keyservice::testing
