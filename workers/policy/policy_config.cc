#include "workers/policy/policy_config.h"

#include <algorithm>

namespace sg::workers {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool PlausibleMatch(const std::string& m) {
  if (m.empty() || m.size() > 320) return false;
  for (unsigned char c : m) {
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == ';') return false;
  }
  auto at = m.find('@');
  if (at == std::string::npos) return m.find('.') != std::string::npos || m == "localhost";
  return at > 0 && at + 1 < m.size() && m.find('@', at + 1) == std::string::npos;
}

}  // namespace

const AdminRule* FindAdminRule(const PolicyConfig& config, const std::string& address) {
  const std::string addr = Lower(address);
  for (const auto& r : config.rules) {
    if (r.match == addr) return &r;
  }
  auto at = addr.rfind('@');
  if (at == std::string::npos) return nullptr;
  const std::string domain = addr.substr(at + 1);
  for (const auto& r : config.rules) {
    if (r.match.find('@') == std::string::npos && r.match == domain) return &r;
  }
  return nullptr;
}

Result<PolicyConfig> ParsePolicyConfig(const config::ConfigNode& section,
                                       const std::vector<std::string>& hosted_domains) {
  PolicyConfig c;
  for (const auto& d : hosted_domains) c.hosted_domains.push_back(Lower(d));
  SG_ASSIGN_OR_RETURN(c.web_encryption, section.Bool("web_encryption", false));
  if (c.web_encryption) {
    // Never pretend: with the portal missing, forced mail would have nowhere
    // to go but out in clear or into a black hole.
    return section.ErrorAt("web_encryption",
                           "web encryption needs the portal, which is not built yet; set false "
                           "(forced encryption without a certificate then bounces to the sender)");
  }
  SG_ASSIGN_OR_RETURN(int64_t layers, section.Int("max_layers", 4, 1, 16));
  c.max_layers = static_cast<int>(layers);
  SG_ASSIGN_OR_RETURN(auto dsn, section.Map("dsn"));
  SG_ASSIGN_OR_RETURN(c.reporting_mta, dsn.String("reporting_mta", c.reporting_mta));
  SG_ASSIGN_OR_RETURN(c.postmaster, dsn.String("postmaster", ""));
  if (c.postmaster.empty()) c.postmaster = "postmaster@" + c.reporting_mta;

  SG_ASSIGN_OR_RETURN(auto rules, section.List("rules"));
  for (const auto& node : rules) {
    AdminRule r;
    SG_ASSIGN_OR_RETURN(std::string match, node.String("match"));
    r.match = Lower(match);
    if (!PlausibleMatch(r.match)) {
      return node.ErrorAt("match", "expected an address (user@example.com) or a domain "
                                   "(example.com), got \"" + match + "\"");
    }
    SG_ASSIGN_OR_RETURN(std::string action,
                        node.Enum("action", {"force_encrypt", "exempt"}));
    r.action = action == "exempt" ? AdminRule::Action::kExempt : AdminRule::Action::kForceEncrypt;
    c.rules.push_back(std::move(r));
  }
  return c;
}

}  // namespace sg::workers
