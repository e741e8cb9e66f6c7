// Prometheus metrics of egress.
//
//   egress_deliveries_total{outcome,route}  outcome: delivered | deferred | bounced |
//                                           deadlettered | duplicate
//   egress_retries_scheduled_total{route}   records produced to the retry topic
//   egress_dsn_total                        DSNs produced
//   egress_refused_total{reason}            messages/recipients egress would not send:
//                                           bare_line_ending (per message),
//                                           destination_<class> (per address skipped:
//                                           loopback, private, own, ...),
//                                           dsn_rate_limit (per DSN kept, not sent)
//   egress_queue_age_seconds                accepted-by-ingress to final outcome
//   egress_connections_total{route,tls}     SMTP sessions opened; tls: on | off
//   egress_connection_failures_total{route} hosts that could not be used
//   egress_connection_reuse_total{route}    transactions on an already used session
//   egress_inflight_records                 records being delivered now
//   egress_scheduled_retries                retry records waiting for their due time
//   egress_body_refs_total{result}          deliver records that referred to their
//                                           source's body (issue 21): resolved |
//                                           unresolved (dead-lettered with the reason)
//   egress_rebalance_undrained_total        records still being delivered when a
//                                           rebalance took their partition away after
//                                           egress.rebalance_drain_timeout (the new
//                                           owner may deliver them again)
//   egress_tls_sessions_total{policy_type,result}
//                                           TLS-RPT (RFC 8460) counts of MX sessions:
//                                           policy_type sts | tlsa | no-policy-found;
//                                           result success or the RFC 8460 failure
//                                           type (starttls-not-supported,
//                                           certificate-host-mismatch,
//                                           certificate-expired, certificate-not-trusted,
//                                           validation-failure, sts-policy-fetch-error,
//                                           sts-policy-invalid, sts-webpki-invalid,
//                                           tlsa-invalid, dnssec-invalid)
//   egress_mta_sts_policies_total{result}   MTA-STS policy look-ups: fetched, cached,
//                                           none (no TXT record), mode_none,
//                                           fetch_error, invalid (the cached policy,
//                                           if any, stays in use)
//
// Threading: thread-safe (the registry's children are atomics).
#pragma once

#include <string>

#include "common/metrics.h"

namespace sg::egress {

class EgressMetrics {
 public:
  explicit EgressMetrics(metrics::Registry& registry);

  void Delivery(const std::string& outcome, const std::string& route, double n = 1) {
    deliveries_.WithLabels({outcome, route}).Inc(n);
  }
  void RetryScheduled(const std::string& route) { retries_.WithLabels({route}).Inc(); }
  void Dsn() { dsn_.Get().Inc(); }
  void Refused(const std::string& reason) { refused_.WithLabels({reason}).Inc(); }
  void QueueAge(double seconds) { queue_age_.Get().Observe(seconds); }
  void ConnectionOpened(const std::string& route, bool tls) {
    connections_.WithLabels({route, tls ? "on" : "off"}).Inc();
  }
  void ConnectionFailed(const std::string& route) { connection_failures_.WithLabels({route}).Inc(); }
  void ConnectionReused(const std::string& route) { reuse_.WithLabels({route}).Inc(); }
  metrics::Gauge& inflight() { return inflight_.Get(); }
  metrics::Gauge& scheduled() { return scheduled_.Get(); }
  void RebalanceUndrained(size_t n) { undrained_.Get().Inc(static_cast<double>(n)); }
  void BodyRef(const std::string& result) { body_refs_.WithLabels({result}).Inc(); }
  void TlsSession(const std::string& policy_type, const std::string& result) {
    tls_sessions_.WithLabels({policy_type, result}).Inc();
  }
  void StsPolicy(const std::string& result) { sts_policies_.WithLabels({result}).Inc(); }

 private:
  metrics::Family<metrics::Counter>& deliveries_;
  metrics::Family<metrics::Counter>& retries_;
  metrics::Family<metrics::Counter>& dsn_;
  metrics::Family<metrics::Counter>& refused_;
  metrics::Family<metrics::Histogram>& queue_age_;
  metrics::Family<metrics::Counter>& connections_;
  metrics::Family<metrics::Counter>& connection_failures_;
  metrics::Family<metrics::Counter>& reuse_;
  metrics::Family<metrics::Gauge>& inflight_;
  metrics::Family<metrics::Gauge>& scheduled_;
  metrics::Family<metrics::Counter>& undrained_;
  metrics::Family<metrics::Counter>& body_refs_;
  metrics::Family<metrics::Counter>& tls_sessions_;
  metrics::Family<metrics::Counter>& sts_policies_;
};

}  // namespace sg::egress
