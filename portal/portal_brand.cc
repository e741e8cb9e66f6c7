#include "portal/portal_brand.h"

namespace sg::portal {

Brand Brands::For(const std::string& domain) const {
  Brand b;
  b.settings = config_.For(domain);
  if (tenants_ != nullptr && !domain.empty()) b.tenant = tenants_->ForDomain(domain);
  if (b.tenant) {
    const TenantBrand& t = *b.tenant;
    if (!t.product_name.empty()) b.settings.product_name = t.product_name;
    if (!t.color.empty()) b.settings.primary_color = t.color;
    b.from_name = t.sender_name;
    b.from_address = t.sender_address;
    b.display_name = t.display_name;
    b.support = t.support;
  }
  if (b.from_name.empty()) b.from_name = b.settings.product_name;
  b.key =
      b.tenant ? domain : (b.settings.domain.empty() ? std::string("default") : b.settings.domain);
  return b;
}

}  // namespace sg::portal
