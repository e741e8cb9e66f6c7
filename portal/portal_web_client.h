// Which client a portal request comes from (docs/portal.md "Behind a
// reverse proxy", review R2). Every per-client rule uses this address: the
// login limiter's per-IP count, the audit records and the per-IP connection
// limit (ConnectionPool::Admit).
//
//   - The TCP peer is not in portal.trusted_proxies (the default: the list
//     is empty): the client is the peer. X-Forwarded-For is ignored, so a
//     client cannot choose the address it is counted under.
//   - The peer is a trusted proxy: the client is the RIGHT-MOST entry of
//     X-Forwarded-For (the last header when there are several), i.e. the
//     address the proxy itself saw. One proxy hop only: entries further
//     left were written by the client and are never read. The proxy should
//     overwrite the header ($remote_addr in nginx), not append to it.
//   - The peer is a trusted proxy and sends no X-Forwarded-For: the proxy
//     itself is the client (its health checks).
//   - The peer is a trusted proxy and the right-most entry is not a numeric
//     IP address: kMalformed (the request is refused with 400; a proxy that
//     sends this is misconfigured, and counting it under the proxy's own
//     address would put every client behind it under one key).
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.h"

namespace sg::portal {

struct Client {
  enum class Source { kPeer, kForwarded, kMalformed };
  std::string ip;  // the peer's address for kMalformed
  Source source = Source::kPeer;
};

// `forwarded_for`: every X-Forwarded-For header of the request, in order.
Client ResolveClient(std::string_view peer, const std::vector<std::string>& forwarded_for,
                     const std::vector<Cidr>& trusted_proxies);

}  // namespace sg::portal
