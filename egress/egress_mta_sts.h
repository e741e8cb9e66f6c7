// MTA-STS (RFC 8461) for MX delivery: which policy is in force for a
// recipient domain right now.
//
// PolicyFor(domain) looks up the `_mta-sts.<domain>` TXT record (egress
// resolver), and:
//   - TXT id equal to the cached policy's id and the policy not expired
//     (max_age): the cached policy;
//   - otherwise (new id, expired policy, nothing cached) and a TXT record
//     exists: fetches the policy file (StsFetcher); a valid one replaces the
//     cached policy (memory and cache_path); a failed fetch or an invalid
//     file keeps the cached policy while it has not expired (RFC 8461 5.1);
//   - no TXT record (or DNS failing): the cached policy while it has not
//     expired, else none.
// A policy of mode none is "no policy" for delivery. One fetch per domain
// at a time; look-ups meanwhile wait for it.
//
// StsLookup::failure names the TLS-RPT (RFC 8460) failure type of the
// look-up (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid)
// for the metrics; the delivery goes on with whatever policy is in force.
//
// Threading: loop thread only; callbacks on the loop thread. Ownership:
// the resolver, fetcher, cache, clock and metrics outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "egress/egress_dns.h"
#include "egress/egress_metrics.h"
#include "egress/egress_mta_sts_cache.h"
#include "egress/egress_mta_sts_fetch.h"

namespace sg::egress {

struct StsLookup {
  std::shared_ptr<const StsPolicy> policy;  // null: no policy in force
  std::string failure;                      // "" or the TLS-RPT failure type
};

class MtaSts {
 public:
  MtaSts(Resolver& resolver, StsFetcher& fetcher, StsCache& cache, const Clock& clock,
         EgressMetrics& metrics);

  void PolicyFor(const std::string& domain, std::function<void(StsLookup)> done);

 private:
  void OnTxt(const std::string& domain, Result<std::vector<std::string>> txt);
  void OnFetched(const std::string& domain, const std::string& id, Result<std::string> body);
  // The cached policy if not expired (else none), with `failure`.
  StsLookup FromCache(const std::string& domain, std::string failure) const;
  void Finish(const std::string& domain, const StsLookup& lookup);

  Resolver& resolver_;
  StsFetcher& fetcher_;
  StsCache& cache_;
  const Clock& clock_;
  EgressMetrics& metrics_;
  std::map<std::string, std::vector<std::function<void(StsLookup)>>> waiting_;  // by domain
};

}  // namespace sg::egress
