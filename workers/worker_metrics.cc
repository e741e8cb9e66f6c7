#include "workers/worker_metrics.h"

namespace sg::workers {

WorkerMetrics::WorkerMetrics(metrics::Registry& r)
    : processed(r.AddCounter("smimegate_worker_records_total",
                             "Records taken off the inbound and outbound topics and finished",
                             {"result"})
                    .WithLabels({"processed"})),
      outputs(r.AddCounter("smimegate_worker_outputs_total",
                           "Delivery records published to the deliver topic")
                  .Get()),
      retried(r.AddCounter("smimegate_worker_records_total",
                           "Records taken off the inbound and outbound topics and finished",
                           {"result"})
                  .WithLabels({"retried"})),
      dead_lettered(r.AddCounter("smimegate_worker_records_total",
                                 "Records taken off the inbound and outbound topics and finished",
                                 {"result"})
                        .WithLabels({"dead_lettered"})),
      waiting(r.AddCounter("smimegate_worker_records_total",
                           "Records taken off the inbound and outbound topics and finished",
                           {"result"})
                  .WithLabels({"waiting_for_dependency"})),
      set_aside(r.AddCounter("smimegate_worker_records_total",
                             "Records taken off the inbound and outbound topics and finished",
                             {"result"})
                    .WithLabels({"set_aside"})),
      bodies_shared(r.AddCounter("smimegate_worker_bodies_shared_total",
                                 "Deliver records that refer to the body of the record they came "
                                 "from instead of a copy (workers.share_bodies)")
                        .Get()),
      body_sharing(r.AddGauge("smimegate_worker_body_sharing",
                              "1 when deliver records may refer to the bodies of this source "
                              "topic, 0 when they are copied (its Kafka retention is unknown or "
                              "shorter than queue.kafka.share_min_retention)",
                              {"topic"})),
      process_seconds(r.AddHistogram("smimegate_worker_process_seconds",
                                     "Time to process one record", {},
                                     metrics::LatencyBuckets())
                          .Get()),
      lag(r.AddGauge("smimegate_queue_consumer_lag_records",
                     "Records produced but not yet committed, on the partitions this process owns",
                     {"group", "topic", "partition"})) {}

}  // namespace sg::workers
