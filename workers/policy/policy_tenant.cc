#include "workers/policy/policy_tenant.h"

namespace sg::workers {

namespace {

// The worker's rules of a keyservice list; unknown actions are skipped.
std::vector<AdminRule> RulesOf(const std::vector<keyservice::TenantRule>& rules) {
  std::vector<AdminRule> out;
  out.reserve(rules.size());
  for (const auto& r : rules) {
    AdminRule rule;
    rule.match = r.match;
    if (r.action == "force_encrypt") {
      rule.action = AdminRule::Action::kForceEncrypt;
    } else if (r.action == "exempt") {
      rule.action = AdminRule::Action::kExempt;
    } else {
      continue;
    }
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

TenantPolicyView TenantPolicyViewOf(const keyservice::TenantPolicy& p) {
  TenantPolicyView v;
  v.tenant = p.tenant;
  if (p.web_encryption == "on" || p.web_encryption == "off") {
    v.web_encryption = p.web_encryption == "on";
  }
  if (p.strip_tags == "on" || p.strip_tags == "off") v.strip_tags = p.strip_tags == "on";
  if (p.obscure_subject == "on" || p.obscure_subject == "off") {
    v.obscure_subject = p.obscure_subject == "on";
  }
  v.rules = RulesOf(p.rules);
  for (const auto& t : p.tags_off) {
    if (t == "confidential") v.tags_off.confidential = true;
    if (t == "noenc") v.tags_off.noenc = true;
    if (t == "nosign") v.tags_off.nosign = true;
    if (t == "plain") v.tags_off.plain = true;
  }
  return v;
}

std::shared_ptr<const TenantPolicyTable> TenantPolicyTable::Build(
    const keyservice::TenantRoutingTable& table) {
  auto out = std::make_shared<TenantPolicyTable>();
  out->global_rules_ = RulesOf(table.global_rules);
  std::unordered_map<std::string, const TenantPolicyView*> by_tenant;
  for (const auto& p : table.policies) {
    out->policies_.push_back(std::make_unique<TenantPolicyView>(TenantPolicyViewOf(p)));
    by_tenant[p.tenant] = out->policies_.back().get();
  }
  if (by_tenant.empty()) return out;
  for (const auto& d : table.domains) {
    auto it = by_tenant.find(d.tenant);
    if (it != by_tenant.end()) out->by_domain_.emplace(d.name, it->second);
  }
  return out;
}

const TenantPolicyView* TenantPolicyTable::ForDomain(const std::string& domain) const {
  auto it = by_domain_.find(domain);
  return it == by_domain_.end() ? nullptr : it->second;
}

void TenantPolicies::Replace(std::shared_ptr<const TenantPolicyTable> table) {
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
}

std::shared_ptr<const TenantPolicyTable> TenantPolicies::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_;
}

EffectivePolicy ResolvePolicy(const PolicyConfig& global, const TenantPolicyView* tenant,
                              bool web_encryption_available) {
  EffectivePolicy out;
  out.web_encryption = global.web_encryption;
  out.obscure_subject = global.obscure_subject;
  if (tenant == nullptr) return out;
  if (tenant->web_encryption)
    out.web_encryption = *tenant->web_encryption && web_encryption_available;
  if (tenant->strip_tags) out.strip_tags = *tenant->strip_tags;
  if (tenant->obscure_subject) out.obscure_subject = *tenant->obscure_subject;
  out.tags_off = tenant->tags_off;
  return out;
}

SubjectTags HonouredTags(const SubjectTags& parsed, const SubjectTags& tags_off) {
  SubjectTags out;
  out.confidential = parsed.confidential && !tags_off.confidential;
  out.noenc = parsed.noenc && !tags_off.noenc;
  out.nosign = parsed.nosign && !tags_off.nosign;
  out.plain = parsed.plain && !tags_off.plain;
  return out;
}

const AdminRule* FindRule(const PolicyConfig& global, const TenantPolicyTable* table,
                          const TenantPolicyView* tenant, const std::string& address) {
  if (tenant != nullptr) {
    if (const AdminRule* r = FindRuleIn(tenant->rules, address)) return r;
  }
  if (table != nullptr) {
    if (const AdminRule* r = FindRuleIn(table->global_rules(), address)) return r;
  }
  return FindRuleIn(global.rules, address);
}

}  // namespace sg::workers
