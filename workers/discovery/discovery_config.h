// Configuration of certificate discovery: section `workers.discovery`
// (docs/configuration.md, docs/discovery.md). Off by default.
//
//   enabled        false
//   smimea         true: SMIMEA records (RFC 8162) from dns.servers
//   ldap           []: partner LDAP directories (discovery_ldap_config.h)
//   order          [smimea, ldap]: which kind is asked first
//   dns.servers    the validating resolvers whose AD bit is trusted (e.g.
//                  unbound on 127.0.0.1); required with smimea
//   dns.timeout    5s per try (c-ares tries twice)
//   max_wait       15s: how long a message waits for a lookup
//   retry          1s: how long it is set aside between looks
//   found_ttl 1h, not_found_ttl 1h, error_ttl 5m: the cache
//   threads 2, queue_limit 1000, cache_entries 100000
//
// Threading: plain values. Errors name the key and the fix.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/dns/dns_resolver.h"
#include "common/result.h"
#include "workers/discovery/certificate_discovery.h"
#include "workers/discovery/discovery_ldap_config.h"

namespace sg::workers {

struct DiscoveryConfig {
  bool enabled = false;
  bool smimea = true;
  dns::ResolverOptions dns;  // trust_ad set: these servers validate
  std::vector<LdapDirectoryConfig> ldap;
  std::vector<std::string> order = {"smimea", "ldap"};  // each kind once
  DiscoveryOptions options;
};

Result<DiscoveryConfig> ParseDiscoveryConfig(const config::ConfigNode& section);

// The sources `c` names, in its order: SMIMEA (when on) and one source per
// LDAP directory, in their list order.
std::vector<std::unique_ptr<CertificateSource>> BuildDiscoverySources(const DiscoveryConfig& c);

}  // namespace sg::workers
