// The role `portal` (beside those of rpc_roles.h): the identity a separately
// started portal serves its PortalAdmin port with (portal.admin,
// cmd/smimegate/stage_admin_server.h). Like the role egress
// (rpc_role_egress.h) it opens no keyservice method (deny by default), and
// InternalCa issues its certificate as a server certificate too: SAN
// DNS:kPortalServerName, EKU serverAuth and clientAuth, so one Secret serves
// every portal pod and the keyservice's REST API checks that name
// (keyservice.admin_api.portal.server_name).
//
// Threading: constants only.
#pragma once

#include <string_view>

namespace sg::keyservice {

inline constexpr std::string_view kRolePortal = "portal";
// The name the admin REST API verifies a portal's certificate by.
inline constexpr std::string_view kPortalServerName = "smimegate-portal";

}  // namespace sg::keyservice
