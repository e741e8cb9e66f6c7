#include "keyservice/directory_ldap_source.h"

#include <ldap.h>
#include <openssl/crypto.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "common/ascii.h"

namespace sg::keyservice {
namespace {

struct LdapUnbind {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapUnbind>;
struct MsgFree {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using MsgPtr = std::unique_ptr<LDAPMessage, MsgFree>;

timeval TimevalOf(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

Error Fail(const LdapSourceConfig& c, const std::string& what, int rc) {
  return MakeError(ErrorCode::kUnavailable, "ldap " + c.url + ": " + what + ": " + ldap_err2string(rc));
}

Result<std::string> ReadPassword(const LdapSourceConfig& c) {
  std::string p;
  if (!c.bind_password_file.empty()) {
    std::ifstream in(c.bind_password_file, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kUnavailable, "bind_password_file: cannot read " + c.bind_password_file);
    std::getline(in, p);
    while (!p.empty() && p.back() == '\r') p.pop_back();
  } else if (const char* v = std::getenv(c.bind_password_env.c_str())) {  // NOLINT(concurrency-mt-unsafe)
    p = v;
  }
  if (p.empty()) return MakeError(ErrorCode::kUnavailable, "ldap " + c.url + ": no bind password");
  return p;
}

Result<LdapPtr> Connect(const LdapSourceConfig& c) {
  LDAP* raw = nullptr;
  int rc = ldap_initialize(&raw, c.url.c_str());
  if (rc != LDAP_SUCCESS) return Fail(c, "initialise", rc);
  LdapPtr ld(raw);
  const int v3 = LDAP_VERSION3;
  const timeval tv = TimevalOf(c.timeout);
  const int demand = LDAP_OPT_X_TLS_DEMAND;
  const int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  const int new_ctx = 0;
  ldap_set_option(raw, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(raw, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(raw, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(raw, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(raw, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
  ldap_set_option(raw, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12);
  if (!c.ca_file.empty()) ldap_set_option(raw, LDAP_OPT_X_TLS_CACERTFILE, c.ca_file.c_str());
  rc = ldap_set_option(raw, LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
  if (rc != LDAP_OPT_SUCCESS) return Fail(c, "TLS settings", rc);
  if (c.url.rfind("ldap://", 0) == 0 && c.starttls) {
    rc = ldap_start_tls_s(raw, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return Fail(c, "StartTLS", rc);
  }
  if (!c.bind_dn.empty()) {
    SG_ASSIGN_OR_RETURN(std::string password, ReadPassword(c));
    berval cred{};
    cred.bv_val = password.data();
    cred.bv_len = password.size();
    rc = ldap_sasl_bind_s(raw, c.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    OPENSSL_cleanse(password.data(), password.size());
    if (rc != LDAP_SUCCESS) return Fail(c, "bind as " + c.bind_dn, rc);  // never the password
  }
  return ld;
}

using Attributes = std::map<std::string, std::vector<std::string>>;  // lower-case names

// Every attribute of an entry with all its values. A server may return one
// attribute in several pieces (slapd does after an import):
// ldap_get_values_len would see only the first, so the entry is walked.
Attributes AttributesOf(LDAP* ld, LDAPMessage* entry) {
  Attributes out;
  BerElement* ber = nullptr;
  berval dn{};
  if (ldap_get_dn_ber(ld, entry, &ber, &dn) != LDAP_SUCCESS) {
    if (ber != nullptr) ber_free(ber, 0);
    return out;
  }
  berval name{};
  BerVarray vals = nullptr;
  while (ldap_get_attribute_ber(ld, entry, ber, &name, &vals) == LDAP_SUCCESS &&
         name.bv_val != nullptr) {
    auto& list = out[AsciiLower(std::string_view(name.bv_val, name.bv_len))];
    for (BerVarray v = vals; v != nullptr && v->bv_val != nullptr; ++v) {
      list.emplace_back(v->bv_val, v->bv_len);
    }
    if (vals != nullptr) ber_memfree(vals);
    vals = nullptr;
  }
  ber_free(ber, 0);
  return out;
}

std::vector<std::string> Values(const Attributes& attrs, const std::string& name) {
  auto it = attrs.find(AsciiLower(name));
  return it == attrs.end() ? std::vector<std::string>{} : it->second;
}

std::string DnOf(LDAP* ld, LDAPMessage* entry) {
  char* dn = ldap_get_dn(ld, entry);
  std::string out = dn != nullptr ? dn : "";
  if (dn != nullptr) ldap_memfree(dn);
  return AsciiLower(out);
}

// The DNs (lower-case) the group entry lists in `member`.
Result<std::set<std::string>> GroupMembers(LDAP* ld, const LdapSourceConfig& c) {
  std::string member = "member";
  std::array<char*, 2> attrs{member.data(), nullptr};
  timeval tv = TimevalOf(c.timeout);
  LDAPMessage* raw = nullptr;
  int rc = ldap_search_ext_s(ld, c.group_dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)",
                             attrs.data(), 0, nullptr, nullptr, &tv, 1, &raw);
  MsgPtr res(raw);
  if (rc != LDAP_SUCCESS) return Fail(c, "reading the group " + c.group_dn, rc);
  std::set<std::string> dns;
  LDAPMessage* e = ldap_first_entry(ld, raw);
  if (e != nullptr) {
    for (auto& dn : Values(AttributesOf(ld, e), member)) dns.insert(AsciiLower(dn));
  }
  return dns;
}

DirectoryUser UserOf(LDAP* ld, LDAPMessage* e, const LdapSourceConfig& c,
                     const std::set<std::string>* members) {
  DirectoryUser u;
  const Attributes attrs = AttributesOf(ld, e);
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
  SG_ASSIGN_OR_RETURN(LdapPtr ld, Connect(c));
  std::set<std::string> members;
  if (!c.group_dn.empty() && c.group_member_list) {
    SG_ASSIGN_OR_RETURN(members, GroupMembers(ld.get(), c));
  }
  std::vector<std::string> names = {c.mail_attribute, c.alias_attribute, c.disabled_attribute};
  if (!c.group_dn.empty() && !c.group_member_list) names.push_back(c.member_of_attribute);
  std::vector<char*> attrs;
  for (auto& n : names) {
    if (!n.empty()) attrs.push_back(n.data());
  }
  attrs.push_back(nullptr);
  DirectoryView view;
  berval cookie{0, nullptr};
  for (;;) {
    LDAPControl* page = nullptr;
    int rc = ldap_create_page_control(ld.get(), c.page_size, &cookie, 1, &page);
    ber_memfree(cookie.bv_val);
    cookie = {0, nullptr};
    if (rc != LDAP_SUCCESS) return Fail(c, "paged results control", rc);
    std::array<LDAPControl*, 2> controls{page, nullptr};
    timeval tv = TimevalOf(c.timeout);
    LDAPMessage* raw = nullptr;
    rc = ldap_search_ext_s(ld.get(), c.base_dn.c_str(), LDAP_SCOPE_SUBTREE, c.filter.c_str(),
                           attrs.data(), 0, controls.data(), nullptr, &tv, 0, &raw);
    ldap_control_free(page);
    MsgPtr res(raw);
    if (rc != LDAP_SUCCESS) return Fail(c, "search under " + c.base_dn, rc);
    ++stats_.pages;
    for (LDAPMessage* e = ldap_first_entry(ld.get(), raw); e != nullptr;
         e = ldap_next_entry(ld.get(), e)) {
      ++stats_.entries;
      DirectoryUser u = UserOf(ld.get(), e, c, &members);
      if (!u.address.empty()) view.users.push_back(std::move(u));
    }
    if (view.users.size() > c.max_users) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "ldap " + c.url + ": more than max_users (" + std::to_string(c.max_users) + ")");
    }
    LDAPControl** result_controls = nullptr;
    int err = 0;
    rc = ldap_parse_result(ld.get(), raw, &err, nullptr, nullptr, nullptr, &result_controls, 0);
    if (rc != LDAP_SUCCESS) return Fail(c, "search result", rc);
    LDAPControl* pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, result_controls, nullptr);
    ber_int_t estimate = 0;
    if (pr != nullptr) rc = ldap_parse_pageresponse_control(ld.get(), pr, &estimate, &cookie);
    ldap_controls_free(result_controls);
    if (pr == nullptr || rc != LDAP_SUCCESS || cookie.bv_len == 0) break;
  }
  ber_memfree(cookie.bv_val);
  return view;
}

}  // namespace sg::keyservice
