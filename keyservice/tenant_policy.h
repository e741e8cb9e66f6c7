// Per-tenant policy overrides and branding (docs/tenants.md "Policy",
// "Branding"): the rules for their values and the translation between the
// API view (TenantPolicy, TenantBranding) and the stored records. Only
// syntax and limits: that the tenant exists and who may change what is
// checked by the callers (KeyServiceImpl; admin/ for REST scopes).
//
// Errors: kInvalidArgument naming the field, the value and the fix.
// Threading: pure functions.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/key_store.h"
#include "keyservice/tenant_admin.h"

namespace sg::keyservice {

inline constexpr size_t kMaxTenantRules = 1000;
inline constexpr size_t kMaxLogoBytes = 64 * 1024;

// A rule's match: a normalised address or domain. kInvalidArgument naming
// `where` ("global rules[2]") otherwise.
Result<std::string> NormalizeRuleMatch(const std::string& match, const std::string& where);
// A rule: its match (above) and its action, force_encrypt (the default
// when empty) or exempt.
Result<TenantRule> NormalizeTenantRule(const TenantRule& rule, const std::string& where);
// A list of rules (a tenant's, or the registry's global ones): each rule
// normalised, at most kMaxTenantRules, one rule per match. `what` names the
// list in errors ("policy rules", "global rules").
Result<std::vector<TenantRule>> NormalizeTenantRules(const std::vector<TenantRule>& rules,
                                                     const std::string& what);

// Normalises a policy: "inherit" becomes "", rule matches are normalised
// addresses or domains (duplicates refused), actions force_encrypt|exempt,
// tags_off sorted and unique, ca_backend one of `ca_labels` (the labels of
// CaExport: "default" and the keyservice.ca.domains keys).
Result<TenantPolicy> NormalizeTenantPolicy(const TenantPolicy& policy,
                                           const std::set<std::string>& ca_labels);

// Checks and normalises branding: names and support contact up to 200
// bytes without control characters, sender_address a valid address,
// colour "#rrggbb" (lower-cased), the logo a PNG or an SVG without scripts
// of at most 64 KiB whose type is taken from its content (a declared
// logo_type must agree).
Result<TenantBranding> NormalizeTenantBranding(const TenantBranding& branding);

TenantPolicy PolicyFromStored(const store::StoredTenantPolicy& p, const std::string& tenant);
store::StoredTenantPolicy PolicyToStored(const TenantPolicy& p);
TenantBranding BrandingFromStored(const store::StoredTenantBranding& b, const std::string& tenant);
store::StoredTenantBranding BrandingToStored(const TenantBranding& b);

}  // namespace sg::keyservice
