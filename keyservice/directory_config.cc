#include "keyservice/directory_config.h"

#include <cctype>
#include <map>

#include "common/mail/address.h"
#include "keyservice/directory_state.h"
#include "keyservice/tenant_registry.h"

namespace sg::keyservice {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty() || path[0] == '/') return path;
  return data_dir + "/" + path;
}

bool HttpsUrl(const std::string& url) {
  return url.rfind("https://", 0) == 0 && url.size() > 8;
}

// An object id in a URL path: letters, digits and '-'.
bool SafeId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
}

Result<GraphSourceConfig> ParseGraph(const config::ConfigNode& node, const std::string& name,
                                     const DirectoryConfig& defaults, const std::string& data_dir) {
  GraphSourceConfig g;
  SG_ASSIGN_OR_RETURN(auto tenant, node.String("azure_tenant", ""));
  if (!tenant.empty() && !SafeId(tenant) && tenant.find('.') == std::string::npos) {
    return node.ErrorAt("azure_tenant", "not a tenant id or domain");
  }
  std::string token_default;
  if (!tenant.empty()) {
    token_default = "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token";
  }
  SG_ASSIGN_OR_RETURN(g.token_url, node.String("token_url", token_default));
  if (g.token_url.empty()) return node.ErrorAt("token_url", "required (or azure_tenant)");
  if (!HttpsUrl(g.token_url)) return node.ErrorAt("token_url", "must be an https:// URL");
  SG_ASSIGN_OR_RETURN(g.graph_url, node.String("graph_url", g.graph_url));
  while (!g.graph_url.empty() && g.graph_url.back() == '/') g.graph_url.pop_back();
  if (!HttpsUrl(g.graph_url) || g.graph_url.find('/', 8) != std::string::npos) {
    return node.ErrorAt("graph_url", "must be https://host[:port] (no path)");
  }
  SG_ASSIGN_OR_RETURN(g.client_id, node.String("client_id"));
  SG_ASSIGN_OR_RETURN(auto secret_file, node.String("client_secret_file", ""));
  g.client_secret_file = Resolve(secret_file, data_dir);
  SG_ASSIGN_OR_RETURN(g.client_secret_env, node.String("client_secret_env", ""));
  if (g.client_secret_file.empty() == g.client_secret_env.empty()) {
    return node.ErrorAt("client_secret_file",
                        "give exactly one of client_secret_file and client_secret_env");
  }
  SG_ASSIGN_OR_RETURN(g.group, node.String("group", ""));
  if (!g.group.empty() && !SafeId(g.group)) return node.ErrorAt("group", "not a group object id");
  SG_ASSIGN_OR_RETURN(auto ca_file, node.String("ca_file", ""));
  g.ca_file = Resolve(ca_file, data_dir);
  SG_ASSIGN_OR_RETURN(g.delta, node.Bool("delta", true));
  SG_ASSIGN_OR_RETURN(g.max_answer_bytes, node.Size("max_answer_bytes", g.max_answer_bytes));
  SG_ASSIGN_OR_RETURN(auto max_users, node.Int("max_users", g.max_users, 1, 100000000));
  g.max_users = static_cast<uint32_t>(max_users);
  SG_ASSIGN_OR_RETURN(g.timeout, node.Duration("timeout", g.timeout));
  SG_ASSIGN_OR_RETURN(g.max_retry_wait, node.Duration("max_retry_wait", g.max_retry_wait));
  SG_ASSIGN_OR_RETURN(auto retries, node.Int("max_retries", g.max_retries, 0, 20));
  g.max_retries = static_cast<int>(retries);
  g.cache_file = defaults.state_dir + "/" + name + ".graph";
  return g;
}

Result<LdapSourceConfig> ParseLdap(const config::ConfigNode& node, const std::string& data_dir) {
  LdapSourceConfig l;
  SG_ASSIGN_OR_RETURN(l.url, node.String("url"));
  if (l.url.rfind("ldap://", 0) != 0 && l.url.rfind("ldaps://", 0) != 0) {
    return node.ErrorAt("url", "must be ldap://host[:port] or ldaps://host[:port]");
  }
  SG_ASSIGN_OR_RETURN(l.starttls, node.Bool("starttls", true));
  SG_ASSIGN_OR_RETURN(auto ca_file, node.String("ca_file", ""));
  l.ca_file = Resolve(ca_file, data_dir);
  SG_ASSIGN_OR_RETURN(l.bind_dn, node.String("bind_dn", ""));
  SG_ASSIGN_OR_RETURN(auto password_file, node.String("bind_password_file", ""));
  l.bind_password_file = Resolve(password_file, data_dir);
  SG_ASSIGN_OR_RETURN(l.bind_password_env, node.String("bind_password_env", ""));
  if (!l.bind_dn.empty() && l.bind_password_file.empty() == l.bind_password_env.empty()) {
    return node.ErrorAt("bind_password_file",
                        "with bind_dn give exactly one of bind_password_file and bind_password_env");
  }
  SG_ASSIGN_OR_RETURN(l.base_dn, node.String("base_dn"));
  SG_ASSIGN_OR_RETURN(l.filter, node.String("filter", l.filter));
  if (l.filter.empty() || l.filter.front() != '(' || l.filter.back() != ')') {
    return node.ErrorAt("filter", "must be an LDAP filter in parentheses");
  }
  SG_ASSIGN_OR_RETURN(l.mail_attribute, node.String("mail_attribute", l.mail_attribute));
  SG_ASSIGN_OR_RETURN(l.alias_attribute, node.String("alias_attribute", l.alias_attribute));
  SG_ASSIGN_OR_RETURN(l.disabled_attribute,
                      node.String("disabled_attribute", l.disabled_attribute));
  SG_ASSIGN_OR_RETURN(l.group_dn, node.String("group_dn", ""));
  SG_ASSIGN_OR_RETURN(l.member_of_attribute,
                      node.String("member_of_attribute", l.member_of_attribute));
  SG_ASSIGN_OR_RETURN(auto membership, node.Enum("group_membership", {"member_of", "member"},
                                                 std::string("member_of")));
  l.group_member_list = membership == "member";
  SG_ASSIGN_OR_RETURN(auto page, node.Int("page_size", l.page_size, 1, 100000));
  l.page_size = static_cast<int>(page);
  SG_ASSIGN_OR_RETURN(auto max_users, node.Int("max_users", l.max_users, 1, 100000000));
  l.max_users = static_cast<uint32_t>(max_users);
  SG_ASSIGN_OR_RETURN(l.timeout, node.Duration("timeout", l.timeout));
  return l;
}

Result<DirectorySourceConfig> ParseSource(const config::ConfigNode& sources,
                                          const std::string& name, const DirectoryConfig& defaults,
                                          const std::string& data_dir) {
  if (auto st = ValidateSourceName(name); !st.ok()) return sources.ErrorAt(name, st.error().message);
  SG_ASSIGN_OR_RETURN(config::ConfigNode node, sources.Map(name));
  DirectorySourceConfig s;
  s.name = name;
  SG_ASSIGN_OR_RETURN(s.type, node.Enum("type", {"csv", "graph", "ldap"}, std::nullopt));
  SG_ASSIGN_OR_RETURN(auto domains, node.StringList("domains"));
  if (domains.empty()) return node.ErrorAt("domains", "a source must name the domains it feeds");
  for (const auto& d : domains) {
    auto normalised = mail::NormalizeDomain(d);
    if (!normalised.ok()) return node.ErrorAt("domains", normalised.error().message);
    s.domains.insert(*normalised);
  }
  SG_ASSIGN_OR_RETURN(auto tenant, node.String("tenant", ""));
  if (!tenant.empty()) {
    auto id = NormalizeTenantId(tenant, "tenant");
    if (!id.ok()) return node.ErrorAt("tenant", id.error().message);
    s.tenant = *id;
  }
  SG_ASSIGN_OR_RETURN(s.interval, node.Duration("interval", std::chrono::milliseconds(0)));
  SG_ASSIGN_OR_RETURN(s.grace_period, node.Duration("grace_period", defaults.grace_period));
  SG_ASSIGN_OR_RETURN(auto percent,
                      node.Int("max_disable_percent", defaults.max_disable_percent, 0, 100));
  s.max_disable_percent = static_cast<int>(percent);
  if (s.type == "csv") {
    SG_ASSIGN_OR_RETURN(auto file, node.String("file"));
    s.file = Resolve(file, data_dir);
  }
  if (s.type == "graph") {
    SG_ASSIGN_OR_RETURN(s.graph, ParseGraph(node, name, defaults, data_dir));
  }
  if (s.type == "ldap") {
    SG_ASSIGN_OR_RETURN(s.ldap, ParseLdap(node, data_dir));
  }
  return s;
}

}  // namespace

Result<DirectoryConfig> ParseDirectoryConfig(const config::ConfigNode& section,
                                             const std::string& data_dir) {
  DirectoryConfig c;
  SG_ASSIGN_OR_RETURN(auto state_dir, section.String("state_dir", "directory"));
  c.state_dir = Resolve(state_dir, data_dir);
  SG_ASSIGN_OR_RETURN(c.grace_period, section.Duration("grace_period", c.grace_period));
  SG_ASSIGN_OR_RETURN(auto percent,
                      section.Int("max_disable_percent", c.max_disable_percent, 0, 100));
  c.max_disable_percent = static_cast<int>(percent);
  SG_ASSIGN_OR_RETURN(config::ConfigNode sources, section.Map("sources"));
  std::map<std::string, std::string> feeder;  // domain -> source
  for (const auto& name : sources.Keys()) {
    SG_ASSIGN_OR_RETURN(auto s, ParseSource(sources, name, c, data_dir));
    for (const auto& d : s.domains) {
      auto [it, fresh] = feeder.emplace(d, name);
      if (!fresh) {
        return sources.ErrorAt(name, d + " is already fed by source " + it->second +
                                         " (a domain has one directory source)");
      }
    }
    c.sources.push_back(std::move(s));
  }
  return c;
}

}  // namespace sg::keyservice
