// Metrics of the worker consumer loop.
#pragma once

#include "common/metrics.h"

namespace sg::workers {

class WorkerMetrics {
 public:
  explicit WorkerMetrics(metrics::Registry& registry);

  metrics::Counter& processed;     // records taken off inbound/outbound and finished
  metrics::Counter& outputs;       // records published to deliver
  metrics::Counter& retried;       // transient failures, to be tried again
  metrics::Counter& dead_lettered; // given up, kept with a reason
  metrics::Counter& waiting;       // stopped because a dependency is down
  metrics::Counter& set_aside;     // put back until later (the CA: workers.ca_wait)
  metrics::Counter& bodies_shared; // deliver records that refer to their source's body
  // Per source topic: 1 when its bodies may be referred to, 0 when copied
  // (workers.share_bodies off, or the Kafka topic's retention not long enough).
  metrics::Family<metrics::Gauge>& body_sharing;
  metrics::Histogram& process_seconds;
  // Records waiting per topic and partition (what an autoscaler such as
  // KEDA scales the workers on).
  metrics::Family<metrics::Gauge>& lag;
};

}  // namespace sg::workers
