#include "workers/smime/revocation_metrics.h"

#include <string>

namespace sg::smime {

RevocationMetrics::RevocationMetrics(metrics::Registry& registry) {
  auto& checks = registry.AddCounter("smimegate_smime_revocation_checks_total",
                                     "Revocation checks of partner certificates by result",
                                     {"result"});
  for (size_t s = 0; s < checks_.size(); ++s) {
    checks_[s] = &checks.WithLabels(
        {std::string(RevocationStateName(static_cast<RevocationState>(s)))});
  }
  auto& hits = registry.AddCounter("smimegate_smime_revocation_cache_hits_total",
                                   "Revocation answers served from the cache", {"source"});
  ocsp_hits_ = &hits.WithLabels({"ocsp"});
  crl_hits_ = &hits.WithLabels({"crl"});
  soft_failures_ = &registry
                        .AddCounter("smimegate_smime_revocation_soft_failures_total",
                                    "Unanswered revocation checks treated as not revoked", {})
                        .WithLabels({});
}

}  // namespace sg::smime
