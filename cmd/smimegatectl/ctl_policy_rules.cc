// smimegatectl policy rules list|add|remove|clear: the registry's global
// policy rules (docs/tenants.md "Global rules"). Each command is one
// keyservice call (add and remove are one read-modify-write there, so two
// admins adding rules at once lose nothing) and prints the rules after it.
#include <iostream>

#include "admin/admin_tenant_policy_json.h"
#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"

namespace sg::ctl {
namespace {

using RulesCall = std::function<Result<std::vector<ks::TenantRule>>(ks::KeyServiceClient&)>;

struct RulesArgs {
  std::string rule;
  std::string match;
  bool json = false;
};

void PrintRules(const std::vector<ks::TenantRule>& rules) {
  if (rules.empty()) std::cout << "no global rules (workers.policy.rules of the config apply)\n";
  for (const auto& r : rules) std::cout << r.action << "\t" << r.match << "\n";
}

void RunRulesCall(Ctl& ctl, RulesCall call, const bool* json = nullptr) {
  ctl.Run([call = std::move(call), json](ks::KeyServiceClient& c) {
    auto rules = call(c);
    if (!rules.ok()) return Fail(rules.error());
    if (json != nullptr && *json) return PrintJson(admin::TenantRulesToJson(*rules));
    PrintRules(*rules);
    return 0;
  });
}

}  // namespace

Result<ks::TenantRule> ParseRuleArg(const std::string& text, const std::string& option) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        option + " \"" + text + "\": ACTION:MATCH, e.g. force_encrypt:partner.example");
  }
  return ks::TenantRule{text.substr(colon + 1), text.substr(0, colon)};
}

void AddPolicyCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<RulesArgs>();
  auto* policy =
      app.add_subcommand("policy", "the gateway's policy in the registry")->require_subcommand(1);
  auto* rules = policy
                    ->add_subcommand("rules",
                                     "global rules: after a tenant's rules, before "
                                     "workers.policy.rules; first match wins")
                    ->require_subcommand(1);
  auto* list = rules->add_subcommand("list", "the global rules, in order");
  list->add_flag("--json", a.json, "a JSON array of {match, action}");
  list->callback([&] {
    RunRulesCall(
        ctl, [](ks::KeyServiceClient& c) { return c.GlobalRulesShow(); }, &a.json);
  });
  auto* add = rules->add_subcommand("add", "add a rule, or change the action of its match");
  add->add_option("rule", a.rule, "ACTION:MATCH (force_encrypt|exempt : address or domain)")
      ->required();
  add->callback([&] {
    RunRulesCall(ctl, [&](ks::KeyServiceClient& c) -> Result<std::vector<ks::TenantRule>> {
      SG_ASSIGN_OR_RETURN(ks::TenantRule rule, ParseRuleArg(a.rule, "rule"));
      return c.GlobalRuleAdd(rule);
    });
  });
  auto* remove = rules->add_subcommand("remove", "remove the rule of an address or domain");
  remove->add_option("match", a.match, "the rule's address or domain")->required();
  remove->callback([&] {
    RunRulesCall(ctl, [&](ks::KeyServiceClient& c) { return c.GlobalRuleRemove(a.match); });
  });
  auto* clear = rules->add_subcommand("clear", "remove every global rule");
  clear->callback(
      [&] { RunRulesCall(ctl, [](ks::KeyServiceClient& c) { return c.GlobalRulesSet({}); }); });
}

}  // namespace sg::ctl
