// Where a message's time goes between the stages (issue 21, tail latency):
// the histogram smimegate_stage_latency_seconds{hop}, one series per hop of
// the pipeline, observed by the stage at the end of the hop.
//
//   hop               from                                 to                          observed by
//   inbound_wait      record written to inbound/outbound   picked by a worker          workers
//                     (queue timestamp, before its fsync)
//   deliver_durable   the worker finished the record       its deliver records durable workers
//   deliver_wait      record written to deliver            picked by egress            egress
//   delivery          picked by egress                     the next hop's 2xx/final    egress
//                                                          outcome of its recipients
//
// The hops a stage already measures are not repeated here: end of DATA to
// the durable inbound record is smimegate_ingress_durable_ack_seconds, the
// processing of one record smimegate_worker_process_seconds, acceptance to
// the final outcome smimegate_egress_queue_age_seconds. The *_wait hops
// compare a record's queue timestamp (wall clock, milliseconds: the writer's
// clock in the embedded queue, the producer's CreateTime in Kafka) with the
// observer's wall clock, so across machines they include the clock skew;
// negative differences count as 0.
//
// Ownership: the families live in the registry; several StageLatency objects
// (one per stage in `smimegate run`) share them. Threading: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/metrics.h"

namespace sg::metrics {

class StageLatency {
 public:
  enum class Hop { kInboundWait, kDeliverDurable, kDeliverWait, kDelivery };

  explicit StageLatency(Registry& registry);

  void Observe(Hop hop, double seconds) { Child(hop).Observe(seconds < 0 ? 0 : seconds); }
  // From a record's queue timestamp to `now_ms`, both unix milliseconds.
  void ObserveSinceMs(Hop hop, int64_t since_ms, int64_t now_ms) {
    Observe(hop, static_cast<double>(now_ms - since_ms) / 1000.0);
  }
  // From `since` (steady clock) to now.
  void ObserveSince(Hop hop, std::chrono::steady_clock::time_point since) {
    Observe(hop, std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count());
  }

  // The label value of a hop ("inbound_wait", ...).
  static const char* Name(Hop hop);
  // Bucket bounds: 0.25 ms .. 10 s, finer than LatencyBuckets below 10 ms,
  // where the hops of a message at low load are, and between 20 and 100 ms,
  // where a hop's p99 is read against the 50 ms end-to-end goal (issue 21).
  static std::vector<double> Buckets();

 private:
  Histogram& Child(Hop hop);

  Histogram* inbound_wait_;
  Histogram* deliver_durable_;
  Histogram* deliver_wait_;
  Histogram* delivery_;
};

}  // namespace sg::metrics
