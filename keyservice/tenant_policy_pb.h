// Conversion of tenant policy overrides and branding between
// keyservice/tenant_admin.h and proto/keyservice.proto (server and client).
//
// Threading: pure functions.
#pragma once

#include "keyservice/tenant_admin.h"
#include "proto/keyservice.pb.h"

namespace sg::keyservice {

void TenantPolicyToPb(const TenantPolicy& p, smimegate::keyservice::v1::TenantPolicy* out);
TenantPolicy TenantPolicyFromPb(const smimegate::keyservice::v1::TenantPolicy& p);
void TenantBrandingToPb(const TenantBranding& b, smimegate::keyservice::v1::TenantBranding* out);
TenantBranding TenantBrandingFromPb(const smimegate::keyservice::v1::TenantBranding& b);

}  // namespace sg::keyservice
