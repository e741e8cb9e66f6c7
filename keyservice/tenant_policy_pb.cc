#include "keyservice/tenant_policy_pb.h"

namespace sg::keyservice {
namespace pb = smimegate::keyservice::v1;

void TenantPolicyToPb(const TenantPolicy& p, pb::TenantPolicy* out) {
  out->set_tenant(p.tenant);
  out->set_web_encryption(p.web_encryption);
  for (const auto& r : p.rules) {
    auto* o = out->add_rules();
    o->set_match(r.match);
    o->set_action(r.action);
  }
  out->set_ca_backend(p.ca_backend);
  for (const auto& t : p.tags_off) out->add_tags_off(t);
  out->set_strip_tags(p.strip_tags);
}

TenantPolicy TenantPolicyFromPb(const pb::TenantPolicy& p) {
  TenantPolicy out;
  out.tenant = p.tenant();
  out.web_encryption = p.web_encryption();
  for (const auto& r : p.rules()) out.rules.push_back(TenantRule{r.match(), r.action()});
  out.ca_backend = p.ca_backend();
  out.tags_off.assign(p.tags_off().begin(), p.tags_off().end());
  out.strip_tags = p.strip_tags();
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
