// Prometheus metrics of revocation checking (revocation_checker.h):
//   smimegate_smime_revocation_checks_total{result}   good, revoked, unknown, error (per certificate)
//   smimegate_smime_revocation_cache_hits_total{source}   ocsp, crl
//   smimegate_smime_revocation_soft_failures_total    unknown/error treated as not revoked
// Threading: thread-safe; lives as long as the registry.
#pragma once

#include <array>

#include "common/metrics.h"
#include "workers/smime/revocation.h"

namespace sg::smime {

class RevocationMetrics {
 public:
  explicit RevocationMetrics(metrics::Registry& registry);
  void Checked(RevocationState state) { checks_[static_cast<size_t>(state)]->Inc(); }
  void CacheHit(bool crl) { (crl ? crl_hits_ : ocsp_hits_)->Inc(); }
  void SoftFailure() { soft_failures_->Inc(); }

 private:
  std::array<metrics::Counter*, 4> checks_{};
  metrics::Counter* ocsp_hits_ = nullptr;
  metrics::Counter* crl_hits_ = nullptr;
  metrics::Counter* soft_failures_ = nullptr;
};

}  // namespace sg::smime
