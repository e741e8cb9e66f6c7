#include "keyservice/tenant_policy.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/ascii.h"
#include "common/mail/address.h"
#include "keyservice/tenant_registry.h"

namespace sg::keyservice {
namespace {

constexpr std::array<std::string_view, 4> kTags = {"confidential", "noenc", "nosign", "plain"};
constexpr std::string_view kPngMagic = "\x89PNG\r\n\x1a\n";

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// "" / "inherit" -> "", "on" / "off" as they are.
Result<std::string> Switch(const std::string& value, const char* field) {
  const std::string v = AsciiLower(AsciiTrim(value));
  if (v.empty() || v == "inherit") return std::string();
  if (v == "on" || v == "off") return v;
  return Invalid(std::string("policy ") + field + " \"" + value + "\": inherit, on or off");
}

Status CheckText(const std::string& value, const char* field) {
  return CheckTenantName(value, std::string("branding ") + field);
}

bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  return AsciiLower(haystack).find(needle) != std::string::npos;
}

// The logo's type from its bytes; kInvalidArgument for anything else.
Result<std::string> LogoType(const std::string& logo) {
  if (logo.size() > kMaxLogoBytes) {
    return Invalid("branding logo: " + std::to_string(logo.size()) +
                   " bytes; at most 65536 (scale it down)");
  }
  if (logo.compare(0, kPngMagic.size(), kPngMagic) == 0) return std::string("image/png");
  const std::string_view head = std::string_view(logo).substr(0, 1024);
  if (ContainsNoCase(head, "<svg") || ContainsNoCase(head, "<?xml")) {
    if (!ContainsNoCase(logo, "<svg")) return Invalid("branding logo: an XML file without <svg>");
    // The portal shows the logo on pages a recipient trusts: no active content.
    for (std::string_view bad : {"<script", "javascript:", "<foreignobject", "<!entity"}) {
      if (ContainsNoCase(logo, bad)) {
        return Invalid("branding logo: an SVG with active content (" + std::string(bad) +
                       "); export it as plain SVG or PNG");
      }
    }
    const std::string lower = AsciiLower(logo);
    for (size_t at = lower.find("on"); at != std::string::npos; at = lower.find("on", at + 2)) {
      const bool attr_start = at > 0 && (lower[at - 1] == ' ' || lower[at - 1] == '\t' ||
                                         lower[at - 1] == '\n' || lower[at - 1] == '\r');
      size_t end = at + 2;
      while (end < lower.size() && lower[end] >= 'a' && lower[end] <= 'z') ++end;
      if (attr_start && end > at + 2 && end < lower.size() && lower[end] == '=') {
        return Invalid("branding logo: an SVG with an event attribute (" +
                       lower.substr(at, end - at) + "); export it as plain SVG or PNG");
      }
    }
    return std::string("image/svg+xml");
  }
  return Invalid("branding logo: neither PNG nor SVG");
}

}  // namespace

Result<std::string> NormalizeRuleMatch(const std::string& match, const std::string& where) {
  const std::string trimmed(AsciiTrim(match));
  auto norm = trimmed.find('@') == std::string::npos ? mail::NormalizeDomain(trimmed)
                                                     : mail::NormalizeAddress(trimmed);
  if (trimmed.empty() || !norm.ok()) {
    return Invalid(where + " match \"" + match +
                   R"(": an address ("ceo@partner.example") or a domain ("partner.example"))");
  }
  return std::move(*norm);
}

Result<TenantRule> NormalizeTenantRule(const TenantRule& rule, const std::string& where) {
  TenantRule out;
  SG_ASSIGN_OR_RETURN(out.match, NormalizeRuleMatch(rule.match, where));
  out.action = AsciiLower(AsciiTrim(rule.action));
  if (out.action.empty()) out.action = "force_encrypt";
  if (out.action != "force_encrypt" && out.action != "exempt") {
    return Invalid(where + " action \"" + rule.action + "\": force_encrypt or exempt");
  }
  return out;
}

Result<std::vector<TenantRule>> NormalizeTenantRules(const std::vector<TenantRule>& rules,
                                                     const std::string& what) {
  if (rules.size() > kMaxTenantRules) {
    return Invalid(what + ": " + std::to_string(rules.size()) + " rules; at most " +
                   std::to_string(kMaxTenantRules));
  }
  std::vector<TenantRule> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string where = what + "[" + std::to_string(i) + "]";
    SG_ASSIGN_OR_RETURN(TenantRule r, NormalizeTenantRule(rules[i], where));
    if (!seen.insert(r.match).second) {
      return Invalid(where + ": a second rule for " + r.match +
                     " (one rule per address or domain)");
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<TenantPolicy> NormalizeTenantPolicy(const TenantPolicy& policy,
                                           const std::set<std::string>& ca_labels) {
  TenantPolicy out;
  out.tenant = policy.tenant;
  SG_ASSIGN_OR_RETURN(out.web_encryption, Switch(policy.web_encryption, "web_encryption"));
  SG_ASSIGN_OR_RETURN(out.strip_tags, Switch(policy.strip_tags, "strip_tags"));
  SG_ASSIGN_OR_RETURN(out.obscure_subject, Switch(policy.obscure_subject, "obscure_subject"));
  SG_ASSIGN_OR_RETURN(out.rules, NormalizeTenantRules(policy.rules, "policy rules"));
  for (const auto& t : policy.tags_off) {
    const std::string tag = AsciiLower(AsciiTrim(t));
    if (std::find(kTags.begin(), kTags.end(), tag) == kTags.end()) {
      return Invalid("policy tags_off \"" + t + "\": confidential, noenc, nosign or plain");
    }
    out.tags_off.push_back(tag);
  }
  std::sort(out.tags_off.begin(), out.tags_off.end());
  out.tags_off.erase(std::unique(out.tags_off.begin(), out.tags_off.end()), out.tags_off.end());
  out.ca_backend = AsciiLower(AsciiTrim(policy.ca_backend));
  if (!out.ca_backend.empty() && ca_labels.count(out.ca_backend) == 0) {
    std::string known;
    for (const auto& l : ca_labels) known += (known.empty() ? "" : ", ") + l;
    return Invalid("policy ca_backend \"" + policy.ca_backend + "\": not a configured CA (" +
                   known + "; see `smimegatectl ca export`)");
  }
  return out;
}

Result<TenantBranding> NormalizeTenantBranding(const TenantBranding& b) {
  TenantBranding out = b;
  SG_RETURN_IF_ERROR(CheckText(b.display_name, "display_name"));
  SG_RETURN_IF_ERROR(CheckText(b.sender_name, "sender_name"));
  SG_RETURN_IF_ERROR(CheckText(b.product_name, "product_name"));
  SG_RETURN_IF_ERROR(CheckText(b.support, "support"));
  if (!b.sender_address.empty()) {
    auto addr = mail::NormalizeAddress(AsciiTrim(b.sender_address));
    if (!addr.ok()) {
      return Invalid("branding sender_address \"" + b.sender_address +
                     "\": " + addr.error().message);
    }
    out.sender_address = std::move(*addr);
  }
  if (!b.color.empty()) {
    out.color = AsciiLower(AsciiTrim(b.color));
    bool ok = out.color.size() == 7 && out.color[0] == '#';
    for (size_t i = 1; ok && i < out.color.size(); ++i) {
      const char c = out.color[i];
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (!ok) return Invalid("branding color \"" + b.color + "\": #RRGGBB, e.g. #0a5fb4");
  }
  out.logo_type.clear();
  if (!b.logo.empty()) {
    SG_ASSIGN_OR_RETURN(out.logo_type, LogoType(b.logo));
    const std::string declared = AsciiLower(AsciiTrim(b.logo_type));
    if (!declared.empty() && declared != out.logo_type) {
      return Invalid("branding logo_type \"" + b.logo_type + "\": the logo is " + out.logo_type);
    }
  }
  return out;
}

TenantPolicy PolicyFromStored(const store::StoredTenantPolicy& p, const std::string& tenant) {
  TenantPolicy out;
  out.tenant = tenant;
  out.web_encryption = p.web_encryption();
  for (const auto& r : p.rules()) out.rules.push_back(TenantRule{r.match(), r.action()});
  out.ca_backend = p.ca_backend();
  out.tags_off.assign(p.tags_off().begin(), p.tags_off().end());
  out.strip_tags = p.strip_tags();
  out.obscure_subject = p.obscure_subject();
  return out;
}

store::StoredTenantPolicy PolicyToStored(const TenantPolicy& p) {
  store::StoredTenantPolicy out;
  out.set_web_encryption(p.web_encryption);
  for (const auto& r : p.rules) {
    auto* o = out.add_rules();
    o->set_match(r.match);
    o->set_action(r.action);
  }
  out.set_ca_backend(p.ca_backend);
  for (const auto& t : p.tags_off) out.add_tags_off(t);
  out.set_strip_tags(p.strip_tags);
  out.set_obscure_subject(p.obscure_subject);
  return out;
}

TenantBranding BrandingFromStored(const store::StoredTenantBranding& b, const std::string& tenant) {
  return TenantBranding{tenant,           b.display_name(), b.sender_name(), b.sender_address(),
                        b.product_name(), b.logo(),         b.logo_type(),   b.color(),
                        b.support()};
}

store::StoredTenantBranding BrandingToStored(const TenantBranding& b) {
  store::StoredTenantBranding out;
  out.set_display_name(b.display_name);
  out.set_sender_name(b.sender_name);
  out.set_sender_address(b.sender_address);
  out.set_product_name(b.product_name);
  out.set_logo(b.logo);
  out.set_logo_type(b.logo_type);
  out.set_color(b.color);
  out.set_support(b.support);
  return out;
}

}  // namespace sg::keyservice
