// TxtResolver: blocking TXT lookups for domain validation
// (keyservice/domain_validation.h).
//
// CaresTxtResolver is dns::ResolveTxtBlocking (common/dns/dns_blocking.h):
// the shared c-ares resolver on a private libuv loop per lookup, since the
// keyservice has no event loop. Servers: keyservice.dns.servers (empty:
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
