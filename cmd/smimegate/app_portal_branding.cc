// App::WirePortalBranding: the portal reads the branding of the tenant that
// owns a sender's domain from the keyservice registry (docs/tenants.md
// "Branding"): KeyAdmin/TenantShow, in process in `smimegate run`, over gRPC
// with the reader role in `smimegate portal` (the client is shared with the
// registry follower, which gives the portal its domain -> tenant map).
// Kept apart from app.cc: the composition root's one place that converts
// the keyservice's branding into the portal's.
#include <spdlog/spdlog.h>

#include "cmd/smimegate/app.h"
#include "keyservice/tenant_admin.h"
#include "portal/portal_service.h"
#include "portal/portal_tenant_branding.h"

namespace sg::app {
namespace {

portal::TenantBrand ToPortalBrand(const keyservice::TenantBranding& b) {
  portal::TenantBrand out;
  out.tenant = b.tenant;
  out.display_name = b.display_name;
  out.sender_name = b.sender_name;
  out.sender_address = b.sender_address;
  out.product_name = b.product_name;
  out.color = b.color;
  out.support = b.support;
  out.logo = b.logo;
  out.logo_type = b.logo_type;
  return out;
}

}  // namespace

void App::WirePortalBranding(portal::PortalService& portal) {
  keyservice::TenantAdmin* admin = nullptr;
  if (keyservice_ != nullptr) {
    admin = &keyservice_->impl();
  } else {
    auto client = ConnectKeyService("reader", std::chrono::seconds(5), /*wait_for_ready=*/false);
    if (!client.ok()) {
      spdlog::warn(
          "portal: the tenants' branding is not used, pages and mails use portal.* of "
          "the config file only: {}",
          client.error().message);
      return;
    }
    admin = client->get();
    grpc_clients_.push_back(client->get());
    ingress_keyservice_ = std::move(*client);  // the follower reads the registry with it too
  }
  portal_brandings_ = &portal.EnableTenantBranding(
      [admin](const std::string& tenant) -> Result<portal::TenantBrand> {
        SG_ASSIGN_OR_RETURN(keyservice::Tenant t, admin->TenantShow(tenant));
        return ToPortalBrand(t.branding);
      });
}

}  // namespace sg::app
