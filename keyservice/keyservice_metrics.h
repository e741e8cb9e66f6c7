// Prometheus metrics of the keyservice.
//
// Threading: thread-safe (metric updates are atomic).
#pragma once

#include "common/metrics.h"

namespace sg::keyservice {

class KeyServiceMetrics {
 public:
  explicit KeyServiceMetrics(metrics::Registry& registry);

  // reason: first_use | rollover | admin
  metrics::Family<metrics::Counter>& certificates_issued;
  // outcome: stored | unchanged | pending | rejected
  metrics::Family<metrics::Counter>& harvested;
  metrics::Counter& keys_imported;
  metrics::Counter& rollover_runs;
  // method, code
  metrics::Family<metrics::Counter>& errors;
  // The CA refused or did not answer a request for a new key. reason:
  // first_use | rollover | admin; code: unavailable (retried) | permission_denied | ...
  metrics::Family<metrics::Counter>& ca_failures;
  metrics::Histogram& issue_seconds;
  // Hosted domains whose CA backend is public and that have no valid domain
  // validation (alert when > 0), and the certificate requests refused for it.
  metrics::Gauge& unvalidated_domains;
  metrics::Counter& refused_unvalidated;
};

}  // namespace sg::keyservice
