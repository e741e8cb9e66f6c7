// The shared set-up of the authenticated-TLS end-to-end tests (DANE:
// egress_dane_peer_test.cc; MTA-STS: egress_mta_sts_peer_test.cc): a test CA
// and leaf certificates made with the openssl command, STARTTLS SMTP peers
// (tests/egress/peers/smtp_peer.py) on loopback addresses, a local DNS
// server (dns_server.py, dnslib) with fixed records plus a zone file the
// test writes (and may rewrite), egress started with an MX route to the
// peers, and the checks these tests make (the retry record's error, the
// TLS-RPT counters).
//
// Threading: the test's thread. Files live in dir() (the harness's temp dir).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/egress/egress_harness.h"
#include "tests/egress/peer_process.h"

namespace sg::egress::testing {

class TlsPeerTest : public ::testing::Test {
 protected:
  const std::string& dir() const { return h_.dir(); }

  // Runs one of the test's openssl command lines; a failure fails the test.
  static void Shell(const std::string& cmd);
  // dir()/ca.key and dir()/ca.pem: a self-signed P-256 test CA.
  void MakeCa();
  // dir()/<name>.key and dir()/<name>.pem, issued by the CA with the
  // subjectAltName `san` ("DNS:a.test,DNS:b.test").
  void Leaf(const std::string& name, const std::string& san);
  // A STARTTLS peer `name` on `host` presenting dir()/<cert_file> with
  // dir()/<name>.key; `port` 0 takes a free one (peer.port, 0 on failure).
  SmtpPeer StartTlsPeer(const std::string& name, const std::string& cert_file,
                        const std::string& host, int port);
  // The DNS server: `records` (its --record form) and dir()/zone, read at
  // every query. Sets dns_port_ (the test asserts it).
  void StartDns(const std::vector<std::string>& records);
  // Starts egress with an MX route to `port` (allowed_networks 127.0.0.0/8),
  // the test DNS server (`dns_extra` goes inside its flow map, e.g.
  // ", trust_ad: true") and `sections`: more lines of the egress section.
  void StartEgress(int port, const std::string& dns_extra, const std::string& sections);

  // The last_error of the first retry record (waits up to 15 s for one).
  std::string RetryError();
  // smimegate_egress_tls_sessions_total{policy_type=`type`,result=`result`}.
  double Tls(const std::string& type, const std::string& result);

  EgressHarness h_;
  ChildProcess dns_;
  int dns_port_ = 0;
};

// The TLSA "x 1 1" association data of a PEM certificate: SHA-256 of its
// SubjectPublicKeyInfo, in hex ("" when the file is no certificate).
std::string SpkiSha256Hex(const std::string& pem);

}  // namespace sg::egress::testing
