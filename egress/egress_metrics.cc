#include "egress/egress_metrics.h"

namespace sg::egress {

EgressMetrics::EgressMetrics(metrics::Registry& registry)
    : deliveries_(registry.AddCounter("smimegate_egress_deliveries_total",
                                      "Recipient deliveries by outcome and route",
                                      {"outcome", "route"})),
      retries_(registry.AddCounter("smimegate_egress_retries_scheduled_total",
                                   "Records produced to the retry topic", {"route"})),
      dsn_(registry.AddCounter("smimegate_egress_dsn_total", "Delivery status notifications produced")),
      refused_(registry.AddCounter("smimegate_egress_refused_total",
                                   "Messages or recipients egress would not send, by reason",
                                   {"reason"})),
      queue_age_(registry.AddHistogram(
          "smimegate_egress_queue_age_seconds", "Time from acceptance by ingress to the final outcome", {},
          {0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 14400, 86400, 432000})),
      connections_(registry.AddCounter("smimegate_egress_connections_total", "SMTP sessions opened",
                                       {"route", "tls"})),
      connection_failures_(registry.AddCounter("smimegate_egress_connection_failures_total",
                                               "SMTP hosts that could not be used", {"route"})),
      reuse_(registry.AddCounter("smimegate_egress_connection_reuse_total",
                                 "Transactions sent on an already used SMTP session", {"route"})),
      inflight_(registry.AddGauge("smimegate_egress_inflight_records", "Records being delivered")),
      scheduled_(registry.AddGauge("smimegate_egress_scheduled_retries",
                                   "Retry records waiting for their due time")),
      undrained_(registry.AddCounter(
          "smimegate_egress_rebalance_undrained_total",
          "Records still being delivered when a rebalance moved their partition after "
          "egress.rebalance_drain_timeout (the new owner may deliver them again)")),
      body_refs_(registry.AddCounter("smimegate_egress_body_refs_total",
                                     "Deliver records that referred to the body of their source "
                                     "record, by result (resolved, unresolved, deferred: the queue "
                                     "was unreachable, read again later)",
                                     {"result"})),
      tls_sessions_(registry.AddCounter(
          "smimegate_egress_tls_sessions_total",
          "TLS-RPT (RFC 8460) counts of MX sessions, by policy type (sts, tlsa, no-policy-found) "
          "and result (success or the failure type)",
          {"policy_type", "result"})),
      sts_policies_(registry.AddCounter(
          "smimegate_egress_mta_sts_policies_total",
          "MTA-STS policy look-ups, by result (fetched, cached, none, mode_none, fetch_error, "
          "invalid)",
          {"result"})) {}

}  // namespace sg::egress
