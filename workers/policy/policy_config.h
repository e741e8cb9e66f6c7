// The worker policy's configuration: section `workers.policy`.
//
// Parsed once at start-up (cmd/smimegate passes the `policy` sub-map of
// `workers` and the top-level hosted_domains). Every key has a default; see
// docs/configuration.md. Threading: plain values, read-only after
// parsing.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/result.h"
#include "workers/dkim/dkim_decision.h"

namespace sg::workers {

// An admin rule about recipients: `match` is an address ("user@partner.example")
// or a domain ("partner.example", which matches exactly that domain).
struct AdminRule {
  enum class Action {
    kForceEncrypt,  // mail to the match must be encrypted (web encryption / bounce without cert)
    kExempt,        // never encrypted opportunistically (forced encryption still applies)
  };
  std::string match;  // normalised address or domain (common/mail/address.h)
  Action action = Action::kForceEncrypt;
};

struct PolicyConfig {
  std::vector<AdminRule> rules;              // rules: [{match, action}]
  bool web_encryption = false;               // web_encryption: needs portal.enabled
  std::string reporting_mta = "localhost";   // dsn.reporting_mta: our name in DSNs
  std::string postmaster;                    // dsn.postmaster: From of DSNs (default postmaster@<reporting_mta>)
  int max_layers = 4;                        // max_layers: nested S/MIME layers unwrapped inbound
  // RFC 9788 header protection of the gateway's own signatures and
  // encryption (header_protection.enabled), and whether the outer Subject
  // of encrypted mail becomes "[...]" (header_protection.obscure_subject).
  bool header_protection = true;
  bool obscure_subject = false;
  std::vector<std::string> hosted_domains;   // top-level hosted_domains, normalised
  // A new user's first certificate (issue 18): how long an outbound record
  // waits for the CA, from its acceptance, before it is delivered unsigned,
  // and how long it is set aside between tries (workers.ca_wait,
  // workers.ca_retry; copied from WorkerConfig).
  std::chrono::milliseconds ca_wait{std::chrono::hours(1)};
  std::chrono::milliseconds ca_retry{std::chrono::minutes(1)};
  // dkim.sign: which outbound forms get a DKIM signature (docs/dkim.md).
  dkim::DkimSignMode dkim_sign = dkim::DkimSignMode::kModified;
};

// The first rule that matches |address| (address rules before domain rules),
// or nullptr.
const AdminRule* FindAdminRule(const PolicyConfig& config, const std::string& address);
// The same over any list of rules (a tenant's, policy_tenant.h).
const AdminRule* FindRuleIn(const std::vector<AdminRule>& rules, const std::string& address);

Result<PolicyConfig> ParsePolicyConfig(const config::ConfigNode& section,
                                       const std::vector<std::string>& hosted_domains);

}  // namespace sg::workers
