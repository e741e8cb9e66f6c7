#include "keyservice/keyservice_config.h"

#include <charconv>
#include <filesystem>

#include "common/dns/dns_server_address.h"
#include "common/mail/address.h"
#include "keyservice/ca_factory.h"

namespace sg::keyservice {
namespace {

std::string Resolve(const std::string& path, const std::string& data_dir) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute() || data_dir.empty()) return path;
  return (std::filesystem::path(data_dir) / p).string();
}

const std::vector<std::string>& KeyTypeNames() {
  static const std::vector<std::string> names = {"rsa-2048", "rsa-3072", "rsa-4096",
                                                 "ecdsa-p256", "ecdsa-p384"};
  return names;
}

// host:port with a numeric port; the host may be a bracketed IPv6 address.
bool LooksLikeHostPort(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return std::stoul(s.substr(colon + 1, 6)) <= 65535;
}

Status ResolveCmpPaths(CmpConfig& cmp, const std::string& data_dir) {
  for (std::string* p : {&cmp.secret_file, &cmp.client_cert_file, &cmp.client_key_file,
                         &cmp.server_cert_file, &cmp.issuing_cert_file, &cmp.root_cert_file}) {
    *p = Resolve(*p, data_dir);
  }
  return OkStatus();
}

Status ParseDns(const config::ConfigNode& section, KeyServiceConfig& c) {
  SG_ASSIGN_OR_RETURN(config::ConfigNode dns, section.Map("dns"));
  SG_ASSIGN_OR_RETURN(c.dns.servers, dns::ParseServerList(dns));
  SG_ASSIGN_OR_RETURN(c.dns.timeout, dns.Duration("timeout", c.dns.timeout));
  if (c.dns.timeout < std::chrono::milliseconds(100)) {
    return dns.ErrorAt("timeout", "must be at least 100ms");
  }
  c.dns.config_key = dns.PathOf("servers");

  SG_ASSIGN_OR_RETURN(config::ConfigNode dv, section.Map("domain_validation"));
  auto& v = c.domain_validation;
  SG_ASSIGN_OR_RETURN(v.record_label, dv.String("record_label", v.record_label));
  SG_ASSIGN_OR_RETURN(v.valid_for, dv.Duration("valid_for", v.valid_for));
  SG_ASSIGN_OR_RETURN(v.recheck_after, dv.Duration("recheck_after", v.recheck_after));
  SG_ASSIGN_OR_RETURN(v.retry_initial, dv.Duration("retry_initial", v.retry_initial));
  SG_ASSIGN_OR_RETURN(v.retry_max, dv.Duration("retry_max", v.retry_max));
  SG_ASSIGN_OR_RETURN(v.pending_timeout, dv.Duration("pending_timeout", v.pending_timeout));
  if (v.record_label.empty() || v.record_label.find('.') != std::string::npos) {
    return dv.ErrorAt("record_label", "must be one DNS label (no dots)");
  }
  if (v.recheck_after >= v.valid_for) {
    return dv.ErrorAt("recheck_after", "must be shorter than valid_for (re-check before it ends)");
  }
  if (v.retry_initial < std::chrono::seconds(1)) {
    return dv.ErrorAt("retry_initial", "must be at least 1s");
  }
  if (v.retry_max < v.retry_initial) {
    return dv.ErrorAt("retry_max", "must not be shorter than retry_initial");
  }
  return OkStatus();
}

Status ParseIssuance(const config::ConfigNode& section, IssuanceConfig& c) {
  SG_ASSIGN_OR_RETURN(config::ConfigNode n, section.Map("issuance"));
  SG_ASSIGN_OR_RETURN(int64_t concurrent, n.Int("max_concurrent", c.max_concurrent, 1, 64));
  SG_ASSIGN_OR_RETURN(int64_t queued, n.Int("max_queued", c.max_queued, 1, 1000000));
  c.max_concurrent = static_cast<uint32_t>(concurrent);
  c.max_queued = static_cast<uint32_t>(queued);
  SG_ASSIGN_OR_RETURN(c.answer_within, n.Duration("answer_within", c.answer_within));
  SG_ASSIGN_OR_RETURN(c.retry_after, n.Duration("retry_after", c.retry_after));
  SG_ASSIGN_OR_RETURN(c.remember_refusal, n.Duration("remember_refusal", c.remember_refusal));
  if (c.answer_within.count() < 0 || c.answer_within > std::chrono::seconds(9)) {
    return n.ErrorAt("answer_within",
                     "expected a duration from 0s to 9s (below the workers' 10 s keyservice "
                     "deadline)");
  }
  if (c.retry_after.count() < 0) return n.ErrorAt("retry_after", "must not be negative");
  if (c.remember_refusal.count() < 0) {
    return n.ErrorAt("remember_refusal", "must not be negative");
  }
  return OkStatus();
}

// keyservice.ca.domains: a map of domain -> {backend, cmp}.
Status ParseDomainCas(const config::ConfigNode& ca, const std::string& data_dir, CaConfig& out) {
  if (!ca.Has("domains")) return OkStatus();
  SG_ASSIGN_OR_RETURN(config::ConfigNode domains, ca.Map("domains"));
  for (const auto& name : domains.Keys()) {
    auto normalised = mail::NormalizeDomain(name);
    if (!normalised.ok()) {
      return domains.ErrorAt(name, "not a domain name: " + normalised.error().message);
    }
    for (const auto& seen : out.domains) {
      if (seen.domain == *normalised) return domains.ErrorAt(name, "listed twice");
    }
    SG_ASSIGN_OR_RETURN(config::ConfigNode entry, domains.Map(name));
    DomainCaConfig d;
    d.domain = *normalised;
    SG_ASSIGN_OR_RETURN(d.backend, entry.Enum("backend", CaBackendNames(), std::nullopt));
    if (d.backend == "cmp") {
      SG_ASSIGN_OR_RETURN(config::ConfigNode cmp, entry.Map("cmp"));
      SG_ASSIGN_OR_RETURN(d.cmp, ParseCmpConfig(cmp));
      SG_RETURN_IF_ERROR(ResolveCmpPaths(d.cmp, data_dir));
    }
    out.domains.push_back(std::move(d));
  }
  return OkStatus();
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  return KeyTypeNames()[static_cast<size_t>(type)];
}

Result<KeyType> ParseKeyType(const std::string& name) {
  const auto& names = KeyTypeNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<KeyType>(i);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown key type \"" + name +
                       "\" (expected rsa-2048, rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384)");
}

namespace {

Result<std::string> ParseAddress(const config::ConfigNode& section, const std::string& key,
                                 const std::string& value, const std::string& data_dir) {
  if (value.rfind("unix:", 0) == 0) {
    std::string path = Resolve(value.substr(5), data_dir);
    // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
    if (path.empty() || path.size() > 107) {
      return section.ErrorAt(key, "unix socket path \"" + path +
                                      "\" is empty or longer than 107 bytes (use a shorter data_dir "
                                      "or an absolute path)");
    }
    return "unix:" + path;
  }
  if (!LooksLikeHostPort(value)) {
    return section.ErrorAt(key, "expected unix:PATH or host:port, got \"" + value + "\"");
  }
  return value;
}

Status ParseTls(const config::ConfigNode& section, const std::string& data_dir,
                KeyServiceTlsConfig& t) {
  SG_ASSIGN_OR_RETURN(t.server_name, section.String("server_name", t.server_name));
  SG_ASSIGN_OR_RETURN(t.trust_domain, section.String("trust_domain", t.trust_domain));
  if (t.server_name.empty() || t.trust_domain.empty() ||
      t.trust_domain.find_first_of("/: ") != std::string::npos) {
    return section.ErrorAt("trust_domain", "server_name and trust_domain must be non-empty names");
  }
  SG_ASSIGN_OR_RETURN(std::string cert, section.String("cert_file", ""));
  SG_ASSIGN_OR_RETURN(std::string key, section.String("key_file", ""));
  SG_ASSIGN_OR_RETURN(std::string ca, section.String("client_ca_file", ""));
  t.cert_file = Resolve(cert, data_dir);
  t.key_file = Resolve(key, data_dir);
  t.client_ca_file = Resolve(ca, data_dir);
  int given = !cert.empty() + !key.empty() + !ca.empty();
  if (given != 0 && given != 3) {
    return section.ErrorAt("cert_file",
                           "cert_file, key_file and client_ca_file go together (all three, or none "
                           "for certificates from the internal CA)");
  }
  SG_ASSIGN_OR_RETURN(auto server, section.Duration("server_validity", t.server_validity));
  SG_ASSIGN_OR_RETURN(auto client, section.Duration("client_validity", t.client_validity));
  if (server < std::chrono::hours(24) || client < std::chrono::hours(24)) {
    return section.ErrorAt("server_validity", "certificate validities must be at least 1d");
  }
  t.server_validity = std::chrono::duration_cast<std::chrono::hours>(server);
  t.client_validity = std::chrono::duration_cast<std::chrono::hours>(client);
  return OkStatus();
}

}  // namespace

std::string ClientCredentialsDir(const KeyServiceConfig& config, const std::string& role) {
  if (!config.client_credentials.empty()) return config.client_credentials;
  return Resolve("credentials/" + role, config.data_dir);
}

namespace {

Status ParseAccess(const config::ConfigNode& section, const std::string& data_dir,
                   KeyServiceConfig& c) {
  SG_ASSIGN_OR_RETURN(std::string listen, section.String("listen", c.listen));
  SG_ASSIGN_OR_RETURN(c.listen, ParseAddress(section, "listen", listen, data_dir));
  SG_ASSIGN_OR_RETURN(std::string endpoint, section.String("endpoint", ""));
  if (!endpoint.empty()) {
    SG_ASSIGN_OR_RETURN(c.endpoint, ParseAddress(section, "endpoint", endpoint, data_dir));
  } else {
    c.endpoint = c.listen;
    // A wildcard listener is reached over the loopback on this machine.
    if (c.endpoint.rfind("0.0.0.0:", 0) == 0) c.endpoint = "127.0.0.1" + c.endpoint.substr(7);
    if (c.endpoint.rfind("[::]:", 0) == 0) c.endpoint = "[::1]" + c.endpoint.substr(4);
  }
  SG_ASSIGN_OR_RETURN(config::ConfigNode tls, section.Map("tls"));
  SG_RETURN_IF_ERROR(ParseTls(tls, data_dir, c.tls));
  SG_ASSIGN_OR_RETURN(std::string admin, section.String("admin_credentials", "credentials/admin"));
  c.admin_credentials = Resolve(admin, data_dir);
  SG_ASSIGN_OR_RETURN(std::string client, section.String("client_credentials", ""));
  c.client_credentials = Resolve(client, data_dir);
  return OkStatus();
}

// keyservice.usage: tiers (ascending user counts, default 100, 200, 400, ...
// 51200) and minimum_percent (the 20 % rule, default 20).
Status ParseUsage(const config::ConfigNode& section, UsageRules& rules) {
  SG_ASSIGN_OR_RETURN(config::ConfigNode u, section.Map("usage"));
  SG_ASSIGN_OR_RETURN(auto tiers, u.StringList("tiers"));
  if (!tiers.empty()) {
    rules.tiers.clear();
    for (const auto& t : tiers) {
      uint32_t v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || p != t.data() + t.size() || v == 0 ||
          (!rules.tiers.empty() && v <= rules.tiers.back())) {
        return u.ErrorAt("tiers", "\"" + t + "\": user counts above 0, ascending (100, 200, 400)");
      }
      rules.tiers.push_back(v);
    }
  }
  SG_ASSIGN_OR_RETURN(auto pct, u.Int("minimum_percent", 20, 0, 100));
  rules.minimum_ratio = static_cast<double>(pct) / 100.0;
  return OkStatus();
}

}  // namespace

Result<KeyServiceConfig> ParseKeyServiceConfig(const config::ConfigNode& section,
                                               const std::string& data_dir) {
  KeyServiceConfig c;
  c.data_dir = data_dir;
  SG_RETURN_IF_ERROR(ParseAccess(section, data_dir, c));
  SG_ASSIGN_OR_RETURN(std::string store, section.String("store_path", "keys"));
  c.store_path = Resolve(store, data_dir);

  SG_ASSIGN_OR_RETURN(std::string kek_file, section.String("kek_file", ""));
  c.kek_file = Resolve(kek_file, data_dir);
  SG_ASSIGN_OR_RETURN(c.kek_env, section.String("kek_env", c.kek_env));
  SG_ASSIGN_OR_RETURN(c.kek_create, section.Bool("kek_create", false));
  if (c.kek_create && c.kek_file.empty()) {
    return section.ErrorAt("kek_create", "needs kek_file (where to create the key)");
  }
  SG_ASSIGN_OR_RETURN(c.kek_format, section.Enum("kek_format", {"key", "passphrase"}, "key"));
  if (c.kek_create && c.kek_format != "key") {
    return section.ErrorAt("kek_create", "creates a random key; it cannot go with kek_format: passphrase");
  }
  SG_ASSIGN_OR_RETURN(std::string previous_file, section.String("kek_previous_file", ""));
  c.kek_previous_file = Resolve(previous_file, data_dir);
  SG_ASSIGN_OR_RETURN(c.kek_previous_env, section.String("kek_previous_env", c.kek_previous_env));
  SG_ASSIGN_OR_RETURN(c.kek_previous_format,
                      section.Enum("kek_previous_format", {"key", "passphrase"}, c.kek_format));

  SG_ASSIGN_OR_RETURN(std::string key_type,
                      section.Enum("key_type", KeyTypeNames(), std::string("rsa-2048")));
  SG_ASSIGN_OR_RETURN(c.key_type, ParseKeyType(key_type));

  SG_ASSIGN_OR_RETURN(c.rollover_before, section.Duration("rollover_before", c.rollover_before));
  SG_ASSIGN_OR_RETURN(c.rollover_check_interval,
                      section.Duration("rollover_check_interval", c.rollover_check_interval));
  if (c.rollover_check_interval < std::chrono::seconds(1)) {
    return section.ErrorAt("rollover_check_interval", "must be at least 1s");
  }
  SG_ASSIGN_OR_RETURN(c.system_roots, section.Bool("system_roots", c.system_roots));
  SG_ASSIGN_OR_RETURN(c.system_roots_file,
                      section.String("system_roots_file", c.system_roots_file));
  SG_ASSIGN_OR_RETURN(config::ConfigNode trust, section.Map("trust"));
  SG_ASSIGN_OR_RETURN(c.trust.mozilla_email, trust.Bool("mozilla_email", c.trust.mozilla_email));
  SG_ASSIGN_OR_RETURN(c.trust.mozilla_module, trust.String("mozilla_module", c.trust.mozilla_module));

  SG_ASSIGN_OR_RETURN(config::ConfigNode ca, section.Map("ca"));
  SG_ASSIGN_OR_RETURN(c.ca.backend, ca.Enum("backend", CaBackendNames(), std::string("builtin")));
  SG_ASSIGN_OR_RETURN(c.ca.organization, ca.String("organization", c.ca.organization));
  SG_ASSIGN_OR_RETURN(std::string ca_key,
                      ca.Enum("key_type", KeyTypeNames(), std::string("ecdsa-p384")));
  SG_ASSIGN_OR_RETURN(c.ca.key_type, ParseKeyType(ca_key));
  SG_ASSIGN_OR_RETURN(auto validity,
                      ca.Duration("validity", std::chrono::milliseconds(c.ca.validity)));
  // The S/MIME BRs allow at most 825 days.
  if (validity < std::chrono::hours(24) || validity > std::chrono::hours(24 * 825)) {
    return ca.ErrorAt("validity", "must be between 1d and 825d (S/MIME Baseline Requirements)");
  }
  c.ca.validity = std::chrono::duration_cast<std::chrono::hours>(validity);
  SG_ASSIGN_OR_RETURN(c.ca.crl_url, ca.String("crl_url", ""));
  SG_ASSIGN_OR_RETURN(std::chrono::milliseconds crl_next, ca.Duration("crl_next_update", c.ca.crl_validity));
  if (crl_next < std::chrono::hours(1) || crl_next > std::chrono::hours(24 * 90)) {
    return ca.ErrorAt("crl_next_update", "expected a duration from 1h to 90d");
  }
  c.ca.crl_validity = std::chrono::duration_cast<std::chrono::seconds>(crl_next);
  if (c.ca.backend == "cmp") {
    SG_ASSIGN_OR_RETURN(config::ConfigNode cmp, ca.Map("cmp"));
    SG_ASSIGN_OR_RETURN(c.ca.cmp, ParseCmpConfig(cmp));
    SG_RETURN_IF_ERROR(ResolveCmpPaths(c.ca.cmp, data_dir));
  }
  SG_RETURN_IF_ERROR(ParseDomainCas(ca, data_dir, c.ca));
  SG_RETURN_IF_ERROR(ParseDns(section, c));
  SG_RETURN_IF_ERROR(ParseIssuance(section, c.issuance));
  SG_ASSIGN_OR_RETURN(config::ConfigNode directory, section.Map("directory"));
  SG_ASSIGN_OR_RETURN(c.directory, ParseDirectoryConfig(directory, data_dir));
  SG_RETURN_IF_ERROR(ParseUsage(section, c.usage));
  if (c.rollover_before >= validity) {
    return section.ErrorAt("rollover_before", "must be shorter than ca.validity");
  }
  return c;
}

}  // namespace sg::keyservice
