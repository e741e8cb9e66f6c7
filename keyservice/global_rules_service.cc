// KeyServiceImpl: the registry's global policy rules (TenantAdmin,
// docs/tenants.md "Global rules"). They are checked with the tenant rules'
// code (tenant_policy.h), stored in one meta record and read by the
// workers' follower with the tenant table (TenantRouting); every change
// publishes a "policy" change event (subject "global"), so the workers
// re-read within one long poll. Audited by the gRPC layer (KeyAdmin) and
// the REST API like every admin call.
#include <algorithm>

#include "keyservice/key_service_impl.h"
#include "keyservice/tenant_policy.h"

namespace sg::keyservice {
namespace {

std::vector<TenantRule> FromStored(const store::StoredGlobalRules& stored) {
  std::vector<TenantRule> out;
  out.reserve(static_cast<size_t>(stored.rules_size()));
  for (const auto& r : stored.rules()) out.push_back(TenantRule{r.match(), r.action()});
  return out;
}

store::StoredGlobalRules ToStored(const std::vector<TenantRule>& rules) {
  store::StoredGlobalRules out;
  for (const auto& r : rules) {
    auto* o = out.add_rules();
    o->set_match(r.match);
    o->set_action(r.action);
  }
  return out;
}

}  // namespace

Result<std::vector<TenantRule>> KeyServiceImpl::GlobalRulesShow() {
  SG_ASSIGN_OR_RETURN(auto stored, tenants_.GetGlobalRules());
  return FromStored(stored);
}

// tenant_mu_ held: stores `rules` (normalised) and tells the followers.
Result<std::vector<TenantRule>> KeyServiceImpl::StoreGlobalRules(std::vector<TenantRule> rules) {
  SG_ASSIGN_OR_RETURN(rules, NormalizeTenantRules(rules, "global rules"));
  SG_RETURN_IF_ERROR(tenants_.PutGlobalRules(ToStored(rules)));
  changes_.Publish("policy", "global");
  return rules;
}

Result<std::vector<TenantRule>> KeyServiceImpl::GlobalRulesSet(
    const std::vector<TenantRule>& rules) {
  std::lock_guard<std::mutex> lock(tenant_mu_);
  return StoreGlobalRules(rules);
}

Result<std::vector<TenantRule>> KeyServiceImpl::GlobalRuleAdd(const TenantRule& rule) {
  SG_ASSIGN_OR_RETURN(TenantRule norm, NormalizeTenantRule(rule, "global rule"));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto stored, tenants_.GetGlobalRules());
  std::vector<TenantRule> rules = FromStored(stored);
  auto same = std::find_if(rules.begin(), rules.end(),
                           [&norm](const TenantRule& r) { return r.match == norm.match; });
  if (same == rules.end()) {
    rules.push_back(std::move(norm));
  } else {
    same->action = norm.action;  // keeps its place in the order
  }
  return StoreGlobalRules(std::move(rules));
}

Result<std::vector<TenantRule>> KeyServiceImpl::GlobalRuleRemove(const std::string& match) {
  SG_ASSIGN_OR_RETURN(std::string norm, NormalizeRuleMatch(match, "global rule"));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(auto stored, tenants_.GetGlobalRules());
  std::vector<TenantRule> rules = FromStored(stored);
  auto gone = std::remove_if(rules.begin(), rules.end(),
                             [&norm](const TenantRule& r) { return r.match == norm; });
  if (gone == rules.end()) {
    return MakeError(ErrorCode::kNotFound, "no global rule for " + norm +
                                               " (`smimegatectl policy rules list` shows them)");
  }
  rules.erase(gone, rules.end());
  return StoreGlobalRules(std::move(rules));
}

}  // namespace sg::keyservice
