// The role `egress` (beside those of rpc_roles.h): the identity a separately
// started egress serves its own QueueAdmin port with (egress.admin,
// cmd/smimegate/egress_admin_server.h). It opens no keyservice method (deny
// by default). InternalCa issues its certificate as a server certificate too:
// SAN DNS:kEgressServerName, EKU serverAuth and clientAuth, so one Secret
// serves every egress pod and `smimegatectl queue --egress` checks that name.
//
// Threading: constants only.
#pragma once

#include <string_view>

namespace sg::keyservice {

inline constexpr std::string_view kRoleEgress = "egress";
// The name `smimegatectl queue --egress` verifies an egress's certificate by.
inline constexpr std::string_view kEgressServerName = "smimegate-egress";

}  // namespace sg::keyservice
