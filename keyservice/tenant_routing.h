// The syntax of per-tenant inbound routes and relay-client bindings
// (docs/tenants.md "Inbound routes", "Relay clients"): what the keyservice
// accepts before storing one. Only syntax; whether the tenant exists and a
// client is bound once is checked by KeyServiceImpl (tenant_routing_service.cc).
//
// Threading: pure functions.
#pragma once

#include "common/result.h"
#include "keyservice/key_service.h"

namespace sg::keyservice {

// Hosts: 1 to 10 of "host", "host:port", "[v6]:port" (a name or IP literal,
// port 1-65535); tls: none | opportunistic | required | verify (lower-cased;
// empty = opportunistic). kInvalidArgument naming the entry otherwise.
Result<TenantRoute> NormalizeTenantRoute(const TenantRoute& route);

// kind user: an SMTP AUTH user name (1-256 printable characters, no space);
// certificate: a client certificate subject as OpenSSL prints it (1-1024
// characters, no control characters); network: a CIDR ("10.1.0.0/16",
// "2001:db8::/48", an address alone = one host), stored as written after
// trimming. kInvalidArgument naming the value otherwise.
Result<TenantBinding> NormalizeTenantBinding(const TenantBinding& binding);

}  // namespace sg::keyservice
