// Recipient verification from an LDAP directory (ingress_recipient_verifier.h;
// issue 13 point 4): a recipient is known when a search under `base_dn`
// with `filter` finds at least one entry, unknown when it finds none, and
// unavailable when the directory cannot answer (connection, TLS, bind,
// timeout, or a search error) - the session then answers 451 4.4.3.
//
// The address goes into the filter through OpenLDAP's RFC 4515 escaping
// (ldap_bv2escaped_filter_value): every `%s` in the template is replaced by
// the escaped address, so "*)(mail=*" is searched for literally and can
// never widen the filter. Only the entry's DN is asked for ("1.1").
//
// Transport: ldap:// with StartTLS (required unless `starttls: false`,
// which is only for a directory on the same host) or ldaps://; the server
// certificate is always verified, against `tls_ca_file` or the system
// store. Simple bind with `bind_dn` and the password read from
// `bind_password_file` (trailing newline dropped; re-read on SIGHUP by
// Reload; never logged); no bind_dn = anonymous.
//
// Bounds: `timeout` bounds the connection, the TLS handshake, the bind and
// the search each (LDAP_OPT_NETWORK_TIMEOUT, LDAP_OPT_TIMEOUT and the
// search's own time limit), so a hung directory holds one recipient-pool
// thread for at most a few timeouts, never the event loop. Connections are
// kept for reuse (at most `max_idle`); one that fails is dropped and the
// next lookup connects afresh.
//
// Threading: Lookup is blocking and thread-safe (one connection per
// concurrent lookup); it runs on the recipient pool, never on an event loop.
// It blocks SIGPIPE on the calling thread (libldap writes with write()).
// Answers are cacheable (the verifier's positive/negative cache with TTL).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/ldap/ldap_client.h"
#include "common/result.h"
#include "ingress/ingress_recipient_verifier.h"

namespace sg::ingress {

struct LdapConfig {
  std::string url;                // ldap://host:port or ldaps://host:port
  bool starttls = true;           // for ldap:// (ldaps:// is TLS from the start)
  std::string tls_ca_file;        // empty: the system's trusted CAs
  std::string bind_dn;            // empty: anonymous
  std::string bind_password_file; // required with bind_dn
  std::string base_dn;
  std::string filter = "(mail=%s)";  // %s: the RFC 4515-escaped address
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  size_t max_idle = 4;            // connections kept for reuse
};

// The filter for `address`: `filter_template` with every "%s" replaced by
// the RFC 4515-escaped address. Exposed for the tests.
Result<std::string> LdapFilterFor(const std::string& filter_template, const std::string& address);

// Checks a configuration before use: URL scheme, filter template (exactly
// balanced parentheses and at least one %s), base DN, bind password file.
// `where` names the config key in errors.
Status ValidateLdapConfig(const LdapConfig& c, const std::string& where);

class LdapSource : public RecipientSource {
 public:
  // Validates `config` and reads the bind password; `where` names the
  // config key in errors. Does not connect (the directory may be down now).
  static Result<std::shared_ptr<LdapSource>> Open(LdapConfig config, std::string where);
  ~LdapSource() override;

  std::string Name() const override { return "ldap"; }
  RecipientStatus Lookup(const std::string& address) override;
  bool Cacheable() const override { return true; }
  // Re-reads the bind password file (a rotated password); idle connections
  // are dropped so the next lookup binds with it.
  Status Reload() override;

 private:
  LdapSource(LdapConfig config, std::string where);
  Result<std::unique_ptr<ldap::Connection>> Connect();
  RecipientStatus Search(ldap::Connection& conn, const std::string& filter, bool& broken);

  const LdapConfig config_;
  const std::string where_;
  std::mutex mu_;
  std::string password_;  // guarded by mu_
  ldap::ConnectionPool pool_;  // kept connections; Reload starts a new generation
};

}  // namespace sg::ingress
