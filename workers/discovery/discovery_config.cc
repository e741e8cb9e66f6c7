#include "workers/discovery/discovery_config.h"

#include <algorithm>

#include "common/dns/dns_server_address.h"
#include "workers/discovery/discovery_ldap.h"
#include "workers/discovery/discovery_smimea.h"

namespace sg::workers {
namespace {

Status ParseDns(const config::ConfigNode& section, DiscoveryConfig& c) {
  SG_ASSIGN_OR_RETURN(config::ConfigNode dns, section.Map("dns"));
  SG_ASSIGN_OR_RETURN(c.dns.servers, dns::ParseServerList(dns));
  SG_ASSIGN_OR_RETURN(c.dns.timeout, dns.Duration("timeout", std::chrono::seconds(5)));
  if (c.dns.timeout < std::chrono::milliseconds(100)) {
    return dns.ErrorAt("timeout", "must be at least 100ms");
  }
  c.dns.config_key = dns.PathOf("servers");
  c.dns.trust_ad = true;
  if (c.enabled && c.smimea && c.dns.servers.empty()) {
    return dns.ErrorAt("servers",
                       "SMIMEA discovery needs the validating resolver whose AD bit it may "
                       "trust, e.g. [\"127.0.0.1\"] with unbound running locally (resolv.conf's "
                       "servers are never trusted); or set workers.discovery.smimea: false");
  }
  return OkStatus();
}

Status ParseSources(const config::ConfigNode& section, DiscoveryConfig& c) {
  SG_ASSIGN_OR_RETURN(auto directories, section.List("ldap"));
  for (const auto& node : directories) {
    SG_ASSIGN_OR_RETURN(auto directory, ParseLdapDirectory(node));
    c.ldap.push_back(std::move(directory));
  }
  SG_ASSIGN_OR_RETURN(auto order, section.StringList("order"));
  if (!order.empty()) c.order = std::move(order);
  std::vector<std::string> seen;
  for (const auto& kind : c.order) {
    if (kind != "smimea" && kind != "ldap") {
      return section.ErrorAt("order", "unknown source \"" + kind + "\" (smimea, ldap)");
    }
    if (std::find(seen.begin(), seen.end(), kind) != seen.end()) {
      return section.ErrorAt("order", "lists " + kind + " twice");
    }
    seen.push_back(kind);
  }
  if (c.order.size() != 2) {
    return section.ErrorAt("order", "must list both sources, e.g. [ldap, smimea]");
  }
  if (c.enabled && !c.smimea && c.ldap.empty()) {
    return section.ErrorAt("smimea",
                           "discovery is enabled but has no source; fix: smimea: true, a "
                           "partner directory under ldap:, or enabled: false");
  }
  return OkStatus();
}

}  // namespace

Result<DiscoveryConfig> ParseDiscoveryConfig(const config::ConfigNode& section) {
  DiscoveryConfig c;
  DiscoveryOptions& o = c.options;
  SG_ASSIGN_OR_RETURN(c.enabled, section.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(c.smimea, section.Bool("smimea", true));
  SG_RETURN_IF_ERROR(ParseDns(section, c));
  SG_RETURN_IF_ERROR(ParseSources(section, c));
  SG_ASSIGN_OR_RETURN(o.max_wait, section.Duration("max_wait", o.max_wait));
  SG_ASSIGN_OR_RETURN(o.retry, section.Duration("retry", o.retry));
  if (o.retry < std::chrono::milliseconds(100)) {
    return section.ErrorAt("retry", "must be at least 100ms");
  }
  SG_ASSIGN_OR_RETURN(o.found_ttl, section.Duration("found_ttl", o.found_ttl));
  SG_ASSIGN_OR_RETURN(o.not_found_ttl, section.Duration("not_found_ttl", o.not_found_ttl));
  SG_ASSIGN_OR_RETURN(o.error_ttl, section.Duration("error_ttl", o.error_ttl));
  SG_ASSIGN_OR_RETURN(int64_t threads, section.Int("threads", o.threads, 1, 64));
  o.threads = static_cast<int>(threads);
  SG_ASSIGN_OR_RETURN(int64_t queue_limit,
                      section.Int("queue_limit", static_cast<int64_t>(o.queue_limit), 1, 1000000));
  o.queue_limit = static_cast<size_t>(queue_limit);
  SG_ASSIGN_OR_RETURN(
      int64_t entries,
      section.Int("cache_entries", static_cast<int64_t>(o.cache_entries), 1, 10000000));
  o.cache_entries = static_cast<size_t>(entries);
  return c;
}

std::vector<std::unique_ptr<CertificateSource>> BuildDiscoverySources(const DiscoveryConfig& c) {
  std::vector<std::unique_ptr<CertificateSource>> sources;
  for (const auto& kind : c.order) {
    if (kind == "smimea" && c.smimea) sources.push_back(std::make_unique<SmimeaSource>(c.dns));
    if (kind != "ldap") continue;
    for (const auto& directory : c.ldap) {
      sources.push_back(std::make_unique<LdapDirectorySource>(directory));
    }
  }
  return sources;
}

}  // namespace sg::workers
