// SMIMEA discovery (RFC 8162): the records at
// <sha256(local-part)[:28] hex>._smimecert.<domain>, asked of the configured
// validating resolver (workers.discovery.dns.servers, e.g. unbound on
// 127.0.0.1) and used only when the answer is DNSSEC-validated (its AD bit,
// trusted only from those servers: common/dns/dns_resolver.h).
//
// The local-part is hashed as the sender wrote it (RFC 8162 section 3: no
// case mapping); when that name has no record and the local-part has upper
// case ASCII letters, the lower-cased form is asked too (what a domain that
// treats local-parts case-insensitively is likely to publish; the gateway
// hashed only that form before). An error or timeout ends the lookup.
//
// Candidates: records of usage 3 (DANE-EE) or 1 (PKIX-EE) that hold the
// whole certificate (selector 0, matching type 0). A digest-only record can
// only confirm a certificate found elsewhere, and trust-anchor usages (0, 2)
// name no recipient certificate: both are "no_certificate". Either usage
// then still has to pass the harvest check (a chain to a trusted root).
//
// Threading: Find may run on several threads at once (a private event loop
// per lookup).
#pragma once

#include <utility>

#include "common/dns/dns_resolver.h"
#include "workers/discovery/discovery_source.h"

namespace sg::workers {

class SmimeaSource final : public CertificateSource {
 public:
  // `options.trust_ad` must be set (the configured servers validate).
  explicit SmimeaSource(dns::ResolverOptions options) : options_(std::move(options)) {}
  std::string_view Name() const override { return "smimea"; }
  SourceAnswer Find(const std::string& address) override;

 private:
  dns::ResolverOptions options_;
};

}  // namespace sg::workers
