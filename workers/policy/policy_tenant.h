// Per-tenant policy overrides in the worker (docs/tenants.md "Policy").
//
// The keyservice's registry holds, per tenant, an optional override of
// workers.policy: web encryption on/off, admin rules, subject tags that
// are not honoured, and whether tags are stripped. The worker applies the
// override of the tenant owning the *sender's* domain to outbound mail
// (the tenant's users' mail to the internet), the tenant's rules first
// (first match wins), then the registry's global rules (every sender's
// mail, docs/tenants.md "Global rules"), then workers.policy.rules.
// Inbound mail is not
// changed by tenant policies: its rules (decrypt, verify, strip forged
// marks and steering tags) are security properties of the gateway, not
// preferences (docs/tenants.md says why).
//
// TenantPolicyTable is an immutable snapshot built from the follower's
// table (cmd/smimegate hosted_domain_follower); TenantPolicies holds the
// current one and is swapped whole, so a message sees one consistent
// snapshot and the lookup on the hot path is one hash lookup by domain.
// The Resolve / FindRule functions are pure (table tests in
// tests/workers/policy/policy_tenant_test.cc).
//
// Threading: TenantPolicyTable is immutable once built; TenantPolicies is
// thread-safe (Replace from the follower's thread, Current from workers).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyservice/key_service.h"
#include "workers/policy/policy_config.h"
#include "workers/policy/policy_subject.h"

namespace sg::workers {

struct TenantPolicyView {
  std::string tenant;
  std::optional<bool> web_encryption;  // nullopt: workers.policy.web_encryption
  std::vector<AdminRule> rules;        // before workers.policy.rules
  SubjectTags tags_off;                // true: the tag is not honoured
  std::optional<bool> strip_tags;      // nullopt: stripped (the default)
  // nullopt: workers.policy.header_protection.obscure_subject
  std::optional<bool> obscure_subject;
};

// The worker's view of one tenant policy from the keyservice (unknown
// actions and tags, which a newer keyservice might send, are skipped).
TenantPolicyView TenantPolicyViewOf(const keyservice::TenantPolicy& p);

class TenantPolicyTable {
 public:
  // From the follower's table: every domain whose tenant has an override,
  // and the registry's global rules.
  static std::shared_ptr<const TenantPolicyTable> Build(
      const keyservice::TenantRoutingTable& table);

  // The override of the tenant owning `domain` (normalised), nullptr when none.
  const TenantPolicyView* ForDomain(const std::string& domain) const;
  size_t size() const { return by_domain_.size(); }
  // The registry's global rules (unknown actions skipped), for every sender.
  const std::vector<AdminRule>& global_rules() const { return global_rules_; }

 private:
  std::vector<AdminRule> global_rules_;
  std::vector<std::unique_ptr<TenantPolicyView>> policies_;
  std::unordered_map<std::string, const TenantPolicyView*> by_domain_;
};

class TenantPolicies {
 public:
  void Replace(std::shared_ptr<const TenantPolicyTable> table);
  // Never null (an empty table before the first Replace).
  std::shared_ptr<const TenantPolicyTable> Current() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TenantPolicyTable> table_ = std::make_shared<TenantPolicyTable>();
};

// What applies to one outbound message.
struct EffectivePolicy {
  bool web_encryption = false;
  bool strip_tags = true;
  SubjectTags tags_off;
  bool obscure_subject = false;  // RFC 9788: encrypted mail's outer Subject is "[...]"
};

// `tenant` may be null (no override). A tenant's "on" needs the portal
// (`web_encryption_available`); without it the forced mail bounces.
EffectivePolicy ResolvePolicy(const PolicyConfig& global, const TenantPolicyView* tenant,
                              bool web_encryption_available);

// The tags that steer the message: `parsed` without the ones switched off.
SubjectTags HonouredTags(const SubjectTags& parsed, const SubjectTags& tags_off);

// The first rule for `address`: the tenant's (address rules before domain
// rules), then the registry's global rules of `table` (likewise), then
// workers.policy.rules; nullptr when none. `table` and `tenant` may be null.
const AdminRule* FindRule(const PolicyConfig& global, const TenantPolicyTable* table,
                          const TenantPolicyView* tenant, const std::string& address);

}  // namespace sg::workers
