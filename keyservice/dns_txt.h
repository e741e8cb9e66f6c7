// TxtResolver: blocking TXT lookups for domain validation
// (keyservice/domain_validation.h).
//
// CaresTxtResolver runs the shared c-ares resolver (common/dns/dns_resolver.h)
// on a private libuv loop per lookup, so the keyservice (which has no event
// loop) needs no second resolver. Servers: keyservice.dns.servers (empty:
// /etc/resolv.conf), so tests point it at a local DNS server.
//
// Errors: kNotFound for NXDOMAIN (the name does not exist); kUnavailable or
// kTimeout when DNS could not answer (transient). A name without TXT
// records gives an empty list.
//
// Threading: Lookup may be called from several threads at once; each call
// blocks its caller for at most about two DNS timeouts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/dns/dns_resolver.h"
#include "common/result.h"

namespace sg::keyservice {

class TxtResolver {
 public:
  virtual ~TxtResolver() = default;
  virtual Result<std::vector<std::string>> Lookup(const std::string& name) = 0;
};

class CaresTxtResolver final : public TxtResolver {
 public:
  explicit CaresTxtResolver(dns::ResolverOptions options) : options_(std::move(options)) {}
  Result<std::vector<std::string>> Lookup(const std::string& name) override;

 private:
  dns::ResolverOptions options_;
};

}  // namespace sg::keyservice
