// Blocking lookups for callers without an event loop (the keyservice's
// domain validation TXT lookups, the certificate discovery pool's SMIMEA
// lookups): the shared c-ares resolver (dns_resolver.h) run on a private
// libuv loop per lookup, so no caller needs a second resolver.
//
// Threading: may be called from several threads at once; each call blocks
// its caller for at most about two `options.timeout`s (c-ares tries twice).
// Errors: those of the CaresResolver call; kUnavailable when no event loop
// can be made (naming options.config_key).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dns/dns_resolver.h"
#include "common/result.h"

namespace sg::dns {

// CaresResolver::ResolveAuthenticated, blocking.
Result<AuthenticatedAnswer> ResolveAuthenticatedBlocking(const ResolverOptions& options,
                                                         const std::string& name, uint16_t qtype);

// CaresResolver::ResolveTxt, blocking: kNotFound for NXDOMAIN, an empty list
// for a name without TXT records.
Result<std::vector<std::string>> ResolveTxtBlocking(const ResolverOptions& options,
                                                    const std::string& name);

}  // namespace sg::dns
