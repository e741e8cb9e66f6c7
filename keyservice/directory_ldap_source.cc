#include "keyservice/directory_ldap_source.h"

#include <ldap.h>
#include <openssl/crypto.h>

#include <array>
#include <map>
#include <memory>
#include <set>

#include "common/ascii.h"
#include "common/ldap/ldap_client.h"

namespace sg::keyservice {
namespace {

using ldap::Attributes;
using ldap::MessagePtr;
using ldap::Values;

Error Fail(const LdapSourceConfig& c, const std::string& what, int rc) {
  return ldap::LdapError(c.url, what, rc);
}

Result<std::unique_ptr<ldap::Connection>> Connect(const LdapSourceConfig& c) {
  ldap::ConnectOptions o;
  o.url = c.url;
  o.starttls = c.starttls;
  o.ca_file = c.ca_file;
  o.bind_dn = c.bind_dn;
  o.timeout = c.timeout;
  std::string password;
  if (!c.bind_dn.empty()) {
    SG_ASSIGN_OR_RETURN(password,
                        ldap::ReadBindPassword(c.url, c.bind_password_file, c.bind_password_env));
  }
  auto conn = ldap::Connection::Open(o, password);
  OPENSSL_cleanse(password.data(), password.size());
  return conn;
}

std::string DnOf(LDAP* ld, LDAPMessage* entry) { return AsciiLower(ldap::DnOf(ld, entry)); }

// The DNs (lower-case) the group entry lists in `member`.
Result<std::set<std::string>> GroupMembers(LDAP* ld, const LdapSourceConfig& c) {
  const std::string member = "member";
  ldap::SearchRequest request;
  request.base = c.group_dn;
  request.scope = LDAP_SCOPE_BASE;
  request.attributes = {member};
  request.size_limit = 1;
  request.timeout = c.timeout;
  MessagePtr res;
  const int rc = ldap::Search(ld, request, &res);
  LDAPMessage* raw = res.get();
  if (rc != LDAP_SUCCESS) return Fail(c, "reading the group " + c.group_dn, rc);
  std::set<std::string> dns;
  LDAPMessage* e = ldap_first_entry(ld, raw);
  if (e != nullptr) {
    for (auto& dn : Values(ldap::AttributesOf(ld, e), member)) dns.insert(AsciiLower(dn));
  }
  return dns;
}

DirectoryUser UserOf(LDAP* ld, LDAPMessage* e, const LdapSourceConfig& c,
                     const std::set<std::string>* members) {
  DirectoryUser u;
  const Attributes attrs = ldap::AttributesOf(ld, e);
  auto mails = Values(attrs, c.mail_attribute);
  for (const auto& p : Values(attrs, c.alias_attribute)) {
    if (p.rfind("SMTP:", 0) == 0) u.address = p.substr(5);
    if (p.rfind("smtp:", 0) == 0) u.aliases.push_back(p.substr(5));
  }
  for (const auto& m : mails) {
    if (u.address.empty()) {
      u.address = m;
    } else if (!AsciiEqualsIgnoreCase(m, u.address)) {
      u.aliases.push_back(m);
    }
  }
  for (const auto& v : Values(attrs, c.disabled_attribute)) {
    char* end = nullptr;
    long long flags = std::strtoll(v.c_str(), &end, 10);  // NOLINT(google-runtime-int)
    if (end != v.c_str() && (flags & 0x2) != 0) u.enabled = false;
  }
  if (!c.group_dn.empty()) {
    const std::string group = AsciiLower(c.group_dn);
    if (c.group_member_list) {
      u.participating = members != nullptr && members->count(DnOf(ld, e)) != 0;
    } else {
      u.participating = false;
      for (const auto& g : Values(attrs, c.member_of_attribute)) {
        u.participating = u.participating || AsciiLower(g) == group;
      }
    }
  }
  return u;
}

}  // namespace

LdapFetchStats LdapDirectorySource::last_stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<DirectoryView> LdapDirectorySource::Fetch() {
  std::lock_guard lock(mu_);
  stats_ = LdapFetchStats{};
  const auto& c = config_;
  SG_ASSIGN_OR_RETURN(auto conn, Connect(c));
  LDAP* ld = conn->get();
  std::set<std::string> members;
  if (!c.group_dn.empty() && c.group_member_list) {
    SG_ASSIGN_OR_RETURN(members, GroupMembers(ld, c));
  }
  std::vector<std::string> names = {c.mail_attribute, c.alias_attribute, c.disabled_attribute};
  if (!c.group_dn.empty() && !c.group_member_list) names.push_back(c.member_of_attribute);
  ldap::SearchRequest request;
  request.base = c.base_dn;
  request.filter = c.filter;
  request.timeout = c.timeout;
  for (auto& n : names) {
    if (!n.empty()) request.attributes.push_back(n);
  }
  DirectoryView view;
  berval cookie{0, nullptr};
  for (;;) {
    LDAPControl* page = nullptr;
    int rc = ldap_create_page_control(ld, c.page_size, &cookie, 1, &page);
    ber_memfree(cookie.bv_val);
    cookie = {0, nullptr};
    if (rc != LDAP_SUCCESS) return Fail(c, "paged results control", rc);
    std::array<LDAPControl*, 2> controls{page, nullptr};
    request.controls = controls.data();
    MessagePtr res;
    rc = ldap::Search(ld, request, &res);
    LDAPMessage* raw = res.get();
    ldap_control_free(page);
    request.controls = nullptr;
    if (rc != LDAP_SUCCESS) return Fail(c, "search under " + c.base_dn, rc);
    ++stats_.pages;
    for (LDAPMessage* e = ldap_first_entry(ld, raw); e != nullptr; e = ldap_next_entry(ld, e)) {
      ++stats_.entries;
      DirectoryUser u = UserOf(ld, e, c, &members);
      if (!u.address.empty()) view.users.push_back(std::move(u));
    }
    if (view.users.size() > c.max_users) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "ldap " + c.url + ": more than max_users (" + std::to_string(c.max_users) + ")");
    }
    LDAPControl** result_controls = nullptr;
    int err = 0;
    rc = ldap_parse_result(ld, raw, &err, nullptr, nullptr, nullptr, &result_controls, 0);
    if (rc != LDAP_SUCCESS) return Fail(c, "search result", rc);
    LDAPControl* pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, result_controls, nullptr);
    ber_int_t estimate = 0;
    if (pr != nullptr) rc = ldap_parse_pageresponse_control(ld, pr, &estimate, &cookie);
    ldap_controls_free(result_controls);
    if (pr == nullptr || rc != LDAP_SUCCESS || cookie.bv_len == 0) break;
  }
  ber_memfree(cookie.bv_val);
  return view;
}

}  // namespace sg::keyservice
