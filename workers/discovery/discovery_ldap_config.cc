#include "workers/discovery/discovery_ldap_config.h"

#include <unistd.h>

#include "common/ascii.h"
#include "common/ldap/ldap_filter.h"
#include "common/mail/address.h"

namespace sg::workers {
namespace {

Status ParseDomains(const config::ConfigNode& node, LdapDirectoryConfig& c) {
  SG_ASSIGN_OR_RETURN(auto domains, node.StringList("domains"));
  if (domains.empty()) {
    return node.ErrorAt("domains",
                        "missing: list the recipient domains this directory answers for, e.g. "
                        "[partner.example, \"*.partner.example\"]");
  }
  for (const auto& d : domains) {
    const bool wildcard = d.rfind("*.", 0) == 0;
    auto domain = mail::NormalizeDomain(wildcard ? d.substr(2) : d);
    if (!domain.ok()) {
      return node.ErrorAt(
          "domains", "\"" + d + "\" is not a domain or *.domain (" + domain.error().message + ")");
    }
    c.domains.push_back(wildcard ? "*." + *domain : *domain);
  }
  return OkStatus();
}

Status ParseTransport(const config::ConfigNode& node, LdapDirectoryConfig& c) {
  SG_ASSIGN_OR_RETURN(c.connect.url, node.String("url"));
  if (!ldap::IsLdapUrl(c.connect.url)) {
    return node.ErrorAt("url", "must be ldap://host[:port] (with StartTLS) or ldaps://host[:port]");
  }
  SG_ASSIGN_OR_RETURN(bool plaintext, node.Bool("insecure_plaintext", false));
  if (plaintext && ldap::IsLdapsUrl(c.connect.url)) {
    return node.ErrorAt("insecure_plaintext", "contradicts the ldaps:// url; fix: remove it");
  }
  c.connect.starttls = !plaintext;
  SG_ASSIGN_OR_RETURN(c.connect.ca_file, node.String("ca_file", ""));
  if (!c.connect.ca_file.empty() && access(c.connect.ca_file.c_str(), R_OK) != 0) {
    return node.ErrorAt("ca_file", "cannot read " + c.connect.ca_file);
  }
  SG_ASSIGN_OR_RETURN(c.connect.bind_dn, node.String("bind_dn", ""));
  SG_ASSIGN_OR_RETURN(c.bind_password_file, node.String("bind_password_file", ""));
  SG_ASSIGN_OR_RETURN(c.bind_password_env, node.String("bind_password_env", ""));
  if (!c.connect.bind_dn.empty() && c.bind_password_file.empty() == c.bind_password_env.empty()) {
    return node.ErrorAt("bind_password_file",
                        "with bind_dn give exactly one of bind_password_file and "
                        "bind_password_env");
  }
  if (!c.bind_password_file.empty() && access(c.bind_password_file.c_str(), R_OK) != 0) {
    return node.ErrorAt("bind_password_file", "cannot read " + c.bind_password_file);
  }
  SG_ASSIGN_OR_RETURN(c.connect.timeout, node.Duration("timeout", c.connect.timeout));
  if (c.connect.timeout < std::chrono::milliseconds(100)) {
    return node.ErrorAt("timeout", "must be at least 100ms");
  }
  return OkStatus();
}

}  // namespace

Result<LdapDirectoryConfig> ParseLdapDirectory(const config::ConfigNode& node) {
  LdapDirectoryConfig c;
  c.where = node.path();
  SG_RETURN_IF_ERROR(ParseDomains(node, c));
  SG_RETURN_IF_ERROR(ParseTransport(node, c));
  SG_ASSIGN_OR_RETURN(c.base_dn, node.String("base_dn"));
  if (c.base_dn.empty()) return node.ErrorAt("base_dn", "must not be empty");
  SG_ASSIGN_OR_RETURN(c.filter, node.String("filter", c.filter));
  if (const std::string problem = ldap::FilterTemplateProblem(c.filter); !problem.empty()) {
    return node.ErrorAt("filter", problem);
  }
  SG_ASSIGN_OR_RETURN(c.attribute, node.String("attribute", c.attribute));
  const std::string lower = AsciiLower(c.attribute);
  if (c.attribute.empty() || c.attribute.find_first_of(" ,()*") != std::string::npos) {
    return node.ErrorAt("attribute",
                        "must be one attribute description, e.g. userCertificate;binary");
  }
  c.pkcs7 = lower.rfind("usersmimecertificate", 0) == 0;
  SG_ASSIGN_OR_RETURN(int64_t size_limit, node.Int("size_limit", c.size_limit, 1, 1000));
  c.size_limit = static_cast<int>(size_limit);
  SG_ASSIGN_OR_RETURN(uint64_t max_value, node.Size("max_value_size", c.max_value_size));
  constexpr uint64_t kKiB = 1024;
  if (max_value < kKiB || max_value > kKiB * kKiB) {
    return node.ErrorAt("max_value_size", "must be from 1KiB to 1MiB");
  }
  c.max_value_size = static_cast<size_t>(max_value);
  SG_ASSIGN_OR_RETURN(int64_t max_idle,
                      node.Int("max_idle", static_cast<int64_t>(c.max_idle), 0, 64));
  c.max_idle = static_cast<size_t>(max_idle);
  return c;
}

bool DomainCovered(const std::vector<std::string>& patterns, const std::string& domain) {
  for (const auto& p : patterns) {
    if (p.rfind("*.", 0) == 0) {
      const std::string_view suffix = std::string_view(p).substr(1);  // ".x"
      if (domain.size() > suffix.size() &&
          std::string_view(domain).substr(domain.size() - suffix.size()) == suffix) {
        return true;
      }
    } else if (p == domain) {
      return true;
    }
  }
  return false;
}

}  // namespace sg::workers
