#include "common/stage_latency.h"

namespace sg::metrics {

StageLatency::StageLatency(Registry& registry) {
  auto& family = registry.AddHistogram(
      "smimegate_stage_latency_seconds",
      "Time a message spends on each hop between the stages: inbound_wait (written to "
      "inbound/outbound to picked by a worker), deliver_durable (processed to its deliver "
      "records durable), deliver_wait (written to deliver to picked by egress), delivery "
      "(picked by egress to its final outcome)",
      {"hop"}, Buckets());
  inbound_wait_ = &family.WithLabels({Name(Hop::kInboundWait)});
  deliver_durable_ = &family.WithLabels({Name(Hop::kDeliverDurable)});
  deliver_wait_ = &family.WithLabels({Name(Hop::kDeliverWait)});
  delivery_ = &family.WithLabels({Name(Hop::kDelivery)});
}

const char* StageLatency::Name(Hop hop) {
  switch (hop) {
    case Hop::kInboundWait:
      return "inbound_wait";
    case Hop::kDeliverDurable:
      return "deliver_durable";
    case Hop::kDeliverWait:
      return "deliver_wait";
    case Hop::kDelivery:
      return "delivery";
  }
  return "unknown";
}

std::vector<double> StageLatency::Buckets() {
  return {0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.04,
          0.05,    0.075,  0.1,   0.2,   0.5,   1,    2.5,  10};
}

Histogram& StageLatency::Child(Hop hop) {
  switch (hop) {
    case Hop::kInboundWait:
      return *inbound_wait_;
    case Hop::kDeliverDurable:
      return *deliver_durable_;
    case Hop::kDeliverWait:
      return *deliver_wait_;
    case Hop::kDelivery:
      return *delivery_;
  }
  return *delivery_;
}

}  // namespace sg::metrics
