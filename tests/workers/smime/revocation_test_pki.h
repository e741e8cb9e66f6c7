// For the revocation tests: certificates under the test root that point at
// an OCSP responder and a CRL distribution point on loopback, OpenSSL's own
// OCSP responder (`openssl ocsp -port P -index ...`, its index.txt written
// by the test), a CRL made with the OpenSSL API, and a static HTTP server
// (python3 -m http.server) serving it.
//
// Threading: single-threaded test set-up. Processes are stopped (SIGTERM,
// waitpid) at destruction.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "workers/smime/smime_handles.h"

namespace sg::smime::testing {

// A port nothing listens on right now (bound and released).
int FreeLoopbackPort();

// A child process with its output in |log|; port() is the first group of
// |ready| in its output (or the port passed in), 0 when it never appeared.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& argv, const std::string& log, const std::string& ready);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  int port() const { return port_; }
  void Stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A leaf for |email| under the test root (issuer cert and key), with the
// given OCSP URL and CRL distribution point ("" for none).
X509Ptr RevocationLeaf(const std::string& email, X509* issuer, EVP_PKEY* issuer_key, EVP_PKEY* key,
                       const std::string& ocsp_url, const std::string& crl_url);

// One line of an `openssl ca` index.txt: valid ('V') or revoked ('R', with reason).
std::string IndexLine(X509* cert, bool revoked, const std::string& reason = "keyCompromise");

// A DER CRL of |issuer| listing |revoked| (reason keyCompromise), current at
// |now| for |validity|.
std::string MakeCrlDer(X509* issuer, EVP_PKEY* key, const std::vector<X509*>& revoked,
                       std::time_t now, std::chrono::seconds validity);

}  // namespace sg::smime::testing
