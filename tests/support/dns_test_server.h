// A local DNS server for tests: tests/egress/peers/dns_server.py (dnslib, run
// with /usr/bin/python3) on a free loopback UDP port, answering from a zone
// file the test rewrites (SetRecords). The zone's forms (MX, A, TXT, TLSA,
// SMIMEA, "!ad" for validated answers, SERVFAIL, DROP) are in the script's
// docstring. Stopped (SIGTERM, then SIGKILL) at destruction.
//
// Used by the keyservice's domain validation, certificate discovery
// (SMIMEA) and DANE on egress (TLSA).
//
// Threading: single-threaded test set-up.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/dns/dns_resolver.h"

namespace sg::testing {

class DnsTestServer {
 public:
  explicit DnsTestServer(std::filesystem::path dir);
  ~DnsTestServer();
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  // Resolver options for this server (2 s timeout).
  dns::ResolverOptions Options() const;
  // Replaces the zone: lines like "_smimegate-challenge.example.com TXT value".
  void SetRecords(const std::vector<std::string>& records);
  // How many queries the server has answered.
  int Queries() const;
  // The queries so far, one "name. TYPE[ ad][ do]" line each.
  std::vector<std::string> QueryLog() const;

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace sg::testing
