// The LDAP / Active Directory directory source (`type: ldap`,
// docs/directory.md): the users under base_dn that match filter, as a
// DirectoryView, read with RFC 2696 paged results (page_size per page, so
// a server size limit below the directory's size does not cut the listing).
//
//   transport  ldap:// with StartTLS (unless starttls: false) or ldaps://;
//              the server certificate is verified (ca_file or the system's
//              roots), TLS 1.2 at least; simple bind as bind_dn with the
//              password from bind_password_file / bind_password_env (read
//              at each run, never logged), or anonymous.
//   mapping    address: the alias_attribute value "SMTP:..." (primary), else
//              the first mail_attribute value; aliases: alias_attribute
//              values "smtp:..." (and further mail values); disabled: the
//              integer disabled_attribute has bit 0x2 (AD
//              userAccountControl ACCOUNTDISABLE).
//   group      with group_dn, a user participates when its
//              member_of_attribute (AD: memberOf) lists group_dn, or, with
//              group_membership: member, when the group entry's `member`
//              values list the user's DN (DNs compared case-insensitively);
//              the others are listed as not participating.
//
// A run opens one connection, bounded by `timeout` per operation, and
// closes it. Errors: kUnavailable (connect, TLS, bind, search),
// kResourceExhausted (more than max_users), each naming the URL.
//
// Threading: Fetch is serialised by the source itself.
#pragma once

#include <mutex>

#include "keyservice/directory_config.h"
#include "keyservice/directory_source.h"

namespace sg::keyservice {

struct LdapFetchStats {
  int pages = 0;    // search result pages (paged results)
  int entries = 0;  // entries received
};

class LdapDirectorySource final : public DirectorySource {
 public:
  explicit LdapDirectorySource(LdapSourceConfig config) : config_(std::move(config)) {}
  Result<DirectoryView> Fetch() override;
  LdapFetchStats last_stats() const;

 private:
  LdapSourceConfig config_;
  mutable std::mutex mu_;
  LdapFetchStats stats_;
};

}  // namespace sg::keyservice
