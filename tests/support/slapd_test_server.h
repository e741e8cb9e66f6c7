// A real OpenLDAP slapd for tests, in a temp dir on free loopback ports
// (ldap:// and ldaps://), with its own configuration: a self-signed server
// certificate for 127.0.0.1 (server.crt, the CA file clients trust) and a
// second one nobody trusts (other.crt), TLS required by the server
// (security tls=1, so ldap:// needs StartTLS; SlapdOptions::require_tls),
// the core, cosine and inetOrgPerson schemas (and any of the test's own),
// and one bind identity that alone may read (password in `password`, a
// wrong one in `wrong-password`). Stopped (SIGTERM, then SIGKILL) at
// destruction. No system service is touched.
//
// The one test slapd: ingress recipient verification, certificate discovery
// from partner directories, the keyservice's LDAP directory source, the
// directory bench (bench/directory), and (as the `smimegate-test-slapd`
// program, slapd_test_main.cc) the Python end-to-end tests (sgtest.TestSlapd).
// A gtest suite shares one through SuiteSlapd (slapd_test_suite.h).
//
// Threading: single-threaded test set-up.
#pragma once

#include <string>

#include "tests/egress/peer_process.h"

namespace sg::testing {

struct SlapdOptions {
  std::string suffix = "dc=example,dc=org";  // a dc=...,dc=... suffix
  std::string bind_dn = "cn=gateway,dc=example,dc=org";
  std::string password = "gw-Secret-pw-4711";
  std::string entries_ldif;  // entries below the suffix (LDIF, blank-line separated)
  // False: ldap:// without StartTLS is served too (a plain ldapsearch).
  bool require_tls = true;
  // More schema (slapd.conf attributetype / objectclass lines), "" for none.
  std::string schema;
  // More global slapd.conf lines, e.g. "sizelimit size.soft=1000 size.hard=1000".
  std::string global_config;
  // Non-empty: cn=admin,<suffix> (admin_dn()) binds with it and may write
  // (slapd's rootdn), e.g. to delete entries with ldapdelete.
  std::string admin_password;
};

class SlapdTestServer {
 public:
  // False when /usr/sbin/slapd or slapadd are missing (the test skips).
  static bool Installed();

  SlapdTestServer(std::string dir, SlapdOptions options)
      : dir_(std::move(dir)), options_(std::move(options)) {}

  // Certificates, configuration and data, then Start(). False on failure.
  bool Setup();
  // (Re)starts slapd on the same ports; true once both accept.
  bool Start();
  void Stop() { process_.Stop(); }

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/server.crt"; }
  std::string password_file() const { return dir_ + "/password"; }
  std::string wrong_password_file() const { return dir_ + "/wrong-password"; }
  std::string admin_dn() const { return "cn=admin," + options_.suffix; }
  std::string admin_password_file() const { return dir_ + "/admin-password"; }
  std::string ldap_url() const { return "ldap://127.0.0.1:" + std::to_string(ldap_port_); }
  std::string ldaps_url() const { return "ldaps://127.0.0.1:" + std::to_string(ldaps_port_); }
  int ldap_port() const { return ldap_port_; }
  int ldaps_port() const { return ldaps_port_; }

 private:
  std::string dir_;
  SlapdOptions options_;
  egress::testing::ChildProcess process_;
  int ldap_port_ = 0;
  int ldaps_port_ = 0;
};

}  // namespace sg::testing
