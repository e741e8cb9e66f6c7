#include "keyservice/directory_config.h"

#include <cctype>
#include <map>

#include "common/mail/address.h"
#include "keyservice/directory_state.h"

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

Result<DirectorySourceConfig> ParseSource(const config::ConfigNode& sources,
                                          const std::string& name, const DirectoryConfig& defaults,
                                          const std::string& data_dir) {
  if (auto st = ValidateSourceName(name); !st.ok()) return sources.ErrorAt(name, st.error().message);
  SG_ASSIGN_OR_RETURN(config::ConfigNode node, sources.Map(name));
  DirectorySourceConfig s;
  s.name = name;
  SG_ASSIGN_OR_RETURN(s.type, node.Enum("type", {"csv", "graph"}, std::nullopt));
  SG_ASSIGN_OR_RETURN(auto domains, node.StringList("domains"));
  if (domains.empty()) return node.ErrorAt("domains", "a source must name the domains it feeds");
  for (const auto& d : domains) {
    auto normalised = mail::NormalizeDomain(d);
    if (!normalised.ok()) return node.ErrorAt("domains", normalised.error().message);
    s.domains.insert(*normalised);
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
