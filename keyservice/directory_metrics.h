// Prometheus metrics of directory sync, per source (docs/operations.md).
//
// Threading: thread-safe (metric updates are atomic).
#pragma once

#include "common/metrics.h"

namespace sg::keyservice {

class DirectoryMetrics {
 public:
  explicit DirectoryMetrics(metrics::Registry& registry);

  // source, outcome: ok | failed | guard | dry_run
  metrics::Family<metrics::Counter>& runs;
  // source, kind: add | update | enable | alias | disable | remove
  metrics::Family<metrics::Counter>& changes;
  // source: runs that failed (source unreachable, a change refused)
  metrics::Family<metrics::Counter>& failures;
  // source
  metrics::Family<metrics::Histogram>& run_seconds;
  // source: 1 while the last run stopped at the mass-removal guard (alert)
  metrics::Family<metrics::Gauge>& guard_tripped;
  // domain, kind: directory (enabled users listed) | participating
  metrics::Family<metrics::Gauge>& domain_users;
  // source: unix seconds of the last run that applied without error
  metrics::Family<metrics::Gauge>& last_success;
};

}  // namespace sg::keyservice
