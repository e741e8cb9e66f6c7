// Blocking authenticated lookups for callers without an event loop (the
// certificate discovery pool): CaresResolver::ResolveAuthenticated run on a
// private libuv loop per lookup, as keyservice/dns_txt.h does for TXT.
//
// Threading: may be called from several threads at once; each call blocks
// its caller for at most about two `options.timeout`s (c-ares tries twice).
// Errors: those of ResolveAuthenticated.
#pragma once

#include <cstdint>
#include <string>

#include "common/dns/dns_resolver.h"
#include "common/result.h"

namespace sg::dns {

Result<AuthenticatedAnswer> ResolveAuthenticatedBlocking(const ResolverOptions& options,
                                                         const std::string& name, uint16_t qtype);

}  // namespace sg::dns
