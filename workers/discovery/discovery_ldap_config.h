// Configuration of one partner LDAP directory for certificate discovery:
// an entry of the list `workers.discovery.ldap` (docs/discovery.md
// "Partner LDAP directories", docs/configuration.md).
//
//   domains            the recipient domains it answers for: "partner.example"
//                      (exactly) or "*.partner.example" (any name below it)
//   url                ldap://host[:port] (StartTLS required) or ldaps://
//   insecure_plaintext false; true allows ldap:// without StartTLS (the
//                      certificates are still checked by the harvest check,
//                      but the search and the bind password travel in clear)
//   ca_file            "" = the system's trusted CAs, for the server's TLS
//   bind_dn            "" = anonymous; then exactly one of
//   bind_password_file / bind_password_env (read at each connect, never logged)
//   base_dn            where to search (subtree)
//   filter             "(mail=%s)": %s is the RFC 4515-escaped address
//   attribute          "userCertificate;binary" (DER certificates), or
//                      "userSMIMECertificate" (PKCS#7 certs-only)
//   timeout 5s, size_limit 10 entries, max_value_size 64KiB, max_idle 2
//
// Threading: plain values. Errors name the key and the fix.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/ldap/ldap_client.h"
#include "common/result.h"

namespace sg::workers {

struct LdapDirectoryConfig {
  std::vector<std::string> domains;  // lower case; "*.x" for the names below x
  ldap::ConnectOptions connect;      // url, starttls, ca_file, bind_dn, timeout
  std::string bind_password_file;
  std::string bind_password_env;
  std::string base_dn;
  std::string filter = "(mail=%s)";
  std::string attribute = "userCertificate;binary";
  bool pkcs7 = false;  // attribute holds PKCS#7 certs-only (userSMIMECertificate)
  int size_limit = 10;
  size_t max_value_size = 64 * 1024;
  size_t max_idle = 2;
  std::string where;  // the config path, for log lines
};

// One entry of workers.discovery.ldap.
Result<LdapDirectoryConfig> ParseLdapDirectory(const config::ConfigNode& node);

// True when `domain` (normalised) is one of `patterns` (exact or "*.x").
bool DomainCovered(const std::vector<std::string>& patterns, const std::string& domain);

}  // namespace sg::workers
