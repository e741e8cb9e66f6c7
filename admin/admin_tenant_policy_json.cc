#include "admin/admin_tenant_policy_json.h"

#include "common/mail/base64.h"

namespace sg::admin {
namespace {

using Json = nlohmann::json;

std::string Inherit(const std::string& v) { return v.empty() ? "inherit" : v; }

Error TypeError(const std::string& key, const char* what) {
  return MakeError(ErrorCode::kInvalidArgument, "\"" + key + "\" must be " + what);
}

// Replaces `field` with body[key] when present (null: "").
Status TakeString(const Json& body, const std::string& key, std::string& field) {
  auto it = body.find(key);
  if (it == body.end()) return OkStatus();
  if (it->is_null()) {
    field.clear();
    return OkStatus();
  }
  if (!it->is_string()) return TypeError(key, "a string");
  field = it->get<std::string>();
  return OkStatus();
}

Status TakeStrings(const Json& body, const std::string& key, std::vector<std::string>& out) {
  auto it = body.find(key);
  if (it == body.end()) return OkStatus();
  if (!it->is_array() && !it->is_null()) return TypeError(key, "an array of strings");
  out.clear();
  if (it->is_null()) return OkStatus();
  for (const auto& v : *it) {
    if (!v.is_string()) return TypeError(key, "an array of strings");
    out.push_back(v.get<std::string>());
  }
  return OkStatus();
}

}  // namespace

Json TenantRulesToJson(const std::vector<keyservice::TenantRule>& rules) {
  Json out = Json::array();
  for (const auto& r : rules) out.push_back({{"match", r.match}, {"action", r.action}});
  return out;
}

Result<keyservice::TenantRule> TenantRuleFromJson(const Json& rule) {
  if (!rule.is_object()) return TypeError("rules[]", R"(an object {"match", "action"})");
  keyservice::TenantRule out;
  SG_RETURN_IF_ERROR(TakeString(rule, "match", out.match));
  SG_RETURN_IF_ERROR(TakeString(rule, "action", out.action));
  return out;
}

Status TakeTenantRules(const Json& body, std::vector<keyservice::TenantRule>& rules) {
  auto it = body.find("rules");
  if (it == body.end()) return OkStatus();
  if (!it->is_array() && !it->is_null()) return TypeError("rules", "an array");
  rules.clear();
  if (it->is_null()) return OkStatus();
  for (const auto& r : *it) {
    SG_ASSIGN_OR_RETURN(auto rule, TenantRuleFromJson(r));
    rules.push_back(std::move(rule));
  }
  return OkStatus();
}

Json TenantPolicyToJson(const keyservice::TenantPolicy& p) {
  return {{"tenant", p.tenant},
          {"web_encryption", Inherit(p.web_encryption)},
          {"rules", TenantRulesToJson(p.rules)},
          {"ca_backend", Inherit(p.ca_backend)},
          {"tags_off", p.tags_off},
          {"strip_tags", Inherit(p.strip_tags)},
          {"obscure_subject", Inherit(p.obscure_subject)}};
}

Result<keyservice::TenantPolicy> TenantPolicyFromJson(const Json& body,
                                                      keyservice::TenantPolicy base) {
  SG_RETURN_IF_ERROR(TakeString(body, "web_encryption", base.web_encryption));
  SG_RETURN_IF_ERROR(TakeString(body, "ca_backend", base.ca_backend));
  if (base.ca_backend == "inherit") base.ca_backend.clear();
  SG_RETURN_IF_ERROR(TakeString(body, "strip_tags", base.strip_tags));
  SG_RETURN_IF_ERROR(TakeString(body, "obscure_subject", base.obscure_subject));
  SG_RETURN_IF_ERROR(TakeStrings(body, "tags_off", base.tags_off));
  SG_RETURN_IF_ERROR(TakeTenantRules(body, base.rules));
  return base;
}

Json TenantBrandingToJson(const keyservice::TenantBranding& b) {
  return {{"tenant", b.tenant},
          {"display_name", b.display_name},
          {"sender_name", b.sender_name},
          {"sender_address", b.sender_address},
          {"product_name", b.product_name},
          {"logo", mail::Base64EncodeOneLine(b.logo)},
          {"logo_type", b.logo_type},
          {"color", b.color},
          {"support", b.support}};
}

Result<keyservice::TenantBranding> TenantBrandingFromJson(const Json& body,
                                                          keyservice::TenantBranding base) {
  SG_RETURN_IF_ERROR(TakeString(body, "display_name", base.display_name));
  SG_RETURN_IF_ERROR(TakeString(body, "sender_name", base.sender_name));
  SG_RETURN_IF_ERROR(TakeString(body, "sender_address", base.sender_address));
  SG_RETURN_IF_ERROR(TakeString(body, "product_name", base.product_name));
  SG_RETURN_IF_ERROR(TakeString(body, "color", base.color));
  SG_RETURN_IF_ERROR(TakeString(body, "support", base.support));
  SG_RETURN_IF_ERROR(TakeString(body, "logo_type", base.logo_type));
  std::string logo64;
  bool has_logo = body.contains("logo");
  SG_RETURN_IF_ERROR(TakeString(body, "logo", logo64));
  if (has_logo) {
    auto logo = mail::Base64DecodeStrict(logo64);
    if (!logo.ok()) {
      return MakeError(ErrorCode::kInvalidArgument, "\"logo\": " + logo.error().message);
    }
    base.logo = std::move(*logo);
    if (!body.contains("logo_type")) base.logo_type.clear();  // from the new content
  }
  return base;
}

}  // namespace sg::admin
