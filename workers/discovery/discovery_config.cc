#include "workers/discovery/discovery_config.h"

#include "common/dns/dns_server_address.h"

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

}  // namespace

Result<DiscoveryConfig> ParseDiscoveryConfig(const config::ConfigNode& section) {
  DiscoveryConfig c;
  DiscoveryOptions& o = c.options;
  SG_ASSIGN_OR_RETURN(c.enabled, section.Bool("enabled", false));
  SG_ASSIGN_OR_RETURN(c.smimea, section.Bool("smimea", true));
  SG_RETURN_IF_ERROR(ParseDns(section, c));
  if (c.enabled && !c.smimea) {
    return section.ErrorAt("smimea",
                           "discovery is enabled but has no source; fix: smimea: true, or "
                           "enabled: false");
  }
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

}  // namespace sg::workers
