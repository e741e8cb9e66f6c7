// Brands: what a hosted domain's notification mails and portal pages look
// like. The config file's portal.domains[] entry of the domain (else
// portal.defaults), overridden field by field by the branding of the tenant
// that owns the domain (portal_tenant_branding.h, docs/tenants.md
// "Branding") when the registry is followed:
//   product_name -> the product name of pages and mails
//   color        -> primary_color
//   logo         -> the logo (/brand/<domain>/logo, and the mails' HTML)
//   sender_name / sender_address -> the header From of notification mails
//   display_name, support        -> shown in mails and pages when set
// Everything else (language, retention, replies, templates, the other
// colours) stays the config's.
//
// Threading: thread-safe (TenantBrandings is).
#pragma once

#include <memory>
#include <string>

#include "portal/portal_config.h"
#include "portal/portal_tenant_branding.h"

namespace sg::portal {

struct Brand {
  DomainSettings settings;   // the config's, with the tenant's product name and colour
  std::string from_name;     // display name of the mails' From: sender_name, else product_name
  std::string from_address;  // the tenant's sender_address; "" = as without branding
  std::string display_name;  // the tenant's organisation name; may be empty
  std::string support;       // the tenant's support contact; may be empty
  std::shared_ptr<const TenantBrand> tenant;  // nullptr: no tenant branding
  // The name in /brand/<key>.css and /brand/<key>/logo: the domain when a
  // tenant branding or a portal.domains[] entry applies, else "default".
  std::string key;
  // A logo to show: the tenant's, else the config's logo file.
  bool has_logo() const { return (tenant && !tenant->logo.empty()) || !settings.logo_file.empty(); }
};

class Brands {
 public:
  // `tenants` may be null (no registry followed: the config's alone).
  Brands(const PortalConfig& config, TenantBrandings* tenants)
      : config_(config), tenants_(tenants) {}

  // `domain`: the sender's (hosted) domain, lower case; "" = the defaults.
  Brand For(const std::string& domain) const;

 private:
  const PortalConfig& config_;
  TenantBrandings* tenants_;
};

}  // namespace sg::portal
