// Partner LDAP directory discovery (docs/discovery.md "Partner LDAP
// directories"): one source per configured directory
// (workers.discovery.ldap[], discovery_ldap_config.h), asked only for
// recipients of the domains it answers for.
//
// A lookup searches base_dn (subtree) with the filter template, the
// recipient's address put in through RFC 4515 escaping (so `*`, `(`, `)`,
// `\` and NUL can never change the filter), for the one certificate
// attribute; at most size_limit entries, values over max_value_size are
// skipped. Every DER certificate (userCertificate;binary) or every
// certificate of a PKCS#7 certs-only value (userSMIMECertificate) is a
// candidate; whether one is used is the harvest check's decision
// (CertificateDiscovery), exactly as for SMIMEA.
//
// Results: found, not_found (no entry), no_certificate (entries without a
// usable value), timeout (the search or connect timed out), error
// (connect, TLS, bind, no such base DN, ...). The detail names the URL,
// never the bind password.
//
// Connections are kept for reuse (max_idle); a kept one the server closed
// is replaced once by a fresh one. Every connect, TLS handshake and bind
// is bounded (common/ldap/ldap_client.h).
//
// Threading: Find runs on the discovery pool, several at once (one
// connection per concurrent lookup); it blocks SIGPIPE on its thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/ldap/ldap_client.h"
#include "workers/discovery/discovery_ldap_config.h"
#include "workers/discovery/discovery_source.h"

namespace sg::workers {

// The certificates (DER) in one attribute value: the value itself
// (`pkcs7` false), or those of a PKCS#7 certs-only structure. None when it
// cannot be parsed. Exposed for the tests.
std::vector<std::string> CertificatesInValue(const std::string& value, bool pkcs7);

class LdapDirectorySource final : public CertificateSource {
 public:
  explicit LdapDirectorySource(LdapDirectoryConfig config);
  std::string_view Name() const override { return "ldap"; }
  bool Covers(const std::string& address) const override;
  SourceAnswer Find(const std::string& address) override;

 private:
  // One search on `conn`; `broken` when the connection is no longer usable.
  SourceAnswer Search(ldap::Connection& conn, const std::string& filter, bool& broken);
  Result<std::unique_ptr<ldap::Connection>> Connect();

  const LdapDirectoryConfig config_;
  ldap::ConnectionPool pool_;
};

}  // namespace sg::workers
