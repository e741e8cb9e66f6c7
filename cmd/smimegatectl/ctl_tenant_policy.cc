// smimegatectl tenant policy show|set|clear and tenant branding
// show|set|clear (docs/tenants.md "Policy", "Branding"). `set` changes only
// the options given: it reads the current values and sends them back whole.
#include <iostream>
#include <optional>

#include "admin/admin_tenant_policy_json.h"
#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "cmd/smimegatectl/ctl_tenant_call.h"

namespace sg::ctl {
namespace {

struct PolicyArgs {
  std::string tenant;
  std::optional<std::string> web_encryption, ca_backend, strip_tags, tags_off, obscure_subject;
  std::vector<std::string> rules;
  bool no_rules = false;
  std::optional<std::string> display_name, sender_name, sender_address, product_name, color,
      support, logo_file;
  bool no_logo = false;
  bool json = false;
};

std::string Or(const std::string& v, const char* fallback) { return v.empty() ? fallback : v; }

void PrintPolicy(const ks::Tenant& t) {
  const ks::TenantPolicy& p = t.policy;
  std::cout << "tenant " << t.id << "\n"
            << "web_encryption\t" << Or(p.web_encryption, "inherit") << "\n"
            << "ca_backend\t" << Or(p.ca_backend, "inherit") << "\n"
            << "strip_tags\t" << Or(p.strip_tags, "inherit") << "\n"
            << "obscure_subject\t" << Or(p.obscure_subject, "inherit") << "\n";
  std::string off;
  for (const auto& x : p.tags_off) off += (off.empty() ? "" : ",") + x;
  std::cout << "tags_off\t" << Or(off, "-") << "\n";
  for (const auto& r : p.rules) std::cout << "rule\t" << r.action << "\t" << r.match << "\n";
}

void PrintBranding(const ks::Tenant& t) {
  const ks::TenantBranding& b = t.branding;
  std::cout << "tenant " << t.id << "\n"
            << "display_name\t" << Or(b.display_name, "-") << "\n"
            << "sender_name\t" << Or(b.sender_name, "-") << "\n"
            << "sender_address\t" << Or(b.sender_address, "-") << "\n"
            << "product_name\t" << Or(b.product_name, "-") << "\n"
            << "color\t" << Or(b.color, "-") << "\n"
            << "support\t" << Or(b.support, "-") << "\n"
            << "logo\t"
            << (b.logo.empty() ? std::string("-")
                               : b.logo_type + ", " + std::to_string(b.logo.size()) + " bytes")
            << "\n";
}

// The current policy with the options given applied.
Result<ks::TenantPolicy> MergedPolicy(const ks::Tenant& t, const PolicyArgs& a) {
  ks::TenantPolicy p = t.policy;
  p.tenant = t.id;
  if (a.web_encryption) p.web_encryption = *a.web_encryption;
  if (a.ca_backend) p.ca_backend = *a.ca_backend == "inherit" ? "" : *a.ca_backend;
  if (a.strip_tags) p.strip_tags = *a.strip_tags;
  if (a.obscure_subject) p.obscure_subject = *a.obscure_subject;
  if (a.tags_off) {
    p.tags_off.clear();
    std::string rest = *a.tags_off;
    while (!rest.empty() && rest != "none") {
      const size_t comma = rest.find(',');
      p.tags_off.push_back(rest.substr(0, comma));
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
  }
  if (a.no_rules) p.rules.clear();
  if (!a.rules.empty()) {
    p.rules.clear();
    for (const auto& r : a.rules) {
      SG_ASSIGN_OR_RETURN(auto rule, ParseRuleArg(r, "--rule"));
      p.rules.push_back(std::move(rule));
    }
  }
  return p;
}

Result<ks::TenantBranding> MergedBranding(const ks::Tenant& t, const PolicyArgs& a) {
  ks::TenantBranding b = t.branding;
  b.tenant = t.id;
  auto set = [](std::string& field, const std::optional<std::string>& v) {
    if (v) field = *v;
  };
  set(b.display_name, a.display_name);
  set(b.sender_name, a.sender_name);
  set(b.sender_address, a.sender_address);
  set(b.product_name, a.product_name);
  set(b.color, a.color);
  set(b.support, a.support);
  if (a.no_logo) b.logo.clear();
  if (a.logo_file) {
    SG_ASSIGN_OR_RETURN(b.logo, ReadFile(*a.logo_file));
  }
  b.logo_type.clear();  // taken from the content by the keyservice
  return b;
}

void AddPolicyGroup(CLI::App& tenant, Ctl& ctl, PolicyArgs& a) {
  auto* policy =
      tenant.add_subcommand("policy", "a tenant's policy override")->require_subcommand(1);
  auto* show = policy->add_subcommand("show", "the tenant's policy override");
  show->add_option("tenant", a.tenant, "tenant id")->required();
  show->add_flag("--json", a.json, "a JSON object (docs/tenants.md)");
  show->callback([&] {
    RunTenantCall(
        ctl, [&](ks::KeyServiceClient& c) { return c.TenantShow(a.tenant); }, PrintPolicy, &a.json,
        [](const ks::Tenant& t) { return admin::TenantPolicyToJson(t.policy); });
  });
  auto* set = policy->add_subcommand("set", "change the options given (the others stay)");
  set->add_option("tenant", a.tenant, "tenant id")->required();
  set->add_option("--web-encryption", a.web_encryption, "inherit | on | off");
  set->add_option("--rule", a.rules, "ACTION:MATCH (force_encrypt|exempt), replaces the rules");
  set->add_flag("--no-rules", a.no_rules, "remove every rule");
  set->add_option("--ca-backend", a.ca_backend, "inherit | a CA label (`ca export`)");
  set->add_option("--tags-off", a.tags_off,
                  "subject tags not honoured: confidential,noenc,nosign,plain or none");
  set->add_option("--strip-tags", a.strip_tags, "inherit | on | off");
  set->add_option("--obscure-subject", a.obscure_subject,
                  "inherit | on | off: encrypted mail's outer Subject is [...] (RFC 9788)");
  set->callback([&] {
    RunTenantCall(
        ctl,
        [&](ks::KeyServiceClient& c) -> Result<ks::Tenant> {
          SG_ASSIGN_OR_RETURN(ks::Tenant t, c.TenantShow(a.tenant));
          SG_ASSIGN_OR_RETURN(ks::TenantPolicy p, MergedPolicy(t, a));
          return c.TenantPolicySet(p);
        },
        PrintPolicy);
  });
  auto* clear = policy->add_subcommand("clear", "back to the config file's workers.policy");
  clear->add_option("tenant", a.tenant, "tenant id")->required();
  clear->callback([&] {
    RunTenantCall(
        ctl, [&](ks::KeyServiceClient& c) { return c.TenantPolicyClear(a.tenant); }, PrintPolicy);
  });
}

void AddBrandingGroup(CLI::App& tenant, Ctl& ctl, PolicyArgs& a) {
  auto* branding = tenant
                       .add_subcommand("branding",
                                       "a tenant's branding of notification mails "
                                       "and portal pages")
                       ->require_subcommand(1);
  auto* show = branding->add_subcommand("show", "the tenant's branding");
  show->add_option("tenant", a.tenant, "tenant id")->required();
  show->add_flag("--json", a.json, "a JSON object (docs/tenants.md; the logo in base64)");
  show->callback([&] {
    RunTenantCall(
        ctl, [&](ks::KeyServiceClient& c) { return c.TenantShow(a.tenant); }, PrintBranding,
        &a.json, [](const ks::Tenant& t) { return admin::TenantBrandingToJson(t.branding); });
  });
  auto* set = branding->add_subcommand("set", "change the options given (the others stay)");
  set->add_option("tenant", a.tenant, "tenant id")->required();
  set->add_option("--display-name", a.display_name, "the tenant's name as shown");
  set->add_option("--sender-name", a.sender_name, "From display name of notification mails");
  set->add_option("--sender-address", a.sender_address, "From address of notification mails");
  set->add_option("--product-name", a.product_name, "the portal's product name");
  set->add_option("--color", a.color, "primary colour #RRGGBB");
  set->add_option("--support", a.support, "support contact (address, URL, phone)");
  set->add_option("--logo", a.logo_file, "PNG or SVG file, at most 64 KiB");
  set->add_flag("--no-logo", a.no_logo, "remove the logo");
  set->callback([&] {
    RunTenantCall(
        ctl,
        [&](ks::KeyServiceClient& c) -> Result<ks::Tenant> {
          SG_ASSIGN_OR_RETURN(ks::Tenant t, c.TenantShow(a.tenant));
          SG_ASSIGN_OR_RETURN(ks::TenantBranding b, MergedBranding(t, a));
          return c.TenantBrandingSet(b);
        },
        PrintBranding);
  });
  auto* clear = branding->add_subcommand("clear", "remove the tenant's branding");
  clear->add_option("tenant", a.tenant, "tenant id")->required();
  clear->callback([&] {
    RunTenantCall(
        ctl, [&](ks::KeyServiceClient& c) { return c.TenantBrandingClear(a.tenant); },
        PrintBranding);
  });
}

}  // namespace

void AddTenantPolicyCommands(CLI::App& tenant, Ctl& ctl) {
  auto& a = ctl.Keep<PolicyArgs>();
  AddPolicyGroup(tenant, ctl, a);
  AddBrandingGroup(tenant, ctl, a);
}

}  // namespace sg::ctl
