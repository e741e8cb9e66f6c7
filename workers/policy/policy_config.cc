#include "workers/policy/policy_config.h"

#include "common/mail/address.h"

namespace sg::workers {

const AdminRule* FindAdminRule(const PolicyConfig& config, const std::string& address) {
  return FindRuleIn(config.rules, address);
}

const AdminRule* FindRuleIn(const std::vector<AdminRule>& rules, const std::string& address) {
  if (rules.empty()) return nullptr;
  // Rules hold normalised addresses and domains; an address that does not
  // normalise cannot be any of them.
  auto normalized = mail::NormalizeAddress(address);
  if (!normalized.ok()) return nullptr;
  const std::string& addr = *normalized;
  for (const auto& r : rules) {
    if (r.match == addr) return &r;
  }
  const std::string domain = mail::DomainOf(addr);
  for (const auto& r : rules) {
    if (r.match.find('@') == std::string::npos && r.match == domain) return &r;
  }
  return nullptr;
}

Result<PolicyConfig> ParsePolicyConfig(const config::ConfigNode& section,
                                       const std::vector<std::string>& hosted_domains) {
  PolicyConfig c;
  for (const auto& d : hosted_domains) {
    auto domain = mail::NormalizeDomain(d);
    if (!domain.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "config hosted_domains: " + domain.error().message);
    }
    c.hosted_domains.push_back(std::move(*domain));
  }
  // Needs portal.enabled (checked where both sections are known: the
  // smimegate command), so forced mail always has somewhere to go.
  SG_ASSIGN_OR_RETURN(c.web_encryption, section.Bool("web_encryption", false));
  SG_ASSIGN_OR_RETURN(int64_t layers, section.Int("max_layers", 4, 1, 16));
  c.max_layers = static_cast<int>(layers);
  SG_ASSIGN_OR_RETURN(auto hp, section.Map("header_protection"));
  SG_ASSIGN_OR_RETURN(c.header_protection, hp.Bool("enabled", true));
  SG_ASSIGN_OR_RETURN(c.obscure_subject, hp.Bool("obscure_subject", false));
  SG_ASSIGN_OR_RETURN(auto dsn, section.Map("dsn"));
  SG_ASSIGN_OR_RETURN(c.reporting_mta, dsn.String("reporting_mta", c.reporting_mta));
  SG_ASSIGN_OR_RETURN(c.postmaster, dsn.String("postmaster", ""));
  if (c.postmaster.empty()) c.postmaster = "postmaster@" + c.reporting_mta;

  SG_ASSIGN_OR_RETURN(auto dkim_section, section.Map("dkim"));
  SG_ASSIGN_OR_RETURN(std::string dkim_sign,
                      dkim_section.Enum("sign", {"off", "modified", "all"}, "modified"));
  SG_ASSIGN_OR_RETURN(c.dkim_sign, dkim::ParseDkimSignMode(dkim_sign));

  SG_ASSIGN_OR_RETURN(auto rules, section.List("rules"));
  for (const auto& node : rules) {
    AdminRule r;
    SG_ASSIGN_OR_RETURN(std::string match, node.String("match"));
    auto normalized = match.find('@') == std::string::npos ? mail::NormalizeDomain(match)
                                                           : mail::NormalizeAddress(match);
    if (!normalized.ok()) {
      return node.ErrorAt("match",
                          "expected an address (user@example.com) or a domain "
                          "(example.com), got " +
                              normalized.error().message);
    }
    r.match = std::move(*normalized);
    SG_ASSIGN_OR_RETURN(std::string action,
                        node.Enum("action", {"force_encrypt", "exempt"}));
    r.action = action == "exempt" ? AdminRule::Action::kExempt : AdminRule::Action::kForceEncrypt;
    c.rules.push_back(std::move(r));
  }
  return c;
}

}  // namespace sg::workers
