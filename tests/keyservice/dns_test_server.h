// A local DNS server for domain-validation tests: tests/egress/peers/
// dns_server.py (dnslib, run with /usr/bin/python3) on a free loopback UDP
// port, answering from a zone file the test rewrites (SetRecords). Stopped
// (SIGTERM, then SIGKILL) at destruction.
//
// Threading: single-threaded test set-up.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/dns/dns_resolver.h"
#include "common/result.h"

namespace sg::keyservice::testing {

class DnsTestServer {
 public:
  explicit DnsTestServer(std::filesystem::path dir);
  ~DnsTestServer();
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  // keyservice.dns for this server.
  dns::ResolverOptions Options() const;
  // Replaces the zone: lines like "_smimegate-challenge.example.com TXT value".
  void SetRecords(const std::vector<std::string>& records);
  // How many queries the server has answered.
  int Queries() const;

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace sg::keyservice::testing

namespace sg::testing {
class FakeClock;
}  // namespace sg::testing

namespace sg::keyservice {
class KeyServiceImpl;
namespace testing {

// Validates `domain` the way an operator does: `domain validate`, the TXT
// record published on `dns`, then the keyservice's check at the due time
// (`clock` advanced to it). Errors: the keyservice's, or kInternal when the
// domain did not become valid.
Status ValidateDomainForTest(KeyServiceImpl& ks, DnsTestServer& dns, ::sg::testing::FakeClock& clock,
                             const std::string& domain);

}  // namespace testing
}  // namespace sg::keyservice
