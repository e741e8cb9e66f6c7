// Prometheus metrics of the worker-side key cache (CachingKeyService).
//
// Threading: thread-safe (metric updates are atomic).
#pragma once

#include "common/metrics.h"

namespace sg::keyservice {

class KeyCacheMetrics {
 public:
  explicit KeyCacheMetrics(metrics::Registry& registry);

  metrics::Counter& hits_memory;
  metrics::Counter& hits_disk;  // first hit of an entry persisted by an earlier run
  metrics::Counter& misses;     // asked the keyservice
  // Expired public entries served because the keyservice was unavailable.
  metrics::Counter& stale_served;
  // The keyservice said reset (restarted, or we fell behind): cache dropped.
  metrics::Counter& resets;
  metrics::Gauge& entries_memory;  // addresses (and anchors) held in memory
  metrics::Gauge& entries_disk;    // RocksDB's estimate of persisted entries
};

}  // namespace sg::keyservice
