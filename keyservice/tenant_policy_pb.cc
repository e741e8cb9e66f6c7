#include "keyservice/tenant_policy_pb.h"

namespace sg::keyservice {
namespace pb = smimegate::keyservice::v1;

void TenantRulesToPb(const std::vector<TenantRule>& rules, TenantRulesPb* out) {
  for (const auto& r : rules) {
    auto* o = out->Add();
    o->set_match(r.match);
    o->set_action(r.action);
  }
}

std::vector<TenantRule> TenantRulesFromPb(const TenantRulesPb& rules) {
  std::vector<TenantRule> out;
  out.reserve(static_cast<size_t>(rules.size()));
  for (const auto& r : rules) out.push_back(TenantRule{r.match(), r.action()});
  return out;
}

void TenantPolicyToPb(const TenantPolicy& p, pb::TenantPolicy* out) {
  out->set_tenant(p.tenant);
  out->set_web_encryption(p.web_encryption);
  TenantRulesToPb(p.rules, out->mutable_rules());
  out->set_ca_backend(p.ca_backend);
  for (const auto& t : p.tags_off) out->add_tags_off(t);
  out->set_strip_tags(p.strip_tags);
  out->set_obscure_subject(p.obscure_subject);
}

TenantPolicy TenantPolicyFromPb(const pb::TenantPolicy& p) {
  TenantPolicy out;
  out.tenant = p.tenant();
  out.web_encryption = p.web_encryption();
  out.rules = TenantRulesFromPb(p.rules());
  out.ca_backend = p.ca_backend();
  out.tags_off.assign(p.tags_off().begin(), p.tags_off().end());
  out.strip_tags = p.strip_tags();
  out.obscure_subject = p.obscure_subject();
  return out;
}

void TenantBrandingToPb(const TenantBranding& b, pb::TenantBranding* out) {
  out->set_tenant(b.tenant);
  out->set_display_name(b.display_name);
  out->set_sender_name(b.sender_name);
  out->set_sender_address(b.sender_address);
  out->set_product_name(b.product_name);
  out->set_logo(b.logo);
  out->set_logo_type(b.logo_type);
  out->set_color(b.color);
  out->set_support(b.support);
}

TenantBranding TenantBrandingFromPb(const pb::TenantBranding& b) {
  return TenantBranding{b.tenant(),         b.display_name(), b.sender_name(),
                        b.sender_address(), b.product_name(), b.logo(),
                        b.logo_type(),      b.color(),        b.support()};
}

}  // namespace sg::keyservice
