// Conversion of tenant policy overrides, the global rules and branding between
// keyservice/tenant_admin.h and proto/keyservice.proto (server and client).
//
// Threading: pure functions.
#pragma once

#include <vector>

#include "keyservice/tenant_admin.h"
#include "proto/keyservice.pb.h"

namespace sg::keyservice {

using TenantRulesPb = google::protobuf::RepeatedPtrField<smimegate::keyservice::v1::TenantRule>;
// A tenant's or the global rules (TenantPolicy.rules, GlobalRules.rules).
void TenantRulesToPb(const std::vector<TenantRule>& rules, TenantRulesPb* out);
std::vector<TenantRule> TenantRulesFromPb(const TenantRulesPb& rules);

void TenantPolicyToPb(const TenantPolicy& p, smimegate::keyservice::v1::TenantPolicy* out);
TenantPolicy TenantPolicyFromPb(const smimegate::keyservice::v1::TenantPolicy& p);
void TenantBrandingToPb(const TenantBranding& b, smimegate::keyservice::v1::TenantBranding* out);
TenantBranding TenantBrandingFromPb(const smimegate::keyservice::v1::TenantBranding& b);

}  // namespace sg::keyservice
