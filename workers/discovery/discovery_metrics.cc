#include "workers/discovery/discovery_metrics.h"

namespace sg::workers {

DiscoveryMetrics::DiscoveryMetrics(metrics::Registry& registry)
    : lookups_(registry.AddCounter(
          "smimegate_discovery_lookups_total",
          "Certificate discovery lookups, by source and result (only validated SMIMEA answers "
          "and certificates passing the harvest check count as found).",
          {"source", "result"})),
      recipients_(registry.AddCounter(
          "smimegate_discovery_recipients_total",
          "Outbound recipients without a known certificate that went through discovery, by "
          "outcome.",
          {"outcome"})) {}

}  // namespace sg::workers
