// keyservice.directory: the directory sources whose users the keyservice
// follows (docs/directory.md, docs/configuration.md).
//
//   keyservice:
//     directory:
//       state_dir: directory          # relative to data_dir
//       grace_period: 30d             # disabled -> removed
//       max_disable_percent: 10       # mass-removal guard
//       sources:
//         hr-export:                  # the source name keys its state
//           type: csv
//           domains: [example.com]    # hosted domains this source feeds
//           file: /etc/smimegate/users.csv
//           interval: 1h              # 0 or absent: only `smimegatectl directory sync`
//           tenant: acme              # optional: the tenant owning every fed domain
//         m365:
//           type: graph                 # Microsoft Graph (directory_graph_source.h)
//           domains: [example.org]
//           token_url: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
//           client_id: 0000...
//           client_secret_file: /etc/smimegate/graph-secret   # or client_secret_env
//           group: <object id>          # optional: members participate
//
// Each source may override grace_period and max_disable_percent. A domain is
// fed by at most one source (two sources would disable each other's users).
// A source with a `tenant` feeds only domains that tenant owns in the
// registry (checked at start and before every run, DirectoryService) and
// never touches users of another tenant.
//
// Threading: pure functions.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/result.h"

namespace sg::keyservice {

// type: graph (docs/directory.md "Microsoft Graph").
struct GraphSourceConfig {
  std::string token_url;  // the OAuth 2.0 token endpoint (client credentials)
  std::string graph_url = "https://graph.microsoft.com";  // no trailing '/'
  std::string client_id;
  std::string client_secret_file;  // one of the two; read at every token request
  std::string client_secret_env;
  std::string group;    // object id; "" = every listed user participates
  std::string ca_file;  // roots for both endpoints; "" = the system's
  bool delta = true;    // incremental runs by /users/delta
  uint64_t max_answer_bytes = 16 << 20;  // one page
  uint32_t max_users = 1000000;
  std::chrono::milliseconds timeout{30000};         // one request
  std::chrono::milliseconds max_retry_wait{60000};  // longest Retry-After honoured
  int max_retries = 5;  // 429/503 per request
  std::string cache_file;  // <state_dir>/<name>.graph: snapshot + delta link
};

// type: ldap (docs/directory.md "LDAP / Active Directory").
struct LdapSourceConfig {
  std::string url;                 // ldap://host[:port] or ldaps://host[:port]
  bool starttls = true;            // ldap:// only
  std::string ca_file;             // "" = the system's roots
  std::string bind_dn;             // "" = anonymous
  std::string bind_password_file;  // one of the two with bind_dn
  std::string bind_password_env;
  std::string base_dn;
  std::string filter = "(mail=*)";
  std::string mail_attribute = "mail";
  std::string alias_attribute = "proxyAddresses";  // "SMTP:" primary, "smtp:" aliases
  std::string disabled_attribute = "userAccountControl";  // bit 0x2 = disabled; "" = none
  std::string group_dn;            // "" = every listed user participates
  std::string member_of_attribute = "memberOf";  // user attribute listing group DNs
  bool group_member_list = false;  // true: read the group's `member` values instead
  int page_size = 500;             // RFC 2696 paged results
  uint32_t max_users = 1000000;
  std::chrono::milliseconds timeout{30000};
};

struct DirectorySourceConfig {
  std::string name;
  std::string type;  // "csv" | "graph" | "ldap"
  std::set<std::string> domains;  // normalised, hosted
  std::chrono::milliseconds interval{0};  // 0: on demand only
  std::chrono::milliseconds grace_period{0};
  int max_disable_percent = 10;
  std::string file;  // csv: the users file (import_files.h format)
  GraphSourceConfig graph;  // type graph
  LdapSourceConfig ldap;    // type ldap
  std::string tenant{};     // tenant id (normalised); "": not bound to a tenant
};

struct DirectoryConfig {
  std::string state_dir;  // absolute
  std::chrono::milliseconds grace_period{std::chrono::hours(24 * 30)};
  int max_disable_percent = 10;
  std::vector<DirectorySourceConfig> sources;
};

// Errors name the key. That the domains are hosted is checked when the
// service starts (DirectoryService::Create; hosted domains may be added at
// run time).
Result<DirectoryConfig> ParseDirectoryConfig(const config::ConfigNode& section,
                                             const std::string& data_dir);

}  // namespace sg::keyservice
