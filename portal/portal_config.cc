#include "portal/portal_config.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "common/ascii.h"
#include "common/host_name.h"

namespace sg::portal {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  std::filesystem::path p(path);
  if (p.is_absolute() || data_dir.empty()) return p.string();
  return (std::filesystem::path(data_dir) / p).lexically_normal().string();
}

Result<std::string> ExistingFile(const config::ConfigNode& n, const std::string& key,
                                 const std::string& data_dir) {
  SG_ASSIGN_OR_RETURN(std::string raw, n.String(key, std::string()));
  if (raw.empty()) return raw;
  std::string path = Resolve(raw, data_dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || access(path.c_str(), R_OK) != 0) {
    return n.ErrorAt(key, path + " not found or not readable");
  }
  return path;
}

Result<std::string> Color(const config::ConfigNode& n, const std::string& key,
                          const std::string& def) {
  SG_ASSIGN_OR_RETURN(std::string c, n.String(key, def));
  static const std::regex kHex("#[0-9a-fA-F]{6}");
  if (!std::regex_match(c, kHex)) return n.ErrorAt(key, "expected a colour like #1f5fa8, got " + c);
  return c;
}

Result<DomainSettings> ParseDomain(const config::ConfigNode& n, const DomainSettings& def,
                                   const std::string& data_dir) {
  DomainSettings d = def;
  SG_ASSIGN_OR_RETURN(d.retention, n.Duration("retention", def.retention));
  if (d.retention.count() <= 0) return n.ErrorAt("retention", "must be greater than zero");
  SG_ASSIGN_OR_RETURN(d.language, n.Enum("language", {"en", "de"}, def.language));
  SG_ASSIGN_OR_RETURN(d.second_factor, n.Enum("second_factor", {"none", "code"}, def.second_factor));
  SG_ASSIGN_OR_RETURN(d.replies, n.Bool("replies", def.replies));
  SG_ASSIGN_OR_RETURN(d.subject_in_notification,
                      n.Bool("subject_in_notification", def.subject_in_notification));
  SG_ASSIGN_OR_RETURN(d.product_name, n.String("product_name", def.product_name));
  if (d.product_name.empty() || d.product_name.size() > 80) {
    return n.ErrorAt("product_name", "must be 1 to 80 characters");
  }
  if (n.Has("logo")) {
    SG_ASSIGN_OR_RETURN(d.logo_file, ExistingFile(n, "logo", data_dir));
    if (!d.logo_file.ends_with(".png") && !d.logo_file.ends_with(".svg")) {
      return n.ErrorAt("logo", "must be a .png or .svg file");
    }
  }
  SG_ASSIGN_OR_RETURN(d.primary_color, Color(n, "primary_color", def.primary_color));
  SG_ASSIGN_OR_RETURN(d.background_color, Color(n, "background_color", def.background_color));
  SG_ASSIGN_OR_RETURN(d.text_color, Color(n, "text_color", def.text_color));
  if (n.Has("templates")) {
    SG_ASSIGN_OR_RETURN(d.templates_dir, ExistingFile(n, "templates", data_dir));
  }
  return d;
}

Result<std::chrono::milliseconds> Positive(const config::ConfigNode& n, const std::string& key,
                                           std::chrono::milliseconds def) {
  SG_ASSIGN_OR_RETURN(auto v, n.Duration(key, def));
  if (v.count() <= 0) return n.ErrorAt(key, "must be greater than zero");
  return v;
}

Status ParseLimits(const config::ConfigNode& s, PortalConfig& c) {
  SG_ASSIGN_OR_RETURN(c.link_ttl, Positive(s, "link_ttl", c.link_ttl));
  SG_ASSIGN_OR_RETURN(c.reset_link_ttl, Positive(s, "reset_link_ttl", c.reset_link_ttl));
  SG_ASSIGN_OR_RETURN(auto session, s.Map("session"));
  SG_ASSIGN_OR_RETURN(c.session_idle, Positive(session, "idle_timeout", c.session_idle));
  SG_ASSIGN_OR_RETURN(c.session_absolute,
                      Positive(session, "absolute_timeout", c.session_absolute));
  SG_ASSIGN_OR_RETURN(auto login, s.Map("login"));
  SG_ASSIGN_OR_RETURN(int64_t fails, login.Int("max_failures", 20, 1, 1000));
  c.max_login_failures = static_cast<size_t>(fails);
  SG_ASSIGN_OR_RETURN(c.lockout, Positive(login, "lockout", c.lockout));
  SG_ASSIGN_OR_RETURN(int64_t ip_fails, login.Int("max_ip_failures", 100, 1, 1000000));
  c.max_ip_failures = static_cast<size_t>(ip_fails);
  SG_ASSIGN_OR_RETURN(c.ip_window, Positive(login, "ip_window", c.ip_window));
  SG_ASSIGN_OR_RETURN(int64_t min_len, s.Int("min_password_length", 10, 8, 128));
  c.min_password_length = static_cast<size_t>(min_len);
  SG_ASSIGN_OR_RETURN(c.max_reply_bytes, s.Size("max_reply_size", c.max_reply_bytes));
  SG_ASSIGN_OR_RETURN(int64_t replies, s.Int("max_replies_per_hour", 20, 1, 100000));
  c.max_replies_per_hour = static_cast<size_t>(replies);
  SG_ASSIGN_OR_RETURN(c.audit_retention, Positive(s, "audit_retention", c.audit_retention));
  SG_ASSIGN_OR_RETURN(auto branding, s.Map("tenant_branding"));
  TenantBrandingOptions& tb = c.tenant_branding;
  SG_ASSIGN_OR_RETURN(tb.ttl, Positive(branding, "ttl", tb.ttl));
  SG_ASSIGN_OR_RETURN(tb.retry, Positive(branding, "retry", tb.retry));
  SG_ASSIGN_OR_RETURN(int64_t tenants, branding.Int("max_tenants", 1000, 1, 1000000));
  tb.max_tenants = static_cast<size_t>(tenants);
  return OkStatus();
}

}  // namespace

const DomainSettings& PortalConfig::For(const std::string& domain) const {
  for (const auto& d : domains) {
    if (d.domain == domain) return d;
  }
  return defaults;
}

Result<PortalConfig> ParsePortalConfig(const config::ConfigNode& s, const std::string& data_dir,
                                       const std::vector<std::string>& hosted_domains) {
  PortalConfig c;
  SG_ASSIGN_OR_RETURN(c.enabled, s.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(c.address, s.String("address", c.address));
  SG_ASSIGN_OR_RETURN(int64_t port, s.Int("port", 8443, 0, 65535));
  c.port = static_cast<int>(port);
  SG_ASSIGN_OR_RETURN(c.hostname, s.String("hostname", HostName()));
  SG_ASSIGN_OR_RETURN(c.public_url, s.String("public_url", std::string()));
  if (!c.public_url.empty() && !c.public_url.starts_with("https://")) {
    return s.ErrorAt("public_url", "must start with https://");
  }
  while (c.public_url.ends_with("/")) c.public_url.pop_back();
  if (s.Has("tls")) {
    SG_ASSIGN_OR_RETURN(auto t, s.Map("tls"));
    tls::ServerFiles files;
    SG_ASSIGN_OR_RETURN(files.cert_file, ExistingFile(t, "cert", data_dir));
    SG_ASSIGN_OR_RETURN(files.key_file, ExistingFile(t, "key", data_dir));
    if (files.cert_file.empty() || files.key_file.empty()) {
      return s.ErrorAt("tls", "needs both cert and key (or remove it for a self-signed certificate)");
    }
    c.tls = files;
  }
  c.tls_dir = Resolve("portal/tls", data_dir);
  SG_ASSIGN_OR_RETURN(std::string store, s.String("store_path", "portal/store"));
  c.store_path = Resolve(store, data_dir);
  SG_ASSIGN_OR_RETURN(std::string admin, s.String("admin_socket", "run/portal.sock"));
  c.admin_socket = Resolve(admin, data_dir);
  SG_ASSIGN_OR_RETURN(auto admin_listener, s.Map("admin"));
  SG_ASSIGN_OR_RETURN(c.admin, ParseAdminListener(admin_listener, "portal", data_dir));
  SG_ASSIGN_OR_RETURN(std::string kek_file, s.String("kek_file", std::string()));
  c.kek.file = kek_file.empty() ? "" : Resolve(kek_file, data_dir);
  SG_ASSIGN_OR_RETURN(c.kek.create, s.Bool("kek_create", false));
  SG_ASSIGN_OR_RETURN(c.kek.env, s.String("kek_env", c.kek.env));
  SG_ASSIGN_OR_RETURN(int64_t threads, s.Int("threads", c.threads, 2, 1024));
  c.threads = static_cast<int>(threads);
  SG_ASSIGN_OR_RETURN(int64_t per_ip, s.Int("connections_per_ip", 16, 0, 1024));
  c.connections_per_ip = static_cast<size_t>(per_ip);
  SG_ASSIGN_OR_RETURN(auto proxies, s.StringList("trusted_proxies"));
  for (const std::string& text : proxies) {
    auto cidr = Cidr::Parse(text);
    if (!cidr.ok()) return s.ErrorAt("trusted_proxies", cidr.error().message);
    c.trusted_proxies.push_back(*cidr);
  }
  SG_ASSIGN_OR_RETURN(int64_t argon2, s.Int("argon2_concurrency", 0, 0, 1024));
  c.argon2_concurrency = static_cast<size_t>(argon2);
  SG_ASSIGN_OR_RETURN(c.read_timeout, Positive(s, "read_timeout", c.read_timeout));
  if (c.read_timeout < std::chrono::seconds(1) || c.read_timeout > std::chrono::seconds(60)) {
    return s.ErrorAt("read_timeout", "must be between 1s and 60s");
  }
  SG_ASSIGN_OR_RETURN(c.consumer_group, s.String("consumer_group", c.consumer_group));
  SG_ASSIGN_OR_RETURN(int64_t intake_batch, s.Int("intake_batch", c.intake_batch, 1, 1000));
  c.intake_batch = static_cast<int>(intake_batch);
  SG_RETURN_IF_ERROR(ParseLimits(s, c));
  SG_ASSIGN_OR_RETURN(c.notification_from, s.String("notification_from", std::string()));
  SG_ASSIGN_OR_RETURN(auto defaults, s.Map("defaults"));
  SG_ASSIGN_OR_RETURN(c.defaults, ParseDomain(defaults, DomainSettings{}, data_dir));
  SG_ASSIGN_OR_RETURN(auto domains, s.List("domains"));
  for (const auto& n : domains) {
    SG_ASSIGN_OR_RETURN(std::string name, n.String("domain"));
    name = AsciiLower(name);
    if (std::find(hosted_domains.begin(), hosted_domains.end(), name) == hosted_domains.end()) {
      return n.ErrorAt("domain", name + " is not one of hosted_domains");
    }
    SG_ASSIGN_OR_RETURN(DomainSettings d, ParseDomain(n, c.defaults, data_dir));
    d.domain = name;
    c.domains.push_back(std::move(d));
  }
  if (c.public_url.empty()) {
    c.public_url_derived = true;
    c.public_url = "https://" + c.hostname + (c.port == 443 ? "" : ":" + std::to_string(c.port));
  }
  return c;
}

}  // namespace sg::portal
