#include "keyservice/tenant_routing.h"

#include <charconv>

#include "common/ascii.h"
#include "common/cidr.h"

namespace sg::keyservice {
namespace {

constexpr size_t kMaxRouteHosts = 10;

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool ValidPort(std::string_view text) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() && v >= 1 && v <= 65535;
}

bool ValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

// "host", "host:25", "[::1]:25", "::1": the host name or IP literal and
// port syntax egress's ParseHostPort accepts.
Status CheckHost(const std::string& text) {
  auto bad = [&](const char* why) {
    std::string m = "route host \"";
    m.append(text).append("\": ").append(why).append(
        R"x( ("mail.example.org", "mail.example.org:2525", "[2001:db8::1]:25"))x");
    return Invalid(std::move(m));
  };
  if (text.empty()) return bad("empty");
  if (text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    if (!IsIpAddress(std::string_view(text).substr(1, close - 1))) return bad("not an IP address");
    if (close + 1 == text.size()) return OkStatus();
    if (text[close + 1] != ':' || !ValidPort(std::string_view(text).substr(close + 2))) {
      return bad("port must be a number from 1 to 65535");
    }
    return OkStatus();
  }
  const size_t colon = text.find(':');
  if (colon != std::string::npos && text.find(':', colon + 1) != std::string::npos) {
    return IsIpAddress(text) ? OkStatus() : bad("not an IP address");  // a bare IPv6 literal
  }
  const std::string_view host = std::string_view(text).substr(0, colon);
  if (!ValidHostName(host) && !IsIpAddress(host)) return bad("not a host name or IP address");
  if (colon != std::string::npos && !ValidPort(std::string_view(text).substr(colon + 1))) {
    return bad("port must be a number from 1 to 65535");
  }
  return OkStatus();
}

bool HasControl(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

Result<TenantRoute> NormalizeTenantRoute(const TenantRoute& route) {
  TenantRoute out;
  out.tenant = route.tenant;
  if (route.hosts.empty()) return Invalid("a route needs at least one host");
  if (route.hosts.size() > kMaxRouteHosts) {
    return Invalid("a route has at most " + std::to_string(kMaxRouteHosts) + " hosts");
  }
  for (const auto& h : route.hosts) {
    std::string host = AsciiLower(AsciiTrim(h));
    SG_RETURN_IF_ERROR(CheckHost(host));
    out.hosts.push_back(std::move(host));
  }
  out.tls = route.tls.empty() ? "opportunistic" : AsciiLower(AsciiTrim(route.tls));
  if (out.tls != "none" && out.tls != "opportunistic" && out.tls != "required" &&
      out.tls != "verify") {
    std::string m = "route TLS policy \"";
    m.append(route.tls).append("\": none, opportunistic, required or verify");
    return Invalid(std::move(m));
  }
  return out;
}

Result<TenantBinding> NormalizeTenantBinding(const TenantBinding& binding) {
  TenantBinding out;
  out.tenant = binding.tenant;
  out.kind = AsciiLower(AsciiTrim(binding.kind));
  out.value = std::string(AsciiTrim(binding.value));
  auto bad = [&](const char* why) {
    std::string m = out.kind;
    m.append(" \"").append(binding.value).append("\": ").append(why);
    return Invalid(std::move(m));
  };
  if (out.kind == "user") {
    if (out.value.empty() || out.value.size() > 256 || HasControl(out.value) ||
        out.value.find(' ') != std::string::npos) {
      return bad("an SMTP AUTH user name is 1 to 256 printable characters without spaces");
    }
    return out;
  }
  if (out.kind == "certificate") {
    if (out.value.empty() || out.value.size() > 1024 || HasControl(out.value)) {
      return bad("a certificate subject is 1 to 1024 characters without control characters");
    }
    return out;
  }
  if (out.kind == "network") {
    if (!Cidr::Parse(out.value).ok()) return bad(R"x(not a network ("10.1.0.0/16", "2001:db8::/48"))x");
    return out;
  }
  std::string m = "binding kind \"";
  m.append(binding.kind).append("\": user, certificate or network");
  return Invalid(std::move(m));
}

}  // namespace sg::keyservice
