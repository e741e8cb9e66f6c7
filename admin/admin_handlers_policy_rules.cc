// The registry's global policy rules over REST (docs/admin-api.md "Global
// policy rules", docs/tenants.md "Global rules"): list, replace all, add or
// change one, remove one.
//
// The rules apply to every tenant's mail (after the sender tenant's own
// rules), so only a super token reads or changes them; a reseller or tenant
// token gets 403 whatever the rule, like the trust anchors' changes (the
// routes exist for everyone, so a 403 hides nothing). Their own rules are
// /v1/tenants/{id}/policy. Values are checked by the keyservice
// (tenant_policy.h), like a tenant's rules.
#include "admin/admin_handlers.h"
#include "admin/admin_tenant_policy_json.h"

namespace sg::admin {
namespace {

constexpr const char* kSuperOnly =
    "the global rules apply to every tenant's mail: only a super token may read or change them "
    "(a tenant's own rules: /v1/tenants/{id}/policy)";

Answer RulesAnswer(const Result<std::vector<keyservice::TenantRule>>& rules) {
  if (!rules.ok()) return ErrorAnswer(rules.error());
  return {200, Json{{"rules", TenantRulesToJson(*rules)}}};
}

}  // namespace

// GET /v1/policy/rules
Answer ListGlobalRules(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  return RulesAnswer(c.d.tenants.GlobalRulesShow());
}

// PUT /v1/policy/rules {"rules": [{"match", "action"}]}: replaces them all.
Answer SetGlobalRules(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  if (!body->contains("rules")) {
    return ErrorAnswer(400, "invalid_argument",
                       "\"rules\" is required (an empty array removes every rule)");
  }
  std::vector<keyservice::TenantRule> rules;
  auto taken = TakeTenantRules(*body, rules);
  if (!taken.ok()) return ErrorAnswer(taken.error());
  return RulesAnswer(c.d.tenants.GlobalRulesSet(rules));
}

// POST /v1/policy/rules {"match", "action"}: adds one, or changes the
// action of the rule with that match (it keeps its place).
Answer AddGlobalRule(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto rule = TenantRuleFromJson(*body);
  if (!rule.ok()) return ErrorAnswer(rule.error());
  return RulesAnswer(c.d.tenants.GlobalRuleAdd(*rule));
}

// DELETE /v1/policy/rules/{match}
Answer RemoveGlobalRule(Call& c) {
  if (!c.access.scope().is_super()) return Forbidden(kSuperOnly);
  auto removed = c.d.tenants.GlobalRuleRemove(c.params[0]);
  if (!removed.ok()) {
    return removed.error().code == ErrorCode::kNotFound ? NotFound("global rule", c.params[0])
                                                        : ErrorAnswer(removed.error());
  }
  return {204, nullptr};
}

}  // namespace sg::admin
