// The JSON form of a tenant's policy override and branding (docs/tenants.md
// "Policy", "Branding"; docs/admin-api.md): the REST API's bodies and
// smimegatectl's `tenant policy|branding show --json`.
//
// Policy: {"web_encryption": "inherit|on|off", "rules": [{"match", "action"}],
// "ca_backend": "", "tags_off": [...], "strip_tags": "inherit|on|off",
// "obscure_subject": "inherit|on|off"}.
// Branding: {"display_name", "sender_name", "sender_address",
// "product_name", "logo" (base64), "logo_type", "color", "support"}.
//
// Errors: kInvalidArgument naming the member for a wrong JSON type or bad
// base64; the values themselves are checked by the keyservice.
// Threading: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "common/result.h"
#include "keyservice/tenant_admin.h"

namespace sg::admin {

// A list of rules: [{"match", "action"}] (a tenant's, or the registry's
// global rules, GET /v1/policy/rules).
nlohmann::json TenantRulesToJson(const std::vector<keyservice::TenantRule>& rules);
// `rules` replaced by body["rules"] when present (null: none).
Status TakeTenantRules(const nlohmann::json& body, std::vector<keyservice::TenantRule>& rules);
// One rule object {"match", "action"}.
Result<keyservice::TenantRule> TenantRuleFromJson(const nlohmann::json& rule);

nlohmann::json TenantPolicyToJson(const keyservice::TenantPolicy& p);
// `base` with the members present in `body` replaced (a member absent keeps
// its value; null or "inherit" inherits).
Result<keyservice::TenantPolicy> TenantPolicyFromJson(const nlohmann::json& body,
                                                      keyservice::TenantPolicy base);

nlohmann::json TenantBrandingToJson(const keyservice::TenantBranding& b);
Result<keyservice::TenantBranding> TenantBrandingFromJson(const nlohmann::json& body,
                                                          keyservice::TenantBranding base);

}  // namespace sg::admin
